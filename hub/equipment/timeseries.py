"""Time-series storage of equipment telemetry: rollups, partitions, retention, chart queries.

Two paths, one set of queries (see 0005_equipment.sql for why the raw table stays):

- Plain PostgreSQL: 5-minute and hourly rollups (``telemetry_5m``, ``telemetry_1h``),
  monthly range partitions created ahead of need, BRIN on the bucket, kept current by
  the evaluator from new raw rows; raw buckets of any width with ``date_bin``.
- TimescaleDB present (detected at run time): raw buckets with ``time_bucket``; the
  rollups are the same tables. Compression and continuous aggregates are Timescale
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
PARTITION_MONTHS_AHEAD: Final = 2
# A device clock this far off is not worth a partition of its own: such rows stay raw only.
ROLLUP_FUTURE_LIMIT: Final = timedelta(days=1)
ROLLUP_PAST_LIMIT: Final = timedelta(days=400)
RETENTION_DELETE_BATCH: Final = 50_000
# Derived 0/1 metric rolled up from projector.power, so on-hours are a sum of averages.
POWER_ON_METRIC: Final = "projector.on"
Bucket = Literal["auto", "raw", "5m", "1h"]
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


class Partitions:
    """Monthly partitions of the rollup tables, created ahead of need (cached per process)."""

    def __init__(self) -> None:
        self._known: set[str] = set()

    def ensure(self, conn: psycopg.Connection[Any], table: str, months: Iterable[date]) -> None:
        for month in sorted(set(months)):
            name = f"{table}_p{month:%Y%m}"
            if name in self._known:
                continue
            start = datetime(month.year, month.month, 1, tzinfo=UTC)
            end = _add_month(start)
            conn.execute(
                sql.SQL("create table if not exists {} partition of {}"
                        " for values from ({}) to ({})").format(
                    sql.Identifier(name), sql.Identifier(table), sql.Literal(start),
                    sql.Literal(end))
            )
            self._known.add(name)

    def ahead(self, conn: psycopg.Connection[Any], now: datetime) -> None:
        months = [_add_month(now.replace(day=1), i).date()
                  for i in range(PARTITION_MONTHS_AHEAD + 1)]
        for table, _ in ROLLUPS.values():
            self.ensure(conn, table, months)


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


def apply_retention(conn: psycopg.Connection[Any], now: datetime) -> dict[str, int]:
    """Drop rollup partitions past their table's retention; delete old raw rows in batches.

    Returns what went per table (partitions dropped, or raw rows deleted)."""
    done: dict[str, int] = {}
    keep = retention(conn)
    for table, _ in ROLLUPS.values():
        cutoff = now - keep.get(table, timedelta(days=400))
        rows = conn.execute(
            """
            select c.relname, pg_get_expr(c.relpartbound, c.oid)
            from pg_inherits i join pg_class c on c.oid = i.inhrelid
            join pg_class p on p.oid = i.inhparent where p.relname = %s
            """,
            (table,),
        ).fetchall()
        dropped = 0
        for name, _bound in rows:
            suffix = str(name).rsplit("_p", 1)[-1]
            if len(suffix) != 6 or not suffix.isdigit():
                continue
            start = datetime(int(suffix[:4]), int(suffix[4:]), 1, tzinfo=UTC)
            if _add_month(start) <= cutoff:
                conn.execute(sql.SQL("drop table {}").format(sql.Identifier(str(name))))
                dropped += 1
        done[table] = dropped
    cutoff = now - keep.get("telemetry", timedelta(days=90))
    deleted = 0
    while True:
        cur = conn.execute(
            "delete from telemetry where ctid = any(array(select ctid from telemetry"
            " where ts < %s limit %s))",
            (cutoff, RETENTION_DELETE_BATCH),
        )
        deleted += cur.rowcount
        if cur.rowcount < RETENTION_DELETE_BATCH:
            break
    done["telemetry"] = deleted
    return done


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
