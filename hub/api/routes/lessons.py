"""Lesson attendance: a class's lesson register, one pupil's lesson corrections and a
school's "in school, not in class" list (hub/attendance/lessons.py).

A school-scoped account sees only its own school: another school's class is a 404, as
for one that does not exist. Registers name pupils, so a facility manager gets 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from hub.access import PERSON_ROLES
from hub.accounts.auth import User
from hub.api.deps import ID_PATTERN, ConnDep, ContextDep, CurrentUser, Day
from hub.api.responses import AUTHED, FORBIDDEN, NOT_FOUND, Responses, attachment, downloads
from hub.attendance import labels, lessons
from hub.attendance.corrections import CorrectionForbiddenError
from hub.attendance.export import MEDIA_TYPES, ExportFormat, to_csv, to_xlsx
from hub.attendance.lessons_labels import lesson_words
from hub.attendance.reports import NotFoundError

router = APIRouter(prefix="/api/v1/attendance", tags=["attendance"], responses=AUTHED)

STUDENT_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ROLE_403: Responses = {403: {"description": "A role that sees no registers"}}


class LessonCorrectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["present", "late", "absent", "excused"]
    reason: str = Field(min_length=1, max_length=500)


class LessonCorrectionPublic(BaseModel):
    id: int
    student: str
    date: dt.date
    lesson_id: int
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str
    corrected_by: str
    corrected_at: dt.datetime


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _require_person_role(user: User) -> None:
    if user.role not in PERSON_ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "registers are not for this role")


def _visible(user: User, school: str) -> bool:
    return not user.school_scoped or user.school_id == school


@router.get("/lessons", response_model=lessons.LessonRegister,
            responses=NOT_FOUND | downloads() | ROLE_403)
def read_lessons(
    ctx: ContextDep,
    conn: ConnDep,
    user: CurrentUser,
    class_id: Annotated[int, Query(ge=1, le=2**62)],
    date: Annotated[Day | None, Query(description="YYYY-MM-DD; default today")] = None,
    format: Annotated[ExportFormat, Query(description="json (default), csv or xlsx")] = "json",
    lang: Annotated[labels.Lang, Query(description="csv/xlsx words: vi or en")] = "vi",
) -> Any:
    """The class's lessons of the date (its timetable on that weekday, if the school
    calendar counts the date), each pupil's status in each: present, late, absent,
    excused, pending (before the lesson's cutoff) or no-school, with the first sighting
    at the room's door and the flags (``in-school-not-in-class``, ``no-gate-entry``,
    ``after-cutoff``, ``corrected``, ``day-excused``)."""
    _require_person_role(user)
    now = _now()
    day = date or now.astimezone(ctx.tz).date()
    try:
        register = lessons.lesson_register(conn, class_id=class_id, day=day, tz=ctx.tz, now=now)
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    if not _visible(user, register.school):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"class {class_id} not found")
    if format == "json":
        return register
    columns, rows = lessons.lesson_table(register, ctx.tz)
    columns, rows, heading = lesson_words(columns, rows, lang, name=register.class_name,
                                          day=day)
    name = f"diem-danh-tiet-hoc-{register.class_name}-{day}"
    body = (to_csv(columns, rows) if format == "csv"
            else to_xlsx(columns, rows, title=name, heading=heading))
    return Response(content=body, media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": attachment(f"{name}.{format}")})


@router.get("/lessons/not-in-class", response_model=list[lessons.NotInClassRow],
            responses=ROLE_403)
def read_not_in_class(
    ctx: ContextDep,
    conn: ConnDep,
    user: CurrentUser,
    school: Annotated[str, Query(pattern=ID_PATTERN, description="The school's code")],
    date: Annotated[Day | None, Query(description="YYYY-MM-DD; default today")] = None,
) -> list[lessons.NotInClassRow]:
    """Pupils who entered through the gate and were not in a lesson by its cutoff, the
    date's lessons so far. Another school's list, for a school-scoped account, is empty."""
    _require_person_role(user)
    now = _now()
    day = date or now.astimezone(ctx.tz).date()
    if not _visible(user, school):
        return []
    return lessons.not_in_class(conn, school=school, day=day, tz=ctx.tz, now=now)


@router.post("/lessons/{lesson_id}/{student_code}/{day}/correction",
             response_model=LessonCorrectionPublic, status_code=status.HTTP_201_CREATED,
             responses=FORBIDDEN | NOT_FOUND)
def create_lesson_correction(
    ctx: ContextDep,
    conn: ConnDep,
    user: CurrentUser,
    lesson_id: Annotated[int, Path(ge=1, le=2**62)],
    student_code: Annotated[str, Path(pattern=STUDENT_CODE_PATTERN)],
    day: Day,
    body: LessonCorrectionCreate,
) -> LessonCorrectionPublic:
    """Set a pupil's status in one lesson with a reason: the class's teacher, a school
    admin of the pupil's school or a district admin, as for the daily register. Audited."""
    try:
        result = lessons.correct_lesson(conn, student_code=student_code, lesson_id=lesson_id,
                                        day=day, status=body.status, reason=body.reason,
                                        user=user, tz=ctx.tz, now=_now())
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except CorrectionForbiddenError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return LessonCorrectionPublic(
        id=result.id, student=result.student, date=result.day, lesson_id=result.lesson_id,
        before=result.before, after=result.after, reason=result.reason,
        corrected_by=result.corrected_by, corrected_at=result.corrected_at)
