"""When the push sends what: pure decisions over the clock, the schools' cutoffs and the
ledger of what was pushed (tests/unit/test_exchange_push_schedule.py has the tables).

* A day's attendance aggregates are due once every school that has school that day is
  past its absent cutoff (hub/attendance/rules.py: from then on nobody is "pending"),
  plus a grace for gates still flushing their outboxes. A day on which no school has
  school is never pushed (nothing to count).
* A month's KPI snapshot is due once the month is over (plus a grace, local time) and
  the snapshot exists: the hub retakes it every hour of the month's last day
  (hub/kpi/snapshots.py), so only after midnight is it final. A month whose snapshot was
  never taken (the hub was off on its last day) is not pushed: there is nothing the city
  could rely on, and ``smartschool kpi snapshot`` would only say what the records say now.
* Only recent periods are considered (a lookback), so a new endpoint receives the last
  few days and months, not the district's history.
* Each (endpoint, kind, period) is pushed once: what the ledger holds is never due again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hub.exchange.push_documents import PUSH_KINDS, PushKind


@dataclass(frozen=True, slots=True)
class DayPlan:
    """A day and the latest absent cutoff among the schools that have school then (None:
    no school has)."""

    day: date
    last_cutoff: datetime | None


@dataclass(frozen=True, slots=True, order=True)
class Push:
    endpoint_id: int
    kind: PushKind
    period: date


def last_cutoff(cutoffs: Iterable[tuple[bool, datetime]]) -> datetime | None:
    """The latest cutoff of the (school day?, cutoff) pairs of one day's schools."""
    return max((cut for school_day, cut in cutoffs if school_day), default=None)


def recent_days(now: datetime, tz: ZoneInfo, lookback: int) -> list[date]:
    """Today (district time) and the ``lookback`` days before it, oldest first."""
    today = now.astimezone(tz).date()
    return [today - timedelta(days=n) for n in range(lookback, -1, -1)]


def due_days(now: datetime, plans: Iterable[DayPlan], *, grace: timedelta) -> list[date]:
    return sorted(p.day for p in plans
                  if p.last_cutoff is not None and now >= p.last_cutoff + grace)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def recent_months(now: datetime, tz: ZoneInfo, lookback: int) -> list[date]:
    """The ``lookback`` months before the current one (first days), oldest first."""
    month = month_start(now.astimezone(tz).date())
    out = []
    for _ in range(lookback):
        month = previous_month(month)
        out.append(month)
    return sorted(out)


def due_months(now: datetime, tz: ZoneInfo, months: Iterable[date], *,
               snapshots: Collection[date], grace: timedelta) -> list[date]:
    """The months (first days) over, past the grace, and with a stored snapshot."""
    out = []
    for month in months:
        over_at = datetime.combine(next_month(month), time(0), tz)
        if month in snapshots and now >= over_at + grace:
            out.append(month)
    return sorted(out)


def pushes_to_make(endpoints: Sequence[tuple[int, Collection[str]]],
                   due: Mapping[PushKind, Sequence[date]],
                   done: Collection[Push]) -> list[Push]:
    """Every (endpoint, kind, period) due that the ledger does not hold yet, in order."""
    out = []
    for endpoint_id, kinds in endpoints:
        for kind in PUSH_KINDS:
            if kind not in kinds:
                continue
            for period in due.get(kind, ()):
                push = Push(endpoint_id, kind, period)
                if push not in done:
                    out.append(push)
    return sorted(out)
