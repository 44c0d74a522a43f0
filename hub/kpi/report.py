"""The indicators of one scope as the API and the export give them: live for the current
month, from the snapshot for a past one, each with its monthly history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from hub.db import Conn
from hub.kpi import snapshots
from hub.kpi.indicators import INDICATORS, Ratio, met, month_start, percent, shortfall
from hub.kpi.read import Scope, ScopeKpi, school_kpis, scopes
from hub.models import ApiModel


class KpiNotFoundError(LookupError):
    """An unknown (or unseen) school or ward, or a past month without a snapshot."""


class KpiPoint(ApiModel):
    month: str  # YYYY-MM
    value: float | None
    numerator: int
    denominator: int


class KpiPublic(ApiModel):
    id: str
    name: str  # Vietnamese, the plan's words
    name_en: str
    target: float  # percent
    target_year: int | None  # None: every year
    value: float | None  # percent; None when there is nothing to count
    numerator: int
    denominator: int
    met: bool
    shortfall: int  # records, rooms or schools still missing for the target
    history: list[KpiPoint]


@dataclass(frozen=True, slots=True)
class Where:
    scope: Scope
    scope_id: str


def where(conn: Conn, *, school: str | None, ward: str | None) -> Where:
    """The scope a request names; KpiNotFoundError for an unknown one or a school
    outside the ward."""
    if school is not None:
        row = conn.execute("select ward from schools where id = %s", (school,)).fetchone()
        if row is None or (ward is not None and row[0] != ward):
            raise KpiNotFoundError(f"school {school} not found"
                                   + (f" in ward {ward}" if ward else ""))
        return Where("school", school)
    if ward is not None:
        found = conn.execute("select 1 from schools where ward = %s limit 1", (ward,))
        if found.fetchone() is None:
            raise KpiNotFoundError(f"ward {ward} not found")
        return Where("ward", ward)
    return Where("district", "")


def _month_text(month: date) -> str:
    return month.strftime("%Y-%m")


def all_scopes(conn: Conn, *, now: datetime, tz: ZoneInfo, month: date | None = None
               ) -> list[ScopeKpi]:
    """Every scope live (this month or no month) or from a past month's snapshot."""
    current = month_start(now.astimezone(tz).date())
    if month is None or month >= current:
        if month is not None and month > current:
            raise KpiNotFoundError(f"{_month_text(month)} has not come yet")
        return scopes(school_kpis(conn, now=now, tz=tz))
    taken = snapshots.stored(conn, month=month)
    if not taken:
        raise KpiNotFoundError(f"no snapshot of {_month_text(month)}")
    return taken


def indicators(conn: Conn, *, at: Where, now: datetime, tz: ZoneInfo,
               month: date | None = None) -> list[KpiPublic]:
    found = [s for s in all_scopes(conn, now=now, tz=tz, month=month)
             if s.scope == at.scope and s.scope_id == at.scope_id]
    if not found:
        # A school added after the month's snapshot was taken.
        raise KpiNotFoundError(f"{at.scope} {at.scope_id} is not in that month's snapshot")
    ratios = found[0].ratios
    upto = month or month_start(now.astimezone(tz).date())
    past = snapshots.history(conn, scope=at.scope, scope_id=at.scope_id, upto=upto)
    out = []
    for ind in INDICATORS:
        ratio = ratios.get(ind.id, Ratio(0, 0))
        out.append(KpiPublic(
            id=ind.id, name=ind.name_vi, name_en=ind.name_en, target=ind.target,
            target_year=ind.target_year, value=percent(ratio), numerator=ratio.numerator,
            denominator=ratio.denominator, met=met(ind, ratio),
            shortfall=shortfall(ind, ratio),
            history=[KpiPoint(month=_month_text(p.month), value=percent(p.ratio),
                              numerator=p.ratio.numerator, denominator=p.ratio.denominator)
                     for p in past.get(ind.id, [])],
        ))
    return out
