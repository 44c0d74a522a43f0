"""Chart reads of equipment telemetry: one metric of an asset or of a school per bucket,
from the rollup table that fits the span or from the raw table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from psycopg import sql

from hub.db import Conn
from hub.equipment.storage import ROLLUPS
from hub.models import ApiModel

Bucket = Literal["auto", "raw", "5m", "1h"]


class SeriesPoint(ApiModel):
    bucket: datetime
    avg: float | None
    min: float | None
    max: float | None
    last: float | None
    n: int


def choose_bucket(span: timedelta) -> Bucket:
    """The coarsest table still giving a few hundred points over the span."""
    if span <= timedelta(hours=3):
        return "raw"
    if span <= timedelta(days=2):
        return "5m"
    return "1h"


def series(
    conn: Conn, *, subjects: Sequence[str], metric: str, start: datetime,
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
    conn: Conn, *, subjects: Sequence[str], metric: str, start: datetime,
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
    conn: Conn, *, school: str, metric: str, start: datetime, end: datetime,
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
    conn: Conn, *, school: str, metric: str, start: datetime, end: datetime,
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


def _points(conn: Conn, query: sql.SQL | sql.Composed,
            args: Sequence[Any]) -> list[SeriesPoint]:
    rows = conn.execute(query, args).fetchall()
    return [SeriesPoint(bucket=r[0], avg=r[1], min=r[2], max=r[3], last=r[4], n=int(r[5]))
            for r in rows]
