"""Where equipment telemetry is stored: the raw table, the rollup tables, and whether
TimescaleDB is present.

- Plain PostgreSQL: the raw ``telemetry`` table is range-partitioned by month on ``ts``
  (0006) with a DEFAULT partition for rows whose month has no partition (a device clock
  far off), so an ingest batch never fails for want of one. 5-minute and hourly rollups
  (``telemetry_5m``, ``telemetry_1h``) are partitioned the same way (``partitions``) and
  kept current by the evaluator from new raw rows (``rollups``).
- TimescaleDB present (detected at run time; 0006 then makes ``telemetry`` a
  hypertable): raw buckets with ``time_bucket``, raw retention with ``drop_chunks``;
  the rollups are the same tables. Compression and continuous aggregates are Timescale
  License features the Apache build lacks, so ``timescale_info`` reports what the
  installed build has rather than assuming it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

import psycopg

from hub.db import Conn, TimescaleNotPreloaded, check_timescale

log = logging.getLogger(__name__)

# Bucket name -> (rollup table, bucket width).
ROLLUPS: Final = {"5m": ("telemetry_5m", timedelta(minutes=5)),
                  "1h": ("telemetry_1h", timedelta(hours=1))}
RAW_TABLE: Final = "telemetry"
RAW_DEFAULT: Final = "telemetry_default"
# How the raw table is stored: native monthly partitions, a hypertable, or (a database
# migrated before 0006 by hand, say) one plain table.
RawLayout = Literal["partitioned", "hypertable", "plain"]


def raw_layout(conn: Conn) -> RawLayout:
    row = conn.execute("select relkind from pg_class where oid = to_regclass(%s)",
                       (RAW_TABLE,)).fetchone()
    if row is not None and row[0] == "p":
        return "partitioned"
    if timescale_info(conn).available:
        hyper = conn.execute(
            "select 1 from timescaledb_information.hypertables where hypertable_name = %s",
            (RAW_TABLE,)).fetchone()
        if hyper is not None:
            return "hypertable"
    return "plain"


def exists(conn: Conn, relation: str) -> bool:
    """Whether a table (a partition, the default partition) exists in this database."""
    row = conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()
    return bool(row and row[0])


@dataclass(frozen=True, slots=True)
class TimescaleInfo:
    version: str | None  # None: not installed in this database
    license: str | None = None  # 'apache' builds lack compression and continuous aggregates

    @property
    def available(self) -> bool:
        return self.version is not None

    @property
    def compression(self) -> bool:
        return self.available and self.license not in (None, "apache")

    @property
    def continuous_aggregates(self) -> bool:
        return self.compression


def timescale_info(conn: Conn) -> TimescaleInfo:
    row = conn.execute(
        "select extversion from pg_extension where extname = 'timescaledb'"
    ).fetchone()
    if row is None:
        return TimescaleInfo(None)
    lic = conn.execute("select current_setting('timescaledb.license', true)").fetchone()
    return TimescaleInfo(str(row[0]), str(lic[0]) if lic and lic[0] else None)


def enable_timescale(conn: Conn) -> TimescaleInfo:
    """Install the extension when the server has it; plain PostgreSQL otherwise."""
    try:
        check_timescale(conn)
    except TimescaleNotPreloaded as exc:
        # trying would end this session with FATAL; stay on the plain path and say why
        log.warning("%s", exc)
        return timescale_info(conn)
    try:
        with conn.transaction():
            conn.execute("create extension if not exists timescaledb")
    except psycopg.Error as exc:
        log.info("TimescaleDB not available (%s): plain PostgreSQL path", exc)
    return timescale_info(conn)
