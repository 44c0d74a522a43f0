"""What the plan's targets page reads: the same per-school inputs /api/v1/kpi answers with
(hub.kpi.read), so the page and the API never disagree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hub.db import Conn
from hub.kpi.read import ScopeKpi, school_kpis, scopes


@dataclass(frozen=True, slots=True)
class KpiView:
    head: ScopeKpi  # the district, or the account's own school
    units: list[ScopeKpi]  # wards and schools under it


def load_kpi(conn: Conn, tz: ZoneInfo, *, school: str | None) -> KpiView | None:
    """Live values; ``school`` narrows to one school (a school-scoped account). None when
    that school is not there."""
    found = scopes(school_kpis(conn, now=datetime.now(UTC), tz=tz))
    if school is not None:
        own = [s for s in found if s.scope == "school" and s.scope_id == school]
        return KpiView(own[0], []) if own else None
    return KpiView(found[0], [s for s in found if s.scope != "district"])
