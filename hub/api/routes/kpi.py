"""The plan's targets (issue #13): indicators of the district, a ward or a school, and the
yearly report's XLSX.

Every role reads them (they are counts, never a person); a school-scoped account sees
its own school, and asking for another school or a ward is a 404, the same answer as for
one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status

from hub.accounts.auth import User
from hub.api.deps import ID_PATTERN, ConnDep, ContextDep, CurrentUser
from hub.api.responses import AUTHED, NOT_FOUND, XLSX, attachment
from hub.api.routes.attendance_reports import MONTH_PATTERN
from hub.db import Conn
from hub.kpi import export, report
from hub.kpi.report import KpiNotFoundError, KpiPublic, Where

router = APIRouter(prefix="/api/v1", tags=["kpi"], responses=AUTHED)

# A ward is a name ("Phường Hòa Nghĩa"): printable text of a sane length (a NUL byte
# would reach PostgreSQL, which refuses it with an error).
WARD_PATTERN = r"^[^\x00-\x1f\x7f]{1,100}$"
SchoolQuery = Annotated[str | None, Query(pattern=ID_PATTERN,
                                          description="This school (its code)")]
WardQuery = Annotated[str | None, Query(pattern=WARD_PATTERN, description="This ward")]
MonthQuery = Annotated[str | None, Query(
    pattern=MONTH_PATTERN,
    description="YYYY-MM: a past month as its snapshot stored it; default this month, live")]


def _not_found(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))


def _where(conn: Conn, user: User, school: str | None, ward: str | None) -> Where:
    if user.school_scoped:
        own = user.school_id
        if own is None or (school is not None and school != own):
            raise _not_found(KpiNotFoundError(f"school {school} not found"))
        school = own
    try:
        return report.where(conn, school=school, ward=ward)
    except KpiNotFoundError as exc:
        raise _not_found(exc) from exc


def _month(text: str | None) -> dt.date | None:
    return None if text is None else dt.date(int(text[:4]), int(text[5:7]), 1)


@router.get("/kpi", response_model=list[KpiPublic], responses=NOT_FOUND)
def read_kpi(ctx: ContextDep, conn: ConnDep, user: CurrentUser, school: SchoolQuery = None,
             ward: WardQuery = None, month: MonthQuery = None) -> list[KpiPublic]:
    """The seven indicators of the plan for the district (default), a ward or a school:
    target, deadline (``target_year``, null for every year), value in percent with the
    numerator and denominator it comes from, and the monthly snapshots up to ``month``.
    README "The plan's targets" defines what each counts."""
    at = _where(conn, user, school, ward)
    try:
        return report.indicators(conn, at=at, now=dt.datetime.now(dt.UTC), tz=ctx.tz,
                                 month=_month(month))
    except KpiNotFoundError as exc:
        raise _not_found(exc) from exc


@router.get("/kpi/export", response_class=Response, responses=NOT_FOUND | {
    200: {"description": "The XLSX file", "content": {XLSX: {"schema": {
        "type": "string", "format": "binary"}}}}})
def export_kpi(ctx: ContextDep, conn: ConnDep, user: CurrentUser,
               format: Annotated[Literal["xlsx"], Query(description="xlsx")] = "xlsx",
               school: SchoolQuery = None, ward: WardQuery = None,
               month: MonthQuery = None) -> Any:
    """The yearly report to the city, in Vietnamese: one row per indicator of the scope
    and of every ward and school in it, with target, deadline, value and counts."""
    at = _where(conn, user, school, ward)
    now = dt.datetime.now(dt.UTC)
    try:
        body, name = export.xlsx(conn, at=at, now=now, tz=ctx.tz, month=_month(month))
    except KpiNotFoundError as exc:
        raise _not_found(exc) from exc
    return Response(content=body, media_type=XLSX,
                    headers={"Content-Disposition": attachment(f"{name}.{format}")})

