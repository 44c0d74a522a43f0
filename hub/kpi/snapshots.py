"""Monthly snapshots of the indicators (table kpi_snapshots, migration 0016).

A month's row is what the records said on its last day; a later correction of a record
changes the live value, never a month already taken. Taking the same month again (the
hourly maintenance on the last day, or `smartschool kpi snapshot`) replaces its rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from hub.db import Conn
from hub.kpi.indicators import BY_ID, IndicatorId, Ratio, is_month_end, month_start
from hub.kpi.read import Scope, ScopeKpi, school_kpis, scopes


@dataclass(frozen=True, slots=True)
class MonthRatio:
    month: date
    ratio: Ratio


def take(conn: Conn, *, now: datetime, tz: ZoneInfo) -> tuple[date, int]:
    """Snapshot the month ``now`` falls in (district time) with today's values; returns
    the month and the rows written."""
    month = month_start(now.astimezone(tz).date())
    rows = [
        (month, s.scope, s.scope_id, ind, r.numerator, r.denominator, BY_ID[ind].target, now)
        for s in scopes(school_kpis(conn, now=now, tz=tz))
        for ind, r in s.ratios.items()
    ]
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("delete from kpi_snapshots where month = %s", (month,))
        cur.executemany(
            """insert into kpi_snapshots (month, scope, scope_id, indicator, numerator,
                                          denominator, target, taken_at)
               values (%s, %s, %s, %s, %s, %s, %s, %s)""",
            rows,
        )
    return month, len(rows)


def take_if_month_end(conn: Conn, *, now: datetime, tz: ZoneInfo) -> int | None:
    """The hourly maintenance's part: on a month's last day, (re)take the month."""
    if not is_month_end(now.astimezone(tz).date()):
        return None
    return take(conn, now=now, tz=tz)[1]


def history(conn: Conn, *, scope: Scope, scope_id: str, upto: date
            ) -> dict[IndicatorId, list[MonthRatio]]:
    """Each indicator's stored months for one scope, oldest first, up to ``upto``."""
    out: dict[IndicatorId, list[MonthRatio]] = defaultdict(list)
    for month, indicator, n, d in conn.execute(
        """select month, indicator, numerator, denominator from kpi_snapshots
           where scope = %s and scope_id = %s and month <= %s order by month""",
        (scope, scope_id, upto),
    ):
        if indicator in BY_ID:
            out[indicator].append(MonthRatio(month, Ratio(int(n), int(d))))
    return out


def stored(conn: Conn, *, month: date) -> list[ScopeKpi]:
    """Every scope as the month's snapshot has it ([] when the month was not taken)."""
    by_scope: dict[tuple[Scope, str], dict[IndicatorId, Ratio]] = defaultdict(dict)
    for scope, scope_id, indicator, n, d in conn.execute(
        """select scope, scope_id, indicator, numerator, denominator from kpi_snapshots
           where month = %s""",
        (month,),
    ):
        if indicator in BY_ID:
            by_scope[scope, scope_id][indicator] = Ratio(int(n), int(d))
    return [ScopeKpi(scope, sid, sid, ratios) for (scope, sid), ratios in by_scope.items()]
