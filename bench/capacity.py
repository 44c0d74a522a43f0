"""How far one hub goes: the morning peak of N schools, stepped up until the hub falls behind.

    .venv/bin/python bench/capacity.py [--quick] [--steps 100,250,500,...] [--step-seconds 30]
                                       [--workers 1] [--publishers 2] [--learners 500]

Real parts on this machine: a private Mosquitto (deploy/mosquitto/hub.conf), a scratch
database on SMARTSCHOOL_TEST_PG's server, ``--workers`` hub ingest workers
(``hub.ingest.worker.Ingest``, each in a process of its own, on the shared subscription
when there are several) and ``--publishers`` paced publisher processes, each with its
own share of the schools.

The load model: the busiest minute of a school morning. Gate taps follow the demo's
arrival model (smartschool/demo/schedule.py): of ``--learners`` pupils, the ones neither
absent nor late arrive 2-50 minutes before lessons, triangular with its mode 18 minutes
before, so the peak minute holds ``(1 - absent - late) * 2 / 48`` of them, plus double
taps. Every gate and classroom agent sends its heartbeat telemetry once a minute
(``heartbeat_s`` 60, 7 metrics) and every classroom agent one projector reading a minute
(``telemetry_interval_s`` 60, 6 metrics). With the defaults (500 pupils, 2 gates, 20
classrooms) that is 19 gate events + 22 heartbeats + 20 readings = 61 messages per school
per peak minute.

Each step offers ``schools x 61 / 60`` msg/s for ``--step-seconds``, every message
carrying its publish moment in ``ts``; then lets the backlog drain. Per step: offered,
published and committed rates (committed per worker too), publish -> commit p50/p99/max,
CPU per message of the hub worker processes, of the PostgreSQL backends serving the
bench database (``pg_stat_activity`` pids, ``/proc/<pid>/stat``; the server's shared
WAL writer and checkpointer are not counted) and of the broker. The hub workers' CPU
includes this bench's commit hook, which reads each message's ``ts`` (a few
microseconds a message).

A step **falls behind** when (a) its backlog grows: the backlog (published, not yet
committed; sampled every 0.25 s) averaged over the last third of the step exceeds its
average over the first third by more than 5 % of what was offered in between and by more
than one second of the offered load (a hub that keeps up holds a steady backlog of
rate x latency, whatever its latency; one that does not adds the deficit every second),
or
(b) the p99 publish -> commit exceeds 1,000 ms in more than half of the step's 5-second
slices (latency that stays high is queueing; one slow slice is a stall, such as a
checkpoint of the shared server, and is reported as ``slow_slices`` without ending the
run). (b) is judged only where the hub's and its backends' threads spent less time
waiting for a CPU than running (``/proc/<pid>/task/*/schedstat``): on a machine whose
cores other work keeps busy, latency is the machine's; such a step says ``starved`` and
its ``cpu_wait_share``, and only (a) can end the run there. Stepping stops at the
first step that falls behind. If the publishers cannot offer a step's rate (published <
97 % of offered) the machine, not the hub, is the limit: the run stops and says so.
The ceiling of the same run (a bare subscriber on the hub's MQTT client, the same
messages, unpaced, no database) tells how much of the limit is the broker and the
machine; ``ratio`` = the saturated hub rate / that ceiling.

Target: one hub worker keeps up with Hải Phòng's morning (1,000 schools), nothing lost.
Prints a table, then one final line of JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
import psycopg  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion  # noqa: E402

from bench.common import start_broker  # noqa: E402
from hub.db import migrate  # noqa: E402
from hub.ingest import worker as hub_ingest  # noqa: E402
from hub.ingest.client import ConsumerClient  # noqa: E402
from hub.ingest.routing import Incoming  # noqa: E402
from smartschool.demo.schedule import (  # noqa: E402
    ABSENT_SHARE,
    DOUBLE_TAP_SHARE,
    EARLIEST_ARRIVAL_MIN,
    LATE_SHARE,
)

ADMIN_PG = os.environ.get("SMARTSCHOOL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
VN = timezone(timedelta(hours=7))
ARRIVAL_EARLIEST_LOW_MIN = 2  # the demo's triangular(2, 50, 18) minutes before lessons
GATES = 2
CLASSROOMS = 20
HEARTBEATS_PER_MIN = 1  # heartbeat_s 60 on every agent
READINGS_PER_MIN = 1  # telemetry_interval_s 60: one projector per classroom
BEHIND_RATIO = 0.95  # the backlog grew by more than (1 - this) of the load: behind,
BACKLOG_GRACE_S = 1.0  # and by more than this much of the offered load
SAMPLE_S = 0.25  # commits sampled this often during a step
P99_BOUND_MS = 1000.0
SLICE_S = 5.0  # a step's latency is judged in slices of this many seconds
PUBLISHER_SHORT = 0.97  # published / offered below this: the rig is the limit
DRAIN_TIMEOUT_S = 120.0
FULL_STEPS = (100, 250, 500, 1000, 1250, 1500, 2000, 3000, 4000, 6000, 8000)
QUICK_STEPS = (24, 250, 1000)
TARGETS = {"capacity_schools": 1000, "lost": 0, "p99_ms": P99_BOUND_MS}
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- the load model --------------------------------------------------------------------

def peak_share() -> float:
    """Share of a school's pupils tapping in during the busiest minute of the morning."""
    on_time = 1.0 - ABSENT_SHARE - LATE_SHARE
    density = 2.0 / (EARLIEST_ARRIVAL_MIN - ARRIVAL_EARLIEST_LOW_MIN)  # at the mode
    return on_time * density * (1.0 + DOUBLE_TAP_SHARE)


def school_minute(learners: int) -> list[tuple[str, int]]:
    """The messages of one school in its peak minute, as (kind, device index), in a
    fixed shuffled order: kinds are 'gate', 'beat' (device heartbeat), 'reading'."""
    taps = round(learners * peak_share())
    items = [("gate", i % GATES) for i in range(taps)]
    items += [("beat", d) for d in range(GATES + CLASSROOMS) for _ in range(HEARTBEATS_PER_MIN)]
    items += [("reading", GATES + c) for c in range(CLASSROOMS) for _ in range(READINGS_PER_MIN)]
    random.Random(16).shuffle(items)
    return items


def school_id(n: int) -> str:
    return f"cap-s{n:05d}"


def device_id(school: int, index: int) -> str:
    return (f"{school_id(school)}-g{index}" if index < GATES
            else f"{school_id(school)}-c{index - GATES:02d}")


def payload(kind: str, device: str, seq: int, ts: str) -> bytes:
    if kind == "gate":
        doc: dict[str, Any] = {
            "v": 1, "type": "gate", "device": device, "seq": seq, "ts": ts,
            "direction": "in", "method": "card", "card_uid": f"{seq % 65536:08X}",
            "person": None, "distance": None, "decision": "granted", "reason": None,
            "clock_synced": True}
    elif kind == "beat":
        doc = {"v": 1, "type": "telemetry", "device": device, "seq": seq, "ts": ts,
               "asset": None, "clock_synced": True,
               "metrics": {"cpu.load1": 0.3, "cpu.temp_c": 48 + seq % 7,
                           "mem.used_pct": 41.5, "disk.used_pct": 22.0,
                           "uptime_s": 3600 + seq * 60, "outbox.pending": 0,
                           "agent.uptime_s": 3000 + seq * 60}}
    else:
        doc = {"v": 1, "type": "telemetry", "device": device, "seq": seq, "ts": ts,
               "asset": f"PJ-{device}", "clock_synced": True,
               "metrics": {"projector.reachable": True, "projector.power": "on",
                           "projector.lamp_on": True, "projector.lamp_hours": 1000 + seq,
                           "projector.error": "ok", "projector.input": "HDMI1"}}
    return json.dumps(doc, separators=(",", ":")).encode()


# -- the publisher process ---------------------------------------------------------------

def publisher_main(port: int, learners: int, part: int, parts: int, conn: Any) -> None:
    """Publishes for the schools ``s`` with ``s % parts == part`` (so each device has one
    publisher and its seqs stay its own). Commands: (schools, rate, seconds) paced with
    ts = the publish moment, or (schools, 0, count) unpaced; ``rate`` and ``count`` are
    this publisher's share. Replies (started, ended, published, acked, cpu_s)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"cap-pub-{os.getpid()}",
                         protocol=MQTTProtocolVersion.MQTTv5)
    client.max_queued_messages_set(0)
    acked = 0
    lock = threading.Lock()

    def on_publish(*_a: Any) -> None:
        nonlocal acked
        with lock:
            acked += 1

    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    template = school_minute(learners)
    seqs: dict[str, int] = {}
    fixed_ts = datetime(2026, 12, 7, 6, 42, tzinfo=VN).isoformat(timespec="microseconds")
    while True:
        cmd = conn.recv()
        if cmd is None:
            break
        schools, rate, amount = cmd
        count = int(rate * amount) if rate else int(amount)
        mine = len(range(part, schools, parts))
        with lock:
            acked = 0
        cpu0 = time.process_time()
        started = time.time()
        for k in range(count):
            if rate:
                pause = started + k / rate - time.time()
                if pause > 0.001:
                    time.sleep(pause)
                ts = datetime.now(VN).isoformat(timespec="microseconds")
            else:
                ts = fixed_ts
                while k - acked > 20_000:
                    time.sleep(0.001)
            school = part + parts * (k % mine)
            kind, index = template[(k // mine) % len(template)]
            device = device_id(school, index)
            seq = seqs.get(device, 0) + 1
            seqs[device] = seq
            channel = "event" if kind == "gate" else "telemetry"
            client.publish(f"ss/v1/{school_id(school)}/{device}/{channel}",
                           payload(kind, device, seq, ts), qos=1)
        ended = time.time()
        deadline = time.monotonic() + 60
        while acked < count and time.monotonic() < deadline:
            time.sleep(0.002)
        conn.send((started, ended, count, acked, time.process_time() - cpu0))
    client.disconnect()
    client.loop_stop()


# -- the hub worker processes ------------------------------------------------------------

def hub_main(url: str, port: int, client_id: str, shared: bool, conn: Any) -> None:
    """One hub ingest worker, as the hub runs it; answers 'snap' with
    (committed, received, dead_lettered, [(commit moment, latency in ms)] since the last
    snap)."""
    import logging
    logging.basicConfig(level=logging.WARNING)
    lock = threading.Lock()
    state: dict[str, Any] = {"committed": 0, "lat": []}

    def on_commit(batch: Sequence[Incoming]) -> None:
        now = time.time()
        got = []
        for m in batch:
            # the ts of every message is its publish moment
            start = m.payload.index(b'"ts":"') + 6
            ts = m.payload[start:m.payload.index(b'"', start)].decode()
            got.append((now, (now - datetime.fromisoformat(ts).timestamp()) * 1000.0))
        with lock:
            state["committed"] += len(batch)
            state["lat"].extend(got)

    worker = hub_ingest.Ingest(database_url=url, mqtt_url=f"mqtt://127.0.0.1:{port}",
                               client_id=client_id, tz="Asia/Ho_Chi_Minh", shared=shared,
                               on_commit=on_commit)
    worker.start()
    deadline = time.monotonic() + 60
    while not worker.stats.subscribed and time.monotonic() < deadline:
        time.sleep(0.01)
    conn.send(bool(worker.stats.subscribed))
    while True:
        cmd = conn.recv()
        if cmd is None:
            break
        with lock:
            lat, state["lat"] = state["lat"], []
            committed = state["committed"]
        conn.send((committed, worker.stats.received, worker.stats.dead_lettered, lat))
    worker.stop()
    conn.send("stopped")


# -- measuring ---------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds (0 when it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def sched(pid: int) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one) of all a process's
    threads, from /proc/<pid>/task/*/schedstat ((0, 0) when it is gone)."""
    run = wait = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return 0.0, 0.0
    for task in tasks:
        try:
            fields = (task / "schedstat").read_text().split()
        except OSError:
            continue
        run, wait = run + int(fields[0]), wait + int(fields[1])
    return run / 1e9, wait / 1e9


def pg_backends(admin: psycopg.Connection[Any], dbname: str) -> list[int]:
    rows = admin.execute("select pid from pg_stat_activity where datname = %s",
                         (dbname,)).fetchall()
    return [int(r[0]) for r in rows]


class PgCpu:
    """CPU of the backends serving one database, summed over the pids seen so far."""

    def __init__(self, admin: psycopg.Connection[Any], dbname: str) -> None:
        self.admin, self.dbname = admin, dbname
        self.last: dict[int, tuple[float, float, float]] = {}

    def sample(self) -> tuple[float, float, float]:
        """(CPU seconds, seconds on a CPU, seconds waiting for one) since the previous
        sample, of the backends alive now."""
        used = run = wait = 0.0
        now: dict[int, tuple[float, float, float]] = {}
        for pid in pg_backends(self.admin, self.dbname):
            now[pid] = (cpu_seconds(pid), *sched(pid))
            before = self.last.get(pid, (0.0, 0.0, 0.0))
            used += now[pid][0] - before[0]
            run += now[pid][1] - before[1]
            wait += now[pid][2] - before[2]
        self.last = now
        return used, run, wait


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


# -- the environment -----------------------------------------------------------------------

def create_database(schools: int) -> tuple[str, str]:
    name = f"ss_cap_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_PG, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = f"{ADMIN_PG.rpartition('/')[0]}/{name}"
    migrate(url)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy("copy schools (id, name, level, ward, start_time) from stdin") as cp:
            for s in range(schools):
                cp.write_row((school_id(s), f"Capacity {s}", "thcs", f"W{s % 40}", "07:00"))
        with cur.copy("copy devices (id, school_id, role) from stdin") as cp:
            for s in range(schools):
                for d in range(GATES + CLASSROOMS):
                    cp.write_row((device_id(s, d), school_id(s),
                                  "gate" if d < GATES else "classroom"))
    return name, url


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_PG, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def stored(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select (select count(*) from (select distinct device_id, seq from gate_events) g)"
            " + (select count(*) from (select distinct device_id, seq from telemetry) t),"
            " (select count(*) from dead_letters)").fetchone()
    assert row is not None
    return {"distinct": int(row[0]), "dead": int(row[1])}


def storage(url: str) -> dict[str, float]:
    """Rows stored and bytes per row (table, indexes and TOAST) of the two raw tables."""
    out: dict[str, float] = {}
    with psycopg.connect(url) as conn:
        for table in ("gate_events", "telemetry"):
            row = conn.execute(
                "select count(*), (select coalesce(sum(pg_total_relation_size(c.oid)), 0)"
                " from pg_class c where c.oid = %s::regclass or c.oid in"
                " (select inhrelid from pg_inherits where inhparent = %s::regclass))"
                f" from {table}", (table, table)).fetchone()
            assert row is not None
            out[f"{table}_rows"] = int(row[0])
            out[f"{table}_bytes_per_row"] = round(int(row[1]) / max(int(row[0]), 1), 1)
    return out


def run_ceiling(port: int, pubs: Publishers, schools: int, count: int) -> float:
    """A bare subscriber on the hub's MQTT client (receive + json.loads), unpaced."""
    received = 0
    last = 0.0
    done = threading.Event()

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        nonlocal received, last
        json.loads(msg.payload)
        received += 1
        if received >= count:
            last = last or time.time()
            done.set()

    client = ConsumerClient(CallbackAPIVersion.VERSION2, client_id="cap-ceiling",
                            protocol=MQTTProtocolVersion.MQTTv5)
    client.on_message = on_message
    subscribed = threading.Event()
    client.on_subscribe = lambda *_a: subscribed.set()
    client.connect("127.0.0.1", port, clean_start=True)
    client.loop_start()
    client.subscribe([("ss/v1/+/+/event", 1), ("ss/v1/+/+/telemetry", 1)])
    subscribed.wait(10)
    started, _, published, _, _ = pubs.run(schools, 0.0, count)
    count = min(count, published)
    while received < count and not done.wait(0.1) and time.time() - started < 300:
        pass
    last = last or time.time()
    client.disconnect()
    client.loop_stop()
    return count / (last - started) if last else 0.0


class Hubs:
    """The hub worker processes and their snapshots."""

    def __init__(self, ctx: Any, url: str, port: int, workers: int) -> None:
        self.conns: list[Any] = []
        self.procs: list[Any] = []
        base = f"cap-hub-{uuid.uuid4().hex[:6]}"
        for i in range(workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=hub_main, args=(url, port, f"{base}-{i}", workers > 1,
                                                      child), daemon=True)
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)
        for c in self.conns:
            if not c.poll(90) or not c.recv():
                raise RuntimeError("a hub worker did not subscribe")
        self.cpu = [cpu_seconds(p.pid) for p in self.procs]
        self.sched = [sched(p.pid) for p in self.procs]

    def sched_since(self) -> tuple[float, float]:
        """(seconds on a CPU, seconds waiting for one) of the workers since the last call."""
        now = [sched(p.pid) for p in self.procs]
        run = sum(n[0] - o[0] for n, o in zip(now, self.sched, strict=True))
        wait = sum(n[1] - o[1] for n, o in zip(now, self.sched, strict=True))
        self.sched = now
        return run, wait

    def snap(self) -> tuple[int, int, int, list[tuple[float, float]]]:
        committed = received = dead = 0
        lat: list[tuple[float, float]] = []
        for c in self.conns:
            c.send("snap")
        for c in self.conns:
            a, b, d, ls = c.recv()
            committed, received, dead = committed + a, received + b, dead + d
            lat.extend(ls)
        return committed, received, dead, lat

    def cpu_since(self) -> float:
        now = [cpu_seconds(p.pid) for p in self.procs]
        used = sum(n - o for n, o in zip(now, self.cpu, strict=True))
        self.cpu = now
        return used

    def stop(self) -> None:
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.send(None)
        for c, p in zip(self.conns, self.procs, strict=True):
            if c.poll(30):
                c.recv()
            p.join(10)
            if p.is_alive():
                p.terminate()


class Publishers:
    """The publisher processes, each with its share of the schools, driven as one."""

    def __init__(self, ctx: Any, port: int, learners: int, parts: int) -> None:
        self.parts = parts
        self.conns: list[Any] = []
        self.procs: list[Any] = []
        for part in range(parts):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=publisher_main,
                               args=(port, learners, part, parts, child), daemon=True)
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)

    def run(self, schools: int, rate: float, amount: float) -> tuple[float, float, int, int,
                                                                      float]:
        """Paced (``rate`` > 0, ``amount`` seconds) or unpaced (``amount`` messages) over
        all publishers; returns (first start, last end, published, acked, cpu seconds)."""
        for part, c in enumerate(self.conns):
            share = len(range(part, schools, self.parts)) / schools
            c.send((schools, rate * share, amount) if rate
                   else (schools, 0.0, round(amount * share)))
        got = [c.recv() for c in self.conns]
        return (min(g[0] for g in got), max(g[1] for g in got), sum(g[2] for g in got),
                sum(g[3] for g in got), sum(g[4] for g in got))

    def stop(self) -> None:
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.send(None)
        for p in self.procs:
            p.join(10)
            if p.is_alive():
                p.terminate()


def slow_slices(lat: list[tuple[float, float]], started: float, ended: float,
                width: float) -> tuple[int, int]:
    """(slices whose p99 exceeds the bound, slices with enough samples to judge): the
    step's window cut into ``width``-second slices by publish moment."""
    count = max(1, round((ended - started) / width))
    width = (ended - started) / count or 1.0
    by_slice: dict[int, list[float]] = {}
    for commit_at, ms in lat:
        published_at = commit_at - ms / 1000.0
        if started <= published_at <= ended:
            index = min(count - 1, int((published_at - started) // width))
            by_slice.setdefault(index, []).append(ms)
    judged = [v for v in by_slice.values() if len(v) >= 20]
    return sum(1 for v in judged if percentile(v, 0.99) > P99_BOUND_MS), len(judged)


def backlog_growth(samples: list[tuple[float, int]], committed0: int, started: float,
                   ended: float, published: int) -> float:
    """How much the backlog (published, not committed) grew from the first third of a
    step to its last: mean over each third's samples. The publishers are paced, so by
    moment t they had sent published x (t - started) / window."""
    window = ended - started
    thirds: tuple[list[float], list[float]] = ([], [])
    for at, count in samples:
        if not started <= at <= ended:
            continue
        sent = published * (at - started) / window
        if at < started + window / 3:
            thirds[0].append(sent - (count - committed0))
        elif at > ended - window / 3:
            thirds[1].append(sent - (count - committed0))
    if not thirds[0] or not thirds[1]:
        return 0.0
    return statistics.fmean(thirds[1]) - statistics.fmean(thirds[0])


def run_step(schools: int, rate: float, seconds: float, pubs: Publishers, hubs: Hubs,
             pg: PgCpu, broker_pid: int, workers: int,
             published_before: int) -> dict[str, Any]:
    hubs.cpu_since()
    hubs.sched_since()
    pg.sample()
    broker0 = cpu_seconds(broker_pid)
    committed0, _, _, _ = hubs.snap()
    # the commits as the step goes, to see whether the backlog grows
    samples: list[tuple[float, int]] = []
    lat: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(SAMPLE_S):
            count, _, _, more = hubs.snap()
            samples.append((time.time(), count))
            lat.extend(more)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started, ended, published, acked, pub_cpu = pubs.run(schools, rate, seconds)
    stop.set()
    sampler.join()
    committed1, _, _, more = hubs.snap()
    lat.extend(more)
    window = ended - started
    in_window = committed1 - committed0
    target = published_before + published
    growth = backlog_growth(samples, committed0, started, ended, published)
    # let the backlog drain, so the next step starts clean and every latency is counted
    drain_start = time.monotonic()
    committed = committed1
    while committed < target and time.monotonic() - drain_start < DRAIN_TIMEOUT_S:
        time.sleep(0.1)
        committed, _, _, more = hubs.snap()
        lat.extend(more)
    drain_s = time.monotonic() - drain_start
    step_msgs = committed - committed0
    hub_cpu = hubs.cpu_since()
    hub_run, hub_wait = hubs.sched_since()
    pg_cpu, pg_run, pg_wait = pg.sample()
    # Runnable but waiting for a CPU longer than running: the machine, not the hub, set
    # the latency (other work on the cores); it is reported, not judged.
    run, wait = hub_run + pg_run, hub_wait + pg_wait
    starved = wait > run
    broker_cpu = cpu_seconds(broker_pid) - broker0
    achieved = in_window / window
    published_rate = published / window
    ms = [m for _, m in lat]
    p99 = percentile(ms, 0.99)
    slow, judged = slow_slices(lat, started, ended, min(SLICE_S, seconds / 3))
    behind = []
    backlog = target - committed1
    bound = max((1 - BEHIND_RATIO) * rate * window * 2 / 3, BACKLOG_GRACE_S * rate)
    if growth > bound:
        behind.append(f"backlog grew by {growth:,.0f} messages ({growth / rate:.1f} s of "
                      f"load) from the first third of the step to the last (> {bound:,.0f})")
    if judged and slow * 2 > judged and not starved:
        behind.append(f"p99 over {P99_BOUND_MS:,.0f} ms in {slow} of {judged} slices")
    per = max(step_msgs, 1)
    return {
        "schools": schools, "seconds": round(window, 2),
        "offered_msg_s": round(rate, 1), "published_msg_s": round(published_rate, 1),
        "committed_msg_s": round(achieved, 1),
        "per_worker_msg_s": round(achieved / workers, 1),
        "published": published, "acked_by_broker": acked,
        "backlog_at_end": backlog, "backlog_growth": round(growth), "drain_s": round(drain_s, 2),
        "undrained": max(0, target - committed),
        "p50_ms": round(percentile(ms, 0.50), 1), "p99_ms": round(p99, 1),
        "max_ms": round(max(ms), 1) if ms else 0.0,
        "slow_slices": slow, "judged_slices": judged,
        "cpu_wait_share": round(wait / (run + wait), 2) if run + wait else 0.0,
        "starved": starved,
        "hub_cpu_us_per_msg": round(hub_cpu / per * 1e6, 1),
        "hub_cores": round(hub_cpu / (window + drain_s), 2),
        "pg_cpu_us_per_msg": round(pg_cpu / per * 1e6, 1),
        "pg_cores": round(pg_cpu / (window + drain_s), 2),
        "broker_cpu_us_per_msg": round(broker_cpu / per * 1e6, 1),
        "publisher_cpu_us_per_msg": round(pub_cpu / max(published, 1) * 1e6, 1),
        "publisher_short": published_rate < PUBLISHER_SHORT * rate,
        "behind": behind,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"steps {','.join(map(str, QUICK_STEPS))}, 3 s each (< 1 min)")
    parser.add_argument("--steps", default=None,
                        help="school counts to step through, comma-separated")
    parser.add_argument("--step-seconds", type=float, default=None)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--publishers", type=int, default=2,
                        help="publisher processes (one Python publisher tops out first)")
    parser.add_argument("--learners", type=int, default=500, help="pupils per school")
    parser.add_argument("--ceiling-messages", type=int, default=None)
    args = parser.parse_args(argv)
    steps = ([int(s) for s in args.steps.split(",")] if args.steps
             else list(QUICK_STEPS if args.quick else FULL_STEPS))
    seconds = args.step_seconds or (3.0 if args.quick else 30.0)
    ceiling_n = args.ceiling_messages or (5_000 if args.quick else 100_000)
    import logging
    logging.basicConfig(level=logging.WARNING)

    template = school_minute(args.learners)
    per_school_min = len(template)
    kinds = {k: sum(1 for t, _ in template if t == k) for k in ("gate", "beat", "reading")}
    print(f"model: {args.learners} pupils, {GATES} gates, {CLASSROOMS} classrooms per school;"
          f" peak minute {kinds['gate']} gate events + {kinds['beat']} heartbeats +"
          f" {kinds['reading']} readings = {per_school_min} messages/school/min", flush=True)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    workdir = Path(tempfile.mkdtemp(prefix="ss-cap-"))
    broker, port = start_broker(workdir)
    name, url = create_database(max(steps))
    ctx = mp.get_context("spawn")
    pubs = Publishers(ctx, port, args.learners, args.publishers)
    admin = psycopg.connect(ADMIN_PG, autocommit=True)
    hubs: Hubs | None = None
    results: dict[str, Any] = {
        "cores": os.cpu_count(), "load_avg_at_start": load_at_start, "workers": args.workers,
        "publishers": args.publishers,
        "step_seconds": seconds, "quick": args.quick,
        "model": {"learners_per_school": args.learners, "gates": GATES,
                  "classrooms": CLASSROOMS, "peak_share": round(peak_share(), 5),
                  "per_school_peak_minute": kinds | {"total": per_school_min},
                  "msg_s_per_school": round(per_school_min / 60, 4)},
        "bounds": {"behind_ratio": BEHIND_RATIO, "backlog_grace_s": BACKLOG_GRACE_S,
                   "p99_ms": P99_BOUND_MS, "slice_s": SLICE_S,
                   "publisher_short": PUBLISHER_SHORT}}
    rows: list[dict[str, Any]] = []
    try:
        ceiling = run_ceiling(port, pubs, max(steps), ceiling_n)
        print(f"ceiling (bare subscriber on the hub's client, unpaced): {ceiling:,.0f} msg/s",
              flush=True)
        hubs = Hubs(ctx, url, port, args.workers)
        pg = PgCpu(admin, name)
        published_total = 0
        print(f"{'schools':>8} {'offered':>8} {'publ.':>8} {'commit':>8} {'p50 ms':>8} "
              f"{'p99 ms':>8} {'hub us':>7} {'pg us':>7} {'mq us':>6} {'hub cores':>9}"
              f" {'cpu wait':>8}",
              flush=True)
        for schools in steps:
            rate = schools * per_school_min / 60.0
            row = run_step(schools, rate, seconds, pubs, hubs, pg, broker.pid,
                           args.workers, published_total)
            published_total += row["published"]
            rows.append(row)
            print(f"{schools:>8} {row['offered_msg_s']:>8,.0f} {row['published_msg_s']:>8,.0f}"
                  f" {row['committed_msg_s']:>8,.0f} {row['p50_ms']:>8,.1f}"
                  f" {row['p99_ms']:>8,.1f} {row['hub_cpu_us_per_msg']:>7,.0f}"
                  f" {row['pg_cpu_us_per_msg']:>7,.0f} {row['broker_cpu_us_per_msg']:>6,.0f}"
                  f" {row['hub_cores']:>9.2f} {row['cpu_wait_share']:>8.0%}"
                  + (f"  BEHIND: {'; '.join(row['behind'])}" if row["behind"] else "")
                  + ("  publisher short" if row["publisher_short"] else ""), flush=True)
            if row["behind"] or row["publisher_short"]:
                break
        _, _, dead, _ = hubs.snap()
        hubs.stop()
        hubs = None
        c = stored(url)
        results["storage"] = storage(url)
        kept = [r for r in rows if not r["behind"] and not r["publisher_short"]]
        behind = next((r for r in rows if r["behind"]), None)
        short = next((r for r in rows if r["publisher_short"] and not r["behind"]), None)
        best = kept[-1] if kept else None
        saturated = behind["committed_msg_s"] if behind else None
        hub_us = statistics.median(r["hub_cpu_us_per_msg"] for r in rows)
        pg_us = statistics.median(r["pg_cpu_us_per_msg"] for r in rows)
        results.update(
            ceiling_msg_s=round(ceiling),
            steps=rows,
            capacity_schools=best["schools"] if best else 0,
            capacity_msg_s=best["committed_msg_s"] if best else 0.0,
            capacity_per_worker_msg_s=(round(best["committed_msg_s"] / args.workers, 1)
                                       if best else 0.0),
            capacity_p99_ms=best["p99_ms"] if best else None,
            fell_behind_at=({"schools": behind["schools"], "reasons": behind["behind"]}
                            if behind else None),
            publisher_limited_at=short["schools"] if short else None,
            saturated_msg_s=saturated,
            saturated_per_worker_msg_s=(round(saturated / args.workers, 1)
                                        if saturated else None),
            ratio=round(saturated / ceiling, 3) if saturated and ceiling else None,
            hub_cpu_us_per_msg_median=hub_us, pg_cpu_us_per_msg_median=pg_us,
            published=published_total, stored=c["distinct"],
            lost=published_total - c["distinct"], dead_letters=c["dead"],
            hub_dead_lettered=dead, targets=TARGETS)
        results["targets_met"] = bool(
            results["capacity_schools"] >= TARGETS["capacity_schools"]
            and results["lost"] == 0 and results["dead_letters"] == 0)
    finally:
        if hubs is not None:
            hubs.stop()
        pubs.stop()
        admin.close()
        broker.terminate()
        broker.wait(10)
        drop_database(name)
        shutil.rmtree(workdir, ignore_errors=True)
    if results.get("fell_behind_at"):
        print(f"fell behind at {results['fell_behind_at']['schools']} schools: "
              f"{'; '.join(results['fell_behind_at']['reasons'])}", flush=True)
    print(f"kept up to {results.get('capacity_schools')} schools "
          f"({results.get('capacity_msg_s')} msg/s); lost {results.get('lost')}", flush=True)
    print(json.dumps(results))
    return 0 if results.get("targets_met") else 1


if __name__ == "__main__":
    raise SystemExit(main())
