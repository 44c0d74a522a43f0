"""Monthly partitions of the telemetry tables, created ahead of need, and retention,
which drops whole partitions (or Timescale chunks) past each table's keep.

``Partitions.ahead`` (the evaluator's hourly maintenance) creates every table's partitions
two months ahead and moves rows of the retention window out of the raw table's default
partition into partitions of their own. How the tables are laid out: ``storage``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Final

from psycopg import sql

from hub.db import Conn
from hub.equipment.storage import RAW_DEFAULT, RAW_TABLE, ROLLUPS, RawLayout, exists, raw_layout

log = logging.getLogger(__name__)

# Maintenance waits at most this long for a lock (ingest holds its locks for a batch, i.e.
# milliseconds); a maintenance that gives up tries again at its next run.
MAINTENANCE_LOCK_TIMEOUT: Final = "5s"
PARTITION_MONTHS_AHEAD: Final = 2
# Rows deleted per statement where retention cannot drop a partition: short locks.
RETENTION_DELETE_BATCH: Final = 50_000


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y%m}"


def _month_of(name: str, table: str) -> datetime | None:
    """The first instant of a ``{table}_pYYYYMM`` partition's month (None: not one)."""
    prefix = f"{table}_p"
    suffix = name[len(prefix):] if name.startswith(prefix) else ""
    if len(suffix) != 6 or not suffix.isdigit() or not 1 <= int(suffix[4:]) <= 12:
        return None
    return datetime(int(suffix[:4]), int(suffix[4:]), 1, tzinfo=UTC)


def partitions_of(conn: Conn, table: str) -> list[str]:
    rows = conn.execute(
        """
        select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
        join pg_class p on p.oid = i.inhparent where p.relname = %s order by c.relname
        """,
        (table,),
    ).fetchall()
    return [str(r[0]) for r in rows]


class Partitions:
    """Monthly partitions created ahead of need (cached per process): the rollups always,
    the raw table when it is natively partitioned (not under TimescaleDB)."""

    def __init__(self) -> None:
        self._known: set[str] = set()
        self._raw_layout: RawLayout | None = None

    def forget(self, names: Iterable[str]) -> None:
        self._known.difference_update(names)

    def ensure(self, conn: Conn, table: str, months: Iterable[date]) -> None:
        for month in sorted(set(months)):
            name = partition_name(table, month)
            if name in self._known:
                continue
            start = datetime(month.year, month.month, 1, tzinfo=UTC)
            end = _add_month(start)
            if table == RAW_TABLE:
                self._ensure_raw(conn, name, start, end)
            else:
                conn.execute(
                    sql.SQL("create table if not exists {} partition of {}"
                            " for values from ({}) to ({})").format(
                        sql.Identifier(name), sql.Identifier(table), sql.Literal(start),
                        sql.Literal(end))
                )
            self._known.add(name)

    @staticmethod
    def _ensure_raw(conn: Conn, name: str, start: datetime,
                    end: datetime) -> None:
        """One raw month: rows of it already in the default partition move into it.

        The default partition is locked first, so no row of the month can land there
        between the move and the attach (which checks the default holds none)."""
        with conn.transaction():
            if exists(conn, name):
                return
            conn.execute(sql.SQL("set local lock_timeout = {}").format(
                sql.Literal(MAINTENANCE_LOCK_TIMEOUT)))
            if not exists(conn, RAW_DEFAULT):
                conn.execute(
                    sql.SQL("create table {} partition of {} for values from ({}) to ({})")
                    .format(sql.Identifier(name), sql.Identifier(RAW_TABLE),
                            sql.Literal(start), sql.Literal(end)))
                return
            conn.execute(sql.SQL("lock table {} in share row exclusive mode").format(
                sql.Identifier(RAW_DEFAULT)))
            conn.execute(sql.SQL("create table {} (like {} including defaults)").format(
                sql.Identifier(name), sql.Identifier(RAW_TABLE)))
            moved = conn.execute(
                sql.SQL("with moved as (delete from {} where ts >= %s and ts < %s returning *)"
                        " insert into {} select * from moved").format(
                    sql.Identifier(RAW_DEFAULT), sql.Identifier(name)),
                (start, end)).rowcount
            # The check lets the attach skip scanning the new table.
            conn.execute(sql.SQL("alter table {} add constraint {} check"
                                 " (ts >= {} and ts < {})").format(
                sql.Identifier(name), sql.Identifier(f"{name}_range"), sql.Literal(start),
                sql.Literal(end)))
            conn.execute(sql.SQL("alter table {} attach partition {}"
                                 " for values from ({}) to ({})").format(
                sql.Identifier(RAW_TABLE), sql.Identifier(name), sql.Literal(start),
                sql.Literal(end)))
            conn.execute(sql.SQL("alter table {} drop constraint {}").format(
                sql.Identifier(name), sql.Identifier(f"{name}_range")))
            if moved:
                log.info("created raw partition %s; moved %d rows out of %s", name, moved,
                         RAW_DEFAULT)

    def raw_partitioned(self, conn: Conn) -> bool:
        if self._raw_layout is None:
            self._raw_layout = raw_layout(conn)
        return self._raw_layout == "partitioned"

    def ahead(self, conn: Conn, now: datetime,
              raw_keep: timedelta | None = None) -> None:
        """Every table's partitions from this month to ``PARTITION_MONTHS_AHEAD`` ahead;
        for the raw table also the months of the retention window (``raw_keep``) that
        have rows waiting in the default partition. Rows further off stay there (and go
        with retention when they are older than it)."""
        months = [_add_month(now.replace(day=1), i).date()
                  for i in range(PARTITION_MONTHS_AHEAD + 1)]
        for table, _ in ROLLUPS.values():
            self.ensure(conn, table, months)
        if not self.raw_partitioned(conn):
            return
        self.ensure(conn, RAW_TABLE, months)
        if raw_keep is not None and exists(conn, RAW_DEFAULT):
            waiting = conn.execute(
                sql.SQL("select distinct date_trunc('month', ts at time zone 'UTC')::date"
                        " from {} where ts >= %s and ts < %s").format(
                    sql.Identifier(RAW_DEFAULT)),
                (_add_month(now - raw_keep, 0), _add_month(now, PARTITION_MONTHS_AHEAD + 1)),
            ).fetchall()
            self.ensure(conn, RAW_TABLE, [r[0] for r in waiting])


def _add_month(moment: datetime, months: int = 1) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1, day=1, hour=0, minute=0,
                          second=0, microsecond=0)


# -- retention ------------------------------------------------------------------------

# The tables with a retention of their own: raw telemetry and its two rollups.
RETENTION_TABLES: Final = ("telemetry", "telemetry_5m", "telemetry_1h")


def retention(conn: Conn) -> dict[str, timedelta]:
    rows = conn.execute("select table_name, keep from timeseries_retention").fetchall()
    return {str(name): keep for name, keep in rows}


def set_retention(conn: Conn, table: str, keep: timedelta) -> None:
    """Keep ``keep`` of ``table``; the hub's hourly maintenance applies it."""
    if table not in RETENTION_TABLES:
        raise ValueError(f"{table!r} is not one of {', '.join(RETENTION_TABLES)}")
    conn.execute("update timeseries_retention set keep = %s where table_name = %s",
                 (keep, table))


def apply_retention(conn: Conn, now: datetime,
                    partitions: Partitions | None = None) -> dict[str, int]:
    """Drop partitions (or Timescale chunks) wholly past their table's retention.

    Returns what went per table: partitions (chunks) dropped; for ``telemetry_default``
    (rows no monthly partition took) and a raw table that is neither partitioned nor a
    hypertable, rows deleted in batches."""
    done: dict[str, int] = {}
    keep = retention(conn)
    for table, _ in ROLLUPS.values():
        done[table] = _drop_partitions(conn, table,
                                       now - keep.get(table, timedelta(days=400)), partitions)
    cutoff = now - keep.get(RAW_TABLE, timedelta(days=90))
    layout = raw_layout(conn)
    if layout == "hypertable":
        rows = conn.execute("select drop_chunks(%s::regclass, older_than => %s)",
                            (RAW_TABLE, cutoff)).fetchall()
        done[RAW_TABLE] = len(rows)
    elif layout == "partitioned":
        done[RAW_TABLE] = _drop_partitions(conn, RAW_TABLE, cutoff, partitions)
        if exists(conn, RAW_DEFAULT):
            done[RAW_DEFAULT] = _delete_older(conn, RAW_DEFAULT, cutoff)
    else:
        done[RAW_TABLE] = _delete_older(conn, RAW_TABLE, cutoff)
    return done


def _drop_partitions(conn: Conn, table: str, cutoff: datetime,
                     partitions: Partitions | None) -> int:
    dropped: list[str] = []
    for name in partitions_of(conn, table):
        start = _month_of(name, table)
        if start is None or _add_month(start) > cutoff:
            continue
        with conn.transaction():
            conn.execute(sql.SQL("set local lock_timeout = {}").format(
                sql.Literal(MAINTENANCE_LOCK_TIMEOUT)))
            conn.execute(sql.SQL("drop table {}").format(sql.Identifier(name)))
        dropped.append(name)
    if partitions is not None:
        partitions.forget(dropped)
    return len(dropped)


def _delete_older(conn: Conn, table: str, cutoff: datetime) -> int:
    deleted = 0
    while True:
        cur = conn.execute(
            sql.SQL("delete from {0} where ctid = any(array(select ctid from {0}"
                    " where ts < %s limit %s))").format(sql.Identifier(table)),
            (cutoff, RETENTION_DELETE_BATCH),
        )
        deleted += cur.rowcount
        if cur.rowcount < RETENTION_DELETE_BATCH:
            return deleted
