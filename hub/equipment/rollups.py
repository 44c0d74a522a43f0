"""Rollups of raw telemetry into 5-minute and hourly buckets: folding rows (pure) and
merging the folds into the rollup tables. The evaluator calls ``write_rollups`` with the
raw rows it has just read, so the charts never scan the raw table for a long span."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from psycopg import sql

from hub.db import Conn
from hub.equipment.partitions import Partitions
from hub.equipment.storage import ROLLUPS

# A device clock this far off is not worth a partition of its own: such rows stay raw only.
ROLLUP_FUTURE_LIMIT: Final = timedelta(days=1)
ROLLUP_PAST_LIMIT: Final = timedelta(days=400)
# Derived 0/1 metric rolled up from projector.power, so on-hours are a sum of averages.
POWER_ON_METRIC: Final = "projector.on"
_EPOCH: Final = datetime(2000, 1, 1, tzinfo=UTC)


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


def write_rollups(
    conn: Conn, rows: Sequence[RawRow], partitions: Partitions,
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
