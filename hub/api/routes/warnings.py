"""Warnings and forecasts (issue 15): the list, and a run on demand.

Scope as for attendance and equipment: a school-scoped account sees its own school (a
filter for another school matches nothing, as for every list); a facility manager sees
the equipment kinds only, since the others name pupils (hub/access.py PERSON_ROLES).
Paging is the history lists' keyset (hub/api/paging.py): newest first, a full page names
the next in ``X-Next-Cursor``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from hub.api import paging
from hub.api.deps import ConnDep, ContextDep, CurrentUser, SchoolFilterDep
from hub.api.responses import AUTHED, FORBIDDEN
from hub.models import ApiModel
from hub.warnings import read, runner
from hub.warnings.read import StateFilter, WarningPublic
from hub.warnings.rules import Kind

router = APIRouter(prefix="/api/v1", tags=["warnings"], responses=AUTHED)


class WarningRunResultPublic(ApiModel):
    as_of: dt.date
    findings: int
    opened: int
    closed: int
    notified: int
    seconds: float


@router.get("/warnings", response_model=list[WarningPublic], responses=paging.PAGED)
def read_warnings(
    ctx: ContextDep,
    response: Response,
    conn: ConnDep,
    user: CurrentUser,
    schools: SchoolFilterDep,
    kind: Annotated[Kind | None, Query(description="Only this kind")] = None,
    state: Annotated[StateFilter, Query(description="open (default), closed or all")] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: paging.CursorParam = None,
) -> list[WarningPublic]:
    """Warnings, newest first: ``kind`` is chronic_absence, rising_absence, lateness,
    lamp_end_of_life or repeat_fault; ``detail`` holds the figures the rule decided on."""
    after = paging.after(ctx, cursor, purpose="warnings", types=(str, int))
    kinds = read.visible_kinds(user.role)
    if kind is not None:
        kinds = [k for k in kinds if k == kind]
    if schools.matches_nothing or not kinds:
        return []
    rows = read.list_warnings(conn, kinds=kinds, school=schools.school, state=state,
                              limit=limit, after=after)  # type: ignore[arg-type]
    if rows:
        paging.set_next(response, ctx, purpose="warnings", full=len(rows) == limit,
                        last=read.warning_sort_key(rows[-1]))
    return rows


@router.post("/warnings/run", response_model=WarningRunResultPublic, responses=FORBIDDEN)
def run_warnings(ctx: ContextDep, conn: ConnDep, user: CurrentUser) -> WarningRunResultPublic:
    """Compute every warning now, as the hub does each night (district admins only: it
    sends messages across the district)."""
    if user.role != "district_admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a district admin runs warnings")
    result = runner.run(conn, tz=ctx.tz, trigger="api")
    return WarningRunResultPublic(as_of=result.as_of, findings=result.findings,
                                  opened=result.opened, closed=result.closed,
                                  notified=result.notified, seconds=result.seconds)
