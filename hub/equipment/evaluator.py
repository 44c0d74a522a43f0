"""The equipment evaluator: a thread in the hub process that follows new telemetry.

Every ``POLL_S`` it reads the raw rows received since its watermark, feeds them to the
pure rule engine (hub.equipment.rules), ticks the engine's clock against the device
registry (offline, no data), and in one transaction persists the alarm transitions,
merges the rows into the 5-minute and hourly rollups, refreshes the latest values and
moves the watermark. A restart resumes from the stored watermark.

Why a watermark with an overlap: ``received_at`` is stamped when a message arrives, but
the ingest commits its batch a little later, and several writers commit out of order; a
row can therefore become visible with a received_at just below rows already read. Each
poll re-reads the last ``OVERLAP_S`` seconds and skips the (device, seq, metric) keys it
has seen, so nothing committed within that window is missed or counted twice.

Concurrency: one thread owns the engine and its connection; ``stats()`` reads counters.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg

from hub.db import Conn, connect
from hub.equipment import alarms, assets, partitions, rollups, storage
from hub.equipment.rules import DeviceView, Engine, Reading, RuleSet, Transition, Value
from hub.kpi import snapshots as kpi_snapshots
from hub.records.retention import (
    RetentionWindows,
    purge_gate_events,
    purge_personal_data,
    retention_cutoff,
)

log = logging.getLogger(__name__)

POLL_S: Final = 0.5  # alarms within 2 s p99 of the reading need a sub-second poll
OVERLAP_S: Final = 3.0
READ_LIMIT: Final = 50_000  # rows per poll; a backlog is worked off over several polls
DEVICE_TICK_S: Final = 1.0
REGISTRY_REFRESH_S: Final = 30.0
MAINTENANCE_S: Final = 3600.0
FIRST_START_LOOKBACK: Final = timedelta(minutes=10)
BACKOFF_MAX_S: Final = 10.0
STANDBY_RETRY_S: Final = 5.0
WATERMARK_KEY: Final = "evaluator.watermark"
# One evaluator per database: a second one would count every row into the rollups twice.
# Hub workers may all start one; the session-level advisory lock lets one work and keeps
# the others waiting as hot standbys (the lock goes with a dead process's connection).
LOCK_ID: Final = 0x5C5C_0006

_READ = """
select device_id, seq, metric, ts, received_at, asset, value_num, value_bool, value_text
from telemetry where received_at > %s
-- each device's messages in seq order, and within a message the projector.error.<part>
-- levels before the projector.error summary that names the worst part
order by received_at, device_id, seq, metric = 'projector.error' limit %s
"""

_LATEST = """
insert into telemetry_latest as t (subject, metric, device_id, ts, received_at, value_num,
                                   value_text)
select * from unnest(%s::text[], %s::text[], %s::text[], %s::timestamptz[],
                     %s::timestamptz[], %s::float8[], %s::text[])
on conflict (subject, metric) do update set
    device_id = excluded.device_id, ts = excluded.ts, received_at = excluded.received_at,
    value_num = excluded.value_num, value_text = excluded.value_text
where excluded.ts >= t.ts
"""


@dataclass(slots=True)
class Stats:
    polls: int = 0
    rows: int = 0
    messages: int = 0
    engine_s: float = 0.0  # time spent in the pure engine
    cycle_s: float = 0.0  # whole poll cycles, database included
    read_s: float = 0.0  # reading new rows
    write_s: float = 0.0  # persisting transitions, rollups, latest values, watermark
    raised: int = 0
    cleared: int = 0
    errors: int = 0

    def per_message_us(self) -> dict[str, float]:
        n = max(self.messages, 1)
        return {"engine_us": 1e6 * self.engine_s / n, "read_us": 1e6 * self.read_s / n,
                "write_us": 1e6 * self.write_s / n, "cycle_us": 1e6 * self.cycle_s / n}


@dataclass(slots=True)
class _Batch:
    """What one poll produced; kept and retried whole when the write fails."""

    transitions: list[Transition] = field(default_factory=list)
    rollup_rows: list[rollups.RawRow] = field(default_factory=list)
    latest: dict[tuple[str, str], tuple[str, datetime, datetime, float | None, str | None]] = (
        field(default_factory=dict))
    watermark: datetime | None = None


class Evaluator:
    def __init__(
        self,
        database_url: str,
        *,
        offline_after_gate_s: float = 120,
        offline_after_classroom_s: float = 600,
        rules: RuleSet | None = None,
        poll_s: float = POLL_S,
        event_retention_days: int | None = None,
        retention: RetentionWindows | None = None,
        kpi_tz: ZoneInfo | None = None,
    ) -> None:
        self.database_url = database_url
        # The plan's targets (issue #13): on a month's last day (in this zone) the hourly
        # maintenance snapshots the indicators; None leaves it to `smartschool kpi snapshot`.
        self.kpi_tz = kpi_tz
        # ... and every other table holding personal data past its window (issue #12).
        self.retention = retention
        # The hub's one hourly maintenance also purges raw gate events past retention
        # (personal data kept no longer than needed); None leaves them to the CLI.
        self.event_retention_days = event_retention_days
        self.offline_after = {"gate": float(offline_after_gate_s),
                              "classroom": float(offline_after_classroom_s)}
        self.engine = Engine(rules or RuleSet())
        self.poll_s = poll_s
        self.stats = Stats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: dict[tuple[str, int, str], datetime] = {}
        self._watermark: datetime | None = None
        self._schools: dict[str, str] = {}
        self._pending: _Batch | None = None
        self._partitions = partitions.Partitions()
        self._next_devices = 0.0
        self._next_registry = 0.0
        self._next_maintenance = 0.0

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="equipment-evaluator",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with connect(self.database_url, autocommit=True) as conn:
                    if not self._lead(conn):
                        continue
                    self._prime(conn)
                    backoff = 0.5
                    while not self._stop.is_set():
                        started = time.monotonic()
                        self.run_once(conn)
                        self._stop.wait(max(0.0, self.poll_s - (time.monotonic() - started)))
            except psycopg.Error:
                self.stats.errors += 1
                log.warning("equipment evaluator: database error; retrying in %.1fs", backoff,
                            exc_info=True)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
            except Exception:
                # A bug must not kill alarm evaluation for good: log it loudly and go on.
                self.stats.errors += 1
                log.exception("equipment evaluator failed; restarting it")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)

    def _lead(self, conn: Conn) -> bool:
        """Wait until this process holds the evaluator lock (False: asked to stop)."""
        while not self._stop.is_set():
            row = conn.execute("select pg_try_advisory_lock(%s)", (LOCK_ID,)).fetchone()
            if row is not None and row[0]:
                return True
            self._stop.wait(STANDBY_RETRY_S)
        return False

    # -- one cycle (public so tests drive it without the thread) ---------------------

    def _prime(self, conn: Conn) -> None:
        """Re-arm the engine from the database: open alarms, last heard, watermark."""
        for subject, alarm_type in alarms.active_conditions(conn):
            self.engine.mark_active(subject, alarm_type)
        for subject, device, at in conn.execute(
            "select subject, max(device_id), max(received_at) from telemetry_latest"
            " group by subject"
        ):
            self.engine.heard(str(subject), str(device), at)
        if self._watermark is None:
            row = conn.execute("select value from equipment_state where key = %s",
                               (WATERMARK_KEY,)).fetchone()
            if row is not None:
                self._watermark = datetime.fromisoformat(str(row[0]))
            else:
                now_row = conn.execute("select now()").fetchone()
                assert now_row is not None
                self._watermark = now_row[0] - FIRST_START_LOOKBACK
        self._next_registry = 0.0

    def run_once(self, conn: Conn, now: datetime | None = None) -> int:
        """One poll: returns how many transitions were persisted."""
        if self._watermark is None:
            self._prime(conn)
        started = time.monotonic()
        mono = started
        if mono >= self._next_registry:
            self._refresh_registry(conn)
            self._next_registry = mono + REGISTRY_REFRESH_S
        if mono >= self._next_maintenance:
            self._maintain(conn)
            self._next_maintenance = mono + MAINTENANCE_S
        if self._pending is not None:
            self._persist(conn, self._pending)
            self._pending = None
        batch = self._read(conn)
        clock = now or datetime.now(UTC)
        if mono >= self._next_devices or now is not None:
            t0 = time.perf_counter()
            batch.transitions += self.engine.tick(clock, self._devices(conn))
            self.stats.engine_s += time.perf_counter() - t0
            self._next_devices = mono + DEVICE_TICK_S
        self._pending = batch
        self._persist(conn, batch)
        self._pending = None
        self.stats.polls += 1
        self.stats.cycle_s += time.monotonic() - started
        return len(batch.transitions)

    def _refresh_registry(self, conn: Conn) -> None:
        self._schools = {str(d): str(s) for d, s in conn.execute(
            "select id, school_id from devices")}
        self.engine.set_rated(assets.rated_lamp_hours(conn))

    def _maintain(self, conn: Conn) -> None:
        try:
            now = datetime.now(UTC)
            keep = partitions.retention(conn).get(storage.RAW_TABLE)
            self._partitions.ahead(conn, now, raw_keep=keep)
            done = partitions.apply_retention(conn, now, self._partitions)
            if self.event_retention_days is not None:
                done["gate_events"] = purge_gate_events(
                    conn, retention_cutoff(now, self.event_retention_days))
            if self.retention is not None:
                done |= purge_personal_data(conn, now, self.retention)
            if any(done.values()):
                log.info("retention: %s", done)
        except psycopg.Error:
            log.warning("maintenance (partitions, retention) failed; next try in an hour",
                        exc_info=True)
        if self.kpi_tz is not None:
            try:
                taken = kpi_snapshots.take_if_month_end(conn, now=datetime.now(UTC),
                                                        tz=self.kpi_tz)
                if taken is not None:
                    log.info("kpi: month-end snapshot, %d values", taken)
            except psycopg.Error:
                log.warning("kpi snapshot failed; next try in an hour", exc_info=True)

    def _devices(self, conn: Conn) -> list[DeviceView]:
        rows = conn.execute("select id, role, state, last_seen from devices").fetchall()
        return [DeviceView(str(d), str(state), seen, self.offline_after.get(str(role), 600.0))
                for d, role, state, seen in rows]

    def _read(self, conn: Conn) -> _Batch:
        assert self._watermark is not None
        since = self._watermark - timedelta(seconds=OVERLAP_S)
        t0 = time.perf_counter()
        rows = conn.execute(_READ, (since, READ_LIMIT)).fetchall()
        self.stats.read_s += time.perf_counter() - t0
        batch = _Batch()
        readings: list[Reading] = []
        messages: set[tuple[str, int]] = set()
        newest = self._watermark
        for device, seq, metric, ts, received, asset, num, flag, text in rows:
            key = (str(device), int(seq), str(metric))
            if key in self._seen:
                continue
            self._seen[key] = received
            newest = max(newest, received)
            messages.add((key[0], key[1]))
            subject = str(asset) if asset is not None else key[0]
            value: Value = text if text is not None else (flag if flag is not None else num)
            readings.append(Reading(subject, key[0], key[2], ts, received, value))
            school = self._schools.get(key[0])
            if school is not None:
                if num is not None:
                    batch.rollup_rows.append(
                        rollups.RawRow(subject, school, key[2], ts, float(num)))
                elif key[2] == "projector.power" and text is not None:
                    batch.rollup_rows.append(rollups.RawRow(
                        subject, school, rollups.POWER_ON_METRIC, ts,
                        1.0 if text == "on" else 0.0))
            prev = batch.latest.get((subject, key[2]))
            if prev is None or prev[1] <= ts:
                batch.latest[subject, key[2]] = (key[0], ts, received, num, text)
        t0 = time.perf_counter()
        for reading in readings:
            batch.transitions += self.engine.feed(reading)
        self.stats.engine_s += time.perf_counter() - t0
        self.stats.rows += len(readings)
        self.stats.messages += len(messages)
        # A full read means a backlog: move only as far as what was read.
        self._watermark = newest
        batch.watermark = newest
        horizon = newest - timedelta(seconds=OVERLAP_S)
        if len(self._seen) > len(rows) * 2 + 10_000 or rows:
            self._seen = {k: v for k, v in self._seen.items() if v >= horizon}
        return batch

    def _persist(self, conn: Conn, batch: _Batch) -> None:
        t0 = time.perf_counter()
        try:
            self._write(conn, batch)
        finally:
            self.stats.write_s += time.perf_counter() - t0

    def _write(self, conn: Conn, batch: _Batch) -> None:
        with conn.transaction():
            if batch.transitions:
                alarms.apply_transitions(conn, batch.transitions, self._schools)
                for t in batch.transitions:
                    if t.kind == "raise":
                        self.stats.raised += 1
                    else:
                        self.stats.cleared += 1
            if batch.rollup_rows:
                rollups.write_rollups(conn, batch.rollup_rows, self._partitions,
                                      datetime.now(UTC))
            if batch.latest:
                cols: list[list[Any]] = [[] for _ in range(7)]
                for (subject, metric), (device, ts, received, num, text) in batch.latest.items():
                    for col, v in zip(cols, (subject, metric, device, ts, received, num, text),
                                      strict=True):
                        col.append(v)
                conn.execute(_LATEST, cols)
            if batch.watermark is not None:
                conn.execute(
                    "insert into equipment_state (key, value) values (%s, %s)"
                    " on conflict (key) do update set value = excluded.value, updated_at = now()",
                    (WATERMARK_KEY, batch.watermark.isoformat()),
                )

