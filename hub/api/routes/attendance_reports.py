"""Attendance reports (class register, daily summaries, monthly rates) and corrections.

Reports answer JSON by default and ``?format=csv|xlsx`` as a download. A school-scoped
account sees only its own school: another school's class or student is a 404, the same
answer as for one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from hub.access import PERSON_ROLES
from hub.accounts.auth import User
from hub.api.deps import ID_PATTERN, ConnDep, ContextDep, CurrentUser, Day, SchoolFilterDep
from hub.api.responses import AUTHED, FORBIDDEN, NOT_FOUND, attachment, downloads
from hub.attendance import corrections, labels, reports
from hub.attendance.export import MEDIA_TYPES, ExportFormat, register_table, to_csv, to_xlsx

router = APIRouter(prefix="/api/v1/attendance", tags=["attendance"], responses=AUTHED)

FormatQuery = Annotated[ExportFormat, Query(description="json (default), csv or xlsx")]
# The words of a csv/xlsx file (headers, statuses); JSON keeps its field names.
LangQuery = Annotated[labels.Lang, Query(description="csv/xlsx words: vi (default) or en")]
STUDENT_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
# Years the district's registers can hold: anything else is a typo (or year 0, which no
# date type represents), refused with 422 before any query.
MONTH_PATTERN = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$"
DayQuery = Annotated[Day | None, Query(description="YYYY-MM-DD; default today")]


class CorrectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["present", "late", "absent", "excused"]
    reason: str = Field(min_length=1, max_length=500)


class CorrectionPublic(BaseModel):
    id: int
    student: str
    date: dt.date
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str
    corrected_by: str
    corrected_at: dt.datetime


class DailyPublic(BaseModel):
    date: dt.date
    rows: list[reports.DailyRow]


class MonthlyPublic(BaseModel):
    school: str
    month: str
    classes: list[reports.MonthlyRow]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _not_found(detail: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=detail)


def _visible(user: User, school: str) -> bool:
    return not user.school_scoped or user.school_id == school


def _require_person_role(user: User) -> None:
    # Registers name pupils: a facility manager sees equipment, not registers (issue 12).
    if user.role not in PERSON_ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "registers are not for this role")


def _download(
    fmt: ExportFormat, name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
    *, lang: labels.Lang = labels.DEFAULT_LANG, heading: str | None = None,
) -> Response:
    columns, rows = labels.localise(columns, rows, lang)
    body = (to_csv(columns, rows) if fmt == "csv"
            else to_xlsx(columns, rows, title=name, heading=heading))
    return Response(
        content=body,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": attachment(f"{name}.{fmt}")},
    )


def _table(models: Sequence[BaseModel], exclude: set[str] | None = None) -> tuple[
    list[str], list[list[Any]]
]:
    dumped = [m.model_dump(exclude=exclude) for m in models]
    columns = list(dumped[0]) if dumped else []
    return columns, [[d[c] for c in columns] for d in dumped]


@router.get("/register", response_model=reports.ClassRegister,
            responses=NOT_FOUND | downloads()
            | {403: {"description": "A role that sees no registers"}})
def read_register(
    ctx: ContextDep,
    conn: ConnDep,
    user: CurrentUser,
    class_id: Annotated[int, Query(ge=1, le=2**62)],
    date: DayQuery = None,
    format: FormatQuery = "json",
    lang: LangQuery = labels.DEFAULT_LANG,
) -> Any:
    _require_person_role(user)
    now = _now()
    day = date or now.astimezone(ctx.tz).date()
    try:
        register = reports.class_register(conn, class_id=class_id, day=day, tz=ctx.tz,
                                          now=now)
    except reports.NotFoundError as exc:
        raise _not_found(str(exc)) from exc
    if not _visible(user, register.school):
        raise _not_found(f"class {class_id} not found")
    if format == "json":
        return register
    columns, rows = register_table(register, ctx.tz)
    return _download(format, f"so-diem-danh-{register.class_name}-{day}", columns, rows,
                     lang=lang, heading=labels.title("register", lang,
                                                     name=register.class_name, day=day))


@router.get("/daily", response_model=DailyPublic, responses=downloads())
def read_daily(
    ctx: ContextDep,
    conn: ConnDep,
    schools: SchoolFilterDep,
    date: DayQuery = None,
    by_class: Annotated[bool, Query(description="One row per class (needs `school`)")] = False,
    format: FormatQuery = "json",
    lang: LangQuery = labels.DEFAULT_LANG,
) -> Any:
    """The district (or school) daily summary by the attendance rules: each school's
    late and absent cutoffs, its calendar (a holiday or weekend is ``school_day: false``
    with nobody absent), corrections applied (``excused``), and ``pending`` for a student
    not arrived before the absent cutoff. Per school for the district (or the caller's
    school), per class of one school with ``by_class``. The dashboard's district and school
    pages show these numbers; ``/summary`` is a start-time head count."""
    now = _now()
    day = date or now.astimezone(ctx.tz).date()
    if by_class and schools.school is None:
        raise HTTPException(422, "by_class needs school")
    rows: list[reports.DailyRow] = []
    if not schools.matches_nothing:
        rows = reports.daily_summary(conn, day=day, tz=ctx.tz, now=now,
                                     school=schools.school, by_class=by_class)
    if format == "json":
        return DailyPublic(date=day, rows=rows)
    columns, table = _table(rows)
    return _download(format, f"diem-danh-{schools.school or 'quan'}-{day}", columns, table,
                     lang=lang, heading=labels.title("daily", lang, name=schools.school,
                                                     day=day))


@router.get("/monthly", response_model=MonthlyPublic, responses=NOT_FOUND | downloads())
def read_monthly(
    ctx: ContextDep,
    conn: ConnDep,
    user: CurrentUser,
    school: Annotated[str, Query(pattern=ID_PATTERN)],
    month: Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM, 2000-2100")],
    format: FormatQuery = "json",
    lang: LangQuery = labels.DEFAULT_LANG,
) -> Any:
    if not _visible(user, school):
        raise _not_found(f"school {school} not found")
    try:
        rows = reports.monthly_rates(conn, school=school, month=month, tz=ctx.tz,
                                     now=_now())
    except reports.NotFoundError as exc:
        raise _not_found(str(exc)) from exc
    if format == "json":
        return MonthlyPublic(school=school, month=month, classes=rows)
    columns, table = _table(rows)
    return _download(format, f"ty-le-chuyen-can-{school}-{month}", columns, table,
                     lang=lang, heading=labels.title("monthly", lang, name=school, day=month))


def _public(result: corrections.CorrectionResult) -> CorrectionPublic:
    return CorrectionPublic(
        id=result.id, student=result.student, date=result.day, before=result.before,
        after=result.after, reason=result.reason, corrected_by=result.corrected_by,
        corrected_at=result.corrected_at,
    )


StudentPath = Annotated[str, Path(pattern=STUDENT_CODE_PATTERN)]


@router.post("/{student_code}/{day}/correction", response_model=CorrectionPublic,
             status_code=status.HTTP_201_CREATED, responses=FORBIDDEN | NOT_FOUND)
def create_correction(
    ctx: ContextDep,
    conn: ConnDep,
    user: CurrentUser,
    student_code: StudentPath,
    day: Day,
    body: CorrectionCreate,
) -> CorrectionPublic:
    """Set a day's status with a reason; the class's teacher, a school admin of the
    student's school or a district admin. Audited: who, when, before, after."""
    try:
        result = corrections.correct(conn, student_code=student_code, day=day,
                                     status=body.status, reason=body.reason, user=user,
                                     tz=ctx.tz, now=_now())
    except reports.NotFoundError as exc:
        raise _not_found(str(exc)) from exc
    except corrections.CorrectionForbiddenError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return _public(result)


@router.get("/{student_code}/{day}/corrections", response_model=list[CorrectionPublic],
            responses=NOT_FOUND
            | {403: {"description": "A role that sees no registers"}})
def read_corrections(
    conn: ConnDep, user: CurrentUser, student_code: StudentPath, day: Day
) -> list[CorrectionPublic]:
    _require_person_role(user)
    try:
        school, found = corrections.list_corrections(conn, student_code=student_code, day=day)
    except reports.NotFoundError as exc:
        raise _not_found(str(exc)) from exc
    if not _visible(user, school):
        raise _not_found(f"student {student_code} not found")
    return [_public(r) for r in found]
