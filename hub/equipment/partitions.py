"""Time-series storage of equipment telemetry: partitions, rollups, retention, charts.

Two paths, one set of queries:

- Plain PostgreSQL: the raw ``telemetry`` table is range-partitioned by month on ``ts``
  (0006) with a DEFAULT partition for rows whose month has no partition (a device clock
  far off), so an ingest batch never fails for want of one. 5-minute and hourly rollups
  (``telemetry_5m``, ``telemetry_1h``) are partitioned the same way and kept current by
  the evaluator from new raw rows. ``Partitions.ahead`` (the evaluator's hourly
  maintenance) creates every table's partitions two months ahead and moves rows of the
  retention window out of the default partition into partitions of their own;
  retention drops whole partitions. Raw buckets of any width with ``date_bin``.
- TimescaleDB present (detected at run time; 0006 then makes ``telemetry`` a
  hypertable): raw buckets with ``time_bucket``, raw retention with ``drop_chunks``;
  the rollups are the same tables. Compression and continuous aggregates are Timescale
  License features the Apache build lacks, so ``timescale_features`` reports what the
  installed build has rather than assuming it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Literal

import psycopg
from psycopg import sql
from pydantic import BaseModel, ConfigDict

log = logging.getLogger(__name__)

ROLLUPS: Final = {"5m": ("telemetry_5m", timedelta(minutes=5)),
                  "1h": ("telemetry_1h", timedelta(hours=1))}
RAW_TABLE: Final = "telemetry"
RAW_DEFAULT: Final = "telemetry_default"
# Maintenance waits at most this long for a lock (ingest holds its locks for a batch, i.e.
# milliseconds); a maintenance that gives up tries again at its next run.
MAINTENANCE_LOCK_TIMEOUT: Final = "5s"
PARTITION_MONTHS_AHEAD: Final = 2
# A device clock this far off is not worth a partition of its own: such rows stay raw only.
ROLLUP_FUTURE_LIMIT: Final = timedelta(days=1)
ROLLUP_PAST_LIMIT: Final = timedelta(days=400)
RETENTION_DELETE_BATCH: Final = 50_000
# Derived 0/1 metric rolled up from projector.power, so on-hours are a sum of averages.
POWER_ON_METRIC: Final = "projector.on"
Bucket = Literal["auto", "raw", "5m", "1h"]
# How the raw table is stored: native monthly partitions, a hypertable, or (a database
# migrated before 0006 by hand, say) one plain table.
RawLayout = Literal["partitioned", "hypertable", "plain"]
_EPOCH: Final = datetime(2000, 1, 1, tzinfo=UTC)


class SeriesPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    bucket: datetime
    avg: float | None
    min: float | None
    max: float | None
    last: float | None
    n: int


@dataclass(frozen=True, slots=True)
class RawRow:
    subject: str
    school: str
    metric: str
    ts: datetime
    value: float


@dataclass(slots=True)
class _Agg:
    n: int
    sum: float
    min: float
    max: float
    last: float
    last_ts: datetime

    def add(self, value: float, ts: datetime) -> None:
        self.n += 1
        self.sum += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        if ts >= self.last_ts:
            self.last, self.last_ts = value, ts


def floor_bucket(ts: datetime, width: timedelta) -> datetime:
    return ts - ((ts - _EPOCH) % width)


def aggregate(rows: Iterable[RawRow], width: timedelta) -> dict[tuple[str, str, datetime, str],
                                                                 _Agg]:
    """Fold raw rows into (subject, metric, bucket, school) aggregates (pure)."""
    out: dict[tuple[str, str, datetime, str], _Agg] = {}
    for r in rows:
        key = (r.subject, r.metric, floor_bucket(r.ts, width), r.school)
        agg = out.get(key)
        if agg is None:
            out[key] = _Agg(1, r.value, r.value, r.value, r.value, r.ts)
        else:
            agg.add(r.value, r.ts)
    return out


_UPSERT = """
insert into {table} as t (subject, metric, bucket, school_id, n, sum, min, max, last, last_ts)
select * from unnest(%s::text[], %s::text[], %s::timestamptz[], %s::text[], %s::int[],
                     %s::float8[], %s::float8[], %s::float8[], %s::float8[], %s::timestamptz[])
on conflict (subject, metric, bucket) do update set
    n = t.n + excluded.n, sum = t.sum + excluded.sum,
    min = least(t.min, excluded.min), max = greatest(t.max, excluded.max),
    last = case when excluded.last_ts >= t.last_ts then excluded.last else t.last end,
    last_ts = greatest(t.last_ts, excluded.last_ts)
"""


def raw_layout(conn: psycopg.Connection[Any]) -> RawLayout:
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


def _exists(conn: psycopg.Connection[Any], relation: str) -> bool:
    row = conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()
    return bool(row and row[0])


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y%m}"


def _month_of(name: str, table: str) -> datetime | None:
    """The first instant of a ``{table}_pYYYYMM`` partition's month (None: not one)."""
    prefix = f"{table}_p"
    suffix = name[len(prefix):] if name.startswith(prefix) else ""
    if len(suffix) != 6 or not suffix.isdigit() or not 1 <= int(suffix[4:]) <= 12:
        return None
    return datetime(int(suffix[:4]), int(suffix[4:]), 1, tzinfo=UTC)


def partitions_of(conn: psycopg.Connection[Any], table: str) -> list[str]:
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

    def ensure(self, conn: psycopg.Connection[Any], table: str, months: Iterable[date]) -> None:
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
    def _ensure_raw(conn: psycopg.Connection[Any], name: str, start: datetime,
                    end: datetime) -> None:
        """One raw month: rows of it already in the default partition move into it.

        The default partition is locked first, so no row of the month can land there
        between the move and the attach (which checks the default holds none)."""
        with conn.transaction():
            if _exists(conn, name):
                return
            conn.execute(sql.SQL("set local lock_timeout = {}").format(
                sql.Literal(MAINTENANCE_LOCK_TIMEOUT)))
            if not _exists(conn, RAW_DEFAULT):
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

    def raw_partitioned(self, conn: psycopg.Connection[Any]) -> bool:
        if self._raw_layout is None:
            self._raw_layout = raw_layout(conn)
        return self._raw_layout == "partitioned"

    def ahead(self, conn: psycopg.Connection[Any], now: datetime,
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
        if raw_keep is not None and _exists(conn, RAW_DEFAULT):
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


def write_rollups(
    conn: psycopg.Connection[Any], rows: Sequence[RawRow], partitions: Partitions,
    now: datetime,
) -> int:
    """Merge new raw rows into both rollups (call inside the caller's transaction)."""
    usable = [r for r in rows
              if now - ROLLUP_PAST_LIMIT <= r.ts <= now + ROLLUP_FUTURE_LIMIT]
    if not usable:
        return 0
    written = 0
    for table, width in ROLLUPS.values():
        aggs = aggregate(usable, width)
        partitions.ensure(conn, table, {k[2].astimezone(UTC).date().replace(day=1) for k in aggs})
        cols: list[list[Any]] = [[] for _ in range(10)]
        for (subject, metric, bucket, school), a in aggs.items():
            for col, v in zip(cols, (subject, metric, bucket, school, a.n, a.sum, a.min, a.max,
                                     a.last, a.last_ts), strict=True):
                col.append(v)
        conn.execute(sql.SQL(_UPSERT).format(table=sql.Identifier(table)), cols)
        written += len(aggs)
    return written


# -- TimescaleDB detection ------------------------------------------------------------

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


def timescale_info(conn: psycopg.Connection[Any]) -> TimescaleInfo:
    row = conn.execute(
        "select extversion from pg_extension where extname = 'timescaledb'"
    ).fetchone()
    if row is None:
        return TimescaleInfo(None)
    lic = conn.execute("select current_setting('timescaledb.license', true)").fetchone()
    return TimescaleInfo(str(row[0]), str(lic[0]) if lic and lic[0] else None)


def enable_timescale(conn: psycopg.Connection[Any]) -> TimescaleInfo:
    """Install the extension when the server has it; plain PostgreSQL otherwise."""
    try:
        with conn.transaction():
            conn.execute("create extension if not exists timescaledb")
    except psycopg.Error as exc:
        log.info("TimescaleDB not available (%s): plain PostgreSQL path", exc)
    return timescale_info(conn)


# -- chart queries --------------------------------------------------------------------

def choose_bucket(span: timedelta) -> Bucket:
    """The coarsest table still giving a few hundred points over the span."""
    if span <= timedelta(hours=3):
        return "raw"
    if span <= timedelta(days=2):
        return "5m"
    return "1h"


def series(
    conn: psycopg.Connection[Any], *, subjects: Sequence[str], metric: str, start: datetime,
    end: datetime, bucket: Bucket = "auto", timescale: bool = False,
) -> list[SeriesPoint]:
    """One metric of one asset (or its device) per bucket."""
    chosen = choose_bucket(end - start) if bucket == "auto" else bucket
    if chosen == "raw":
        return raw_series(conn, subjects=subjects, metric=metric, start=start, end=end,
                          width=None, timescale=timescale)
    table = ROLLUPS[chosen][0]
    query = sql.SQL("""
        select bucket, sum(sum) / nullif(sum(n), 0) as avg, min(min) as min, max(max) as max,
               (array_agg(last order by last_ts desc))[1] as last, sum(n)::int as n
        from {} where subject = any(%s) and metric = %s and bucket >= %s and bucket < %s
        group by bucket order by bucket
    """).format(sql.Identifier(table))
    return _points(conn, query, (list(subjects), metric, start, end))


def raw_series(
    conn: psycopg.Connection[Any], *, subjects: Sequence[str], metric: str, start: datetime,
    end: datetime, width: timedelta | None, timescale: bool = False,
) -> list[SeriesPoint]:
    """Straight from the raw table: each reading (width None) or buckets of ``width``."""
    if width is None:
        raw = sql.SQL("""
            select ts as bucket, value_num as avg, value_num as min, value_num as max,
                   value_num as last, 1 as n
            from telemetry where asset = any(%s) and metric = %s and ts >= %s and ts < %s
              and value_num is not null
            union all
            select ts, value_num, value_num, value_num, value_num, 1
            from telemetry where asset is null and device_id = any(%s) and metric = %s
              and ts >= %s and ts < %s and value_num is not null
            order by 1
        """)
        args: tuple[Any, ...] = (list(subjects), metric, start, end) * 2
        return _points(conn, raw, args)
    fn = (sql.SQL("time_bucket(%s::interval, ts)") if timescale
          else sql.SQL("date_bin(%s::interval, ts, '2000-01-01 00:00+00')"))
    query = sql.SQL("""
        select {fn} as bucket, avg(value_num) as avg, min(value_num) as min,
               max(value_num) as max, (array_agg(value_num order by ts desc))[1] as last,
               count(*)::int as n
        from telemetry
        where (asset = any(%s) or (asset is null and device_id = any(%s)))
          and metric = %s and ts >= %s and ts < %s and value_num is not null
        group by 1 order by 1
    """).format(fn=fn)
    return _points(conn, query, (width, list(subjects), list(subjects), metric, start, end))


def school_series(
    conn: psycopg.Connection[Any], *, school: str, metric: str, start: datetime, end: datetime,
    bucket: Literal["5m", "1h"] = "1h",
) -> list[SeriesPoint]:
    """One metric averaged over a school's assets and devices per bucket."""
    query = sql.SQL("""
        select bucket, sum(sum) / nullif(sum(n), 0) as avg, min(min) as min, max(max) as max,
               null::float8 as last, sum(n)::int as n
        from {} where school_id = %s and metric = %s and bucket >= %s and bucket < %s
        group by bucket order by bucket
    """).format(sql.Identifier(ROLLUPS[bucket][0]))
    return _points(conn, query, (school, metric, start, end))


def raw_school_series(
    conn: psycopg.Connection[Any], *, school: str, metric: str, start: datetime, end: datetime,
    width: timedelta, timescale: bool = False,
) -> list[SeriesPoint]:
    """The same over the raw table (the benchmark's baseline)."""
    fn = (sql.SQL("time_bucket(%s::interval, t.ts)") if timescale
          else sql.SQL("date_bin(%s::interval, t.ts, '2000-01-01 00:00+00')"))
    query = sql.SQL("""
        select {fn} as bucket, avg(t.value_num) as avg, min(t.value_num) as min,
               max(t.value_num) as max, null::float8 as last, count(*)::int as n
        from telemetry t join devices d on d.id = t.device_id
        where d.school_id = %s and t.metric = %s and t.ts >= %s and t.ts < %s
        group by 1 order by 1
    """).format(fn=fn)
    return _points(conn, query, (width, school, metric, start, end))


def _points(conn: psycopg.Connection[Any], query: sql.SQL | sql.Composed,
            args: Sequence[Any]) -> list[SeriesPoint]:
    rows = conn.execute(query, args).fetchall()
    return [SeriesPoint(bucket=r[0], avg=r[1], min=r[2], max=r[3], last=r[4], n=int(r[5]))
            for r in rows]


# -- retention ------------------------------------------------------------------------

def retention(conn: psycopg.Connection[Any]) -> dict[str, timedelta]:
    rows = conn.execute("select table_name, keep from timeseries_retention").fetchall()
    return {str(name): keep for name, keep in rows}


def apply_retention(conn: psycopg.Connection[Any], now: datetime,
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
        if _exists(conn, RAW_DEFAULT):
            done[RAW_DEFAULT] = _delete_older(conn, RAW_DEFAULT, cutoff)
    else:
        done[RAW_TABLE] = _delete_older(conn, RAW_TABLE, cutoff)
    return done


def _drop_partitions(conn: psycopg.Connection[Any], table: str, cutoff: datetime,
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


def _delete_older(conn: psycopg.Connection[Any], table: str, cutoff: datetime) -> int:
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


# -- utilisation ----------------------------------------------------------------------

class Utilisation(BaseModel):
    model_config = ConfigDict(frozen=True)

    school_id: str
    room: str | None
    asset_tag: str
    day: date
    on_hours: float


def utilisation(
    conn: psycopg.Connection[Any], *, day: date, timezone: str, school: str | None = None,
) -> list[Utilisation]:
    """Projector on-hours per room for one local day, from the 5-minute rollup of the 0/1
    ``projector.on`` metric: each bucket's share of 'on' readings times five minutes."""
    rows = conn.execute(
        """
        select a.school_id, r.name, a.tag,
               coalesce(sum(t.sum / t.n), 0) * 5 / 60.0 as hours
        from assets a
        left join rooms r on r.id = a.room_id
        left join telemetry_5m t on t.subject = a.tag and t.metric = %(metric)s
             and t.bucket >= (%(day)s::date::timestamp at time zone %(tz)s)
             and t.bucket < ((%(day)s::date + 1)::timestamp at time zone %(tz)s)
        where a.type = 'projector' and (%(school)s::text is null or a.school_id = %(school)s)
        group by a.school_id, r.name, a.tag
        order by a.school_id, r.name nulls last, a.tag
        """,
        {"metric": POWER_ON_METRIC, "day": day, "tz": timezone, "school": school},
    ).fetchall()
    return [Utilisation(school_id=s, room=r, asset_tag=t, day=day, on_hours=round(float(h), 3))
            for s, r, t, h in rows]
