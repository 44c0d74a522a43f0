"""Today's (or a given day's) arrivals per school: a live head count.

``/summary`` splits first entries on each school's start time and counts everyone not yet
arrived as ``absent``. It is not the attendance rules (no per-level or per-school late and
absent cutoffs, no school calendar, no corrections, no ``pending``); its shape and meaning
are published and kept. The district daily summary by the rules, the one reports, the
dashboard and the benchmark target use, is ``GET /api/v1/attendance/daily``
(hub/api/routes/attendance_reports.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from hub.api.deps import ConnDep, ContextDep, Day, SchoolFilterDep
from hub.api.models import AttendanceSummaryPublic, AttendanceTotals
from hub.api.responses import AUTHED
from hub.read import queries

router = APIRouter(prefix="/api/v1/attendance", tags=["attendance"], responses=AUTHED)


@router.get("/summary", response_model=AttendanceSummaryPublic)
def read_summary(
    ctx: ContextDep,
    conn: ConnDep,
    schools: SchoolFilterDep,
    date: Annotated[
        Day | None,
        Query(description="School day, YYYY-MM-DD; default today in the district's time zone"),
    ] = None,
) -> AttendanceSummaryPublic:
    """Live arrivals per school by the start time only; the rule-faithful district
    summary (cutoffs, calendar, corrections, pending) is ``/api/v1/attendance/daily``."""
    day = date or dt.datetime.now(ctx.tz).date()
    rows = []
    if not schools.matches_nothing:
        rows = [
            row
            for row in queries.attendance_summary(
                conn,
                day=day,
                tz=ctx.settings.timezone,
                offline_gate_s=ctx.settings.offline_after_gate_s,
                offline_classroom_s=ctx.settings.offline_after_classroom_s,
            )
            if schools.allows(row.school)
        ]
    totals = AttendanceTotals(
        enrolled=sum(r.enrolled for r in rows),
        present=sum(r.present for r in rows),
        late=sum(r.late for r in rows),
        absent=sum(r.absent for r in rows),
    )
    return AttendanceSummaryPublic(date=day, schools=rows, totals=totals)
