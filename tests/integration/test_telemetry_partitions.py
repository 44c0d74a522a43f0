"""Raw telemetry partitioned by time (0006) on the real PostgreSQL: the migration keeps
existing rows, the ingest's dedup holds on the new key, the default partition catches
far-off clocks and maintenance moves rows out of it, retention drops whole partitions;
and the TimescaleDB hypertable path where the extension can be created."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from hub.db import available_migrations, connect, migrate
from hub.equipment import partitions, series, storage
from hub.equipment.evaluator import Evaluator
from hub.ingest import store
from hub.ingest.routing import Incoming, Store, route

pytestmark = pytest.mark.integration

SCHOOL = "thcs-p"
DEVICE = "p-r101"
REGISTRY = {DEVICE: SCHOOL}

SEED = f"""
insert into schools (id, name, level, ward) values ('{SCHOOL}', 'THCS P', 'thcs', 'P1');
insert into devices (id, school_id, role, last_seen, state)
    values ('{DEVICE}', '{SCHOOL}', 'classroom', now(), 'online');
"""


def month_start(moment: datetime, months: int = 0) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def telemetry(seq: int, ts: datetime, metrics: dict[str, object]) -> Store:
    body = {"v": 1, "type": "telemetry", "device": DEVICE, "seq": seq,
            "ts": ts.isoformat(timespec="milliseconds"), "asset": "PJ-P-101",
            "metrics": metrics}
    routed = route(Incoming(f"ss/v1/{SCHOOL}/{DEVICE}/telemetry", json.dumps(body).encode(),
                            datetime.now(UTC)), REGISTRY)
    assert isinstance(routed, Store), routed
    return routed


def write(conn: psycopg.Connection[Any], *items: Store) -> None:
    result = store.write_batch(conn, list(items), [], tz="Asia/Ho_Chi_Minh")
    assert result.dead_lettered == 0


def where(conn: psycopg.Connection[Any], seq: int) -> list[str]:
    """Which partition holds each row of a message."""
    return [str(r[0]) for r in conn.execute(
        "select tableoid::regclass::text from telemetry where seq = %s order by metric",
        (seq,))]


@pytest.fixture
def db(pg_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(SEED.encode())
        store.prepare(conn)
        yield conn


def test_migration_keeps_rows_and_builds_partitions(empty_pg_url: str) -> None:
    now = datetime.now(UTC)
    rows = [(1, now), (2, now - timedelta(days=40)), (3, datetime(2001, 5, 1, tzinfo=UTC)),
            (4, datetime(2199, 1, 1, tzinfo=UTC))]
    with connect(empty_pg_url, autocommit=True) as conn:
        # the database as 0005 left it, with rows in the old table
        conn.execute("create table schema_migrations (version integer primary key,"
                     " name text not null, applied_at timestamptz not null default now())")
        for m in available_migrations():
            if m.version < 6:
                conn.execute(m.sql.encode())
                conn.execute("insert into schema_migrations (version, name) values (%s, %s)",
                             (m.version, m.name))
        conn.execute(SEED.encode())
        for seq, ts in rows:
            conn.execute("insert into telemetry (device_id, seq, metric, ts, received_at,"
                         " value_num) values (%s, %s, 'env.temp_c', %s, now(), %s)",
                         (DEVICE, seq, ts, 20.0 + seq))
    # 0006 is the one under test; later migrations apply on top as usual
    assert next(m.version for m in migrate(empty_pg_url)) == 6
    with connect(empty_pg_url, autocommit=True) as conn:
        assert storage.raw_layout(conn) == "partitioned"
        got = conn.execute("select seq, ts, value_num, tableoid::regclass::text"
                           " from telemetry order by seq").fetchall()
        assert [(s, t, v) for s, t, v, _ in got] == [(s, t, 20.0 + s) for s, t in rows]
        homes = {s: part for s, _, _, part in got}
        assert homes[1] == partitions.partition_name("telemetry", now.date())
        assert homes[2] == partitions.partition_name(
            "telemetry", (now - timedelta(days=40)).date())
        assert homes[3] == homes[4] == "telemetry_default"  # outside retention / ahead
        parts = set(partitions.partitions_of(conn, "telemetry"))
        assert {partitions.partition_name("telemetry", month_start(now, i).date())
                for i in range(-1, 3)} <= parts
        key = conn.execute(
            "select array_agg(a.attname::text order by k.n) from pg_index i"
            " cross join unnest(i.indkey) with ordinality k(attnum, n)"
            " join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum"
            " where i.indrelid = 'telemetry'::regclass and i.indisprimary").fetchone()
        # (device, outbox incarnation, seq) since migration 0011
        assert key == (["device_id", "inc", "seq", "metric", "ts"],)
        indexes = dict(conn.execute(
            "select c.relname::text, am.amname::text from pg_index i"
            " join pg_class c on c.oid = i.indexrelid join pg_am am on am.oid = c.relam"
            " where i.indrelid = 'telemetry'::regclass").fetchall())
        assert indexes == {"telemetry_pkey": "btree", "telemetry_ts_brin": "brin",
                           "telemetry_asset_metric_ts_idx": "btree",
                           "telemetry_received_brin": "brin"}
        assert conn.execute("select to_regclass('telemetry_unpartitioned')").fetchone() == (
            None,)


def test_replayed_telemetry_is_stored_once(db: psycopg.Connection[Any]) -> None:
    ts = datetime.now(UTC).replace(microsecond=0)
    message = telemetry(7, ts, {"projector.lamp_hours": 1200, "projector.power": "on"})
    write(db, message)
    write(db, message)  # the broker redelivers after a lost PUBACK
    write(db, message, telemetry(8, ts, {"projector.lamp_hours": 1201}))  # with a new one
    counts = db.execute("select seq, count(*) from telemetry group by seq order by seq")
    assert counts.fetchall() == [(7, 2), (8, 1)]


def test_far_off_clock_lands_in_default_and_maintenance_moves_it(
        db: psycopg.Connection[Any]) -> None:
    now = datetime.now(UTC)
    future = month_start(now, 6) + timedelta(days=3)
    past = month_start(now, -5) + timedelta(days=2)
    write(db, telemetry(1, future, {"env.temp_c": 30}), telemetry(2, past, {"env.temp_c": 31}),
          telemetry(3, now, {"env.temp_c": 32}))
    assert where(db, 1) == where(db, 2) == ["telemetry_default"]
    assert where(db, 3) == [partitions.partition_name("telemetry", now.date())]
    # maintenance: months inside the retention window (here 400 days) get a partition and
    # their rows move; a clock months ahead stays in the default partition
    db.execute("update timeseries_retention set keep = '400 days' where table_name = 'telemetry'")
    parts = partitions.Partitions()
    parts.ahead(db, now, raw_keep=timedelta(days=400))
    assert where(db, 2) == [partitions.partition_name("telemetry", past.date())]
    assert where(db, 1) == ["telemetry_default"]
    # creating that month's partition on demand moves its row too, and it stays unique
    parts.ensure(db, "telemetry", [future.date().replace(day=1)])
    assert where(db, 1) == [partitions.partition_name("telemetry", future.date())]
    write(db, telemetry(1, future, {"env.temp_c": 30}))
    assert db.execute("select count(*) from telemetry").fetchone() == (3,)
    # the evaluator's hourly maintenance runs the same on its first poll
    db.execute("insert into telemetry (device_id, seq, metric, ts, received_at, value_num)"
               " values (%s, 9, 'env.temp_c', %s, now(), 1)",
               (DEVICE, month_start(now, -8) + timedelta(days=1)))
    assert where(db, 9) == ["telemetry_default"]
    Evaluator(db.info.dsn).run_once(db)
    assert where(db, 9) == [partitions.partition_name(
        "telemetry", month_start(now, -8).date())]


def test_raw_retention_drops_partitions(db: psycopg.Connection[Any]) -> None:
    now = datetime.now(UTC)
    old = datetime(2020, 1, 15, tzinfo=UTC)
    partitions.Partitions().ensure(db, "telemetry", [old.date().replace(day=1)])
    write(db, telemetry(1, old, {"env.temp_c": 20}), telemetry(2, now, {"env.temp_c": 21}),
          telemetry(3, datetime(2001, 1, 1, tzinfo=UTC), {"env.temp_c": 22}))
    assert where(db, 1) == ["telemetry_p202001"] and where(db, 3) == ["telemetry_default"]
    db.execute("update timeseries_retention set keep = '30 days'")
    parts = partitions.Partitions()
    done = partitions.apply_retention(db, now, parts)
    assert done["telemetry"] >= 1 and done["telemetry_default"] == 1
    assert "telemetry_p202001" not in partitions.partitions_of(db, "telemetry")
    assert [r[0] for r in db.execute("select seq from telemetry")] == [2]
    # nothing more to drop the second time
    assert partitions.apply_retention(db, now, parts)["telemetry"] == 0


def test_timescale_hypertable_path(empty_pg_url: str) -> None:
    with connect(empty_pg_url, autocommit=True) as conn:
        try:
            conn.execute("create extension if not exists timescaledb")
        except psycopg.Error as exc:
            pytest.skip("the timescaledb extension cannot be created on this PostgreSQL "
                        f"(Debian 12 ships no package): {str(exc).splitlines()[0][:120]}; "
                        "the native-partition path is tested above")
    migrate(empty_pg_url)
    with connect(empty_pg_url, autocommit=True) as conn:
        conn.execute(SEED.encode())
        store.prepare(conn)
        assert storage.raw_layout(conn) == "hypertable"
        now = datetime.now(UTC)
        message = telemetry(1, now, {"env.temp_c": 30})
        write(conn, message)
        write(conn, message)
        write(conn, telemetry(2, datetime(2020, 1, 1, tzinfo=UTC), {"env.temp_c": 10}))
        assert conn.execute("select count(*) from telemetry").fetchone() == (2,)
        pts = series.raw_series(conn, subjects=["PJ-P-101"], metric="env.temp_c",
                                start=now - timedelta(hours=1),
                                end=now + timedelta(hours=1), width=timedelta(minutes=5),
                                timescale=True)
        assert [p.avg for p in pts] == [30.0]
        done = partitions.apply_retention(conn, now)
        assert done["telemetry"] >= 1
        assert [r[0] for r in conn.execute("select seq from telemetry")] == [1]
