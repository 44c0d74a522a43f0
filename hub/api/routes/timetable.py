"""A school's timetable: upload the spreadsheet (hub/timetable/importer.py) and read the
stored lessons."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Final

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile, status
from fastapi.responses import Response

from hub.access import may_manage
from hub.api.deps import ID_PATTERN, ConnDep, CurrentUser
from hub.api.responses import AUTHED, FORBIDDEN, NOT_FOUND, TOO_LARGE, InvalidPublic
from hub.models import ApiModel

router = APIRouter(prefix="/api/v1/timetable", tags=["timetable"], responses=AUTHED)

# A district's largest timetable (40 classes, 6 days, 10 periods) is about 100 kB as CSV.
MAX_TIMETABLE_BYTES: Final = 5 * 1024 * 1024


class TimetableReportPublic(ApiModel):
    file: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    deleted: int
    rooms_created: int
    written: bool
    # FILE:ROW:COLUMN: reason, for the clerk who fixes the spreadsheet
    errors: list[str]


class LessonPublic(ApiModel):
    id: int
    school: str
    class_id: int
    class_name: str
    weekday: int  # ISO, 1 = Monday
    period: int
    start: dt.time
    end: dt.time
    subject: str
    teacher: str | None
    room: str


@router.post("/import", response_model=TimetableReportPublic,
             responses=FORBIDDEN | NOT_FOUND | TOO_LARGE | {422: {
                 "model": TimetableReportPublic | InvalidPublic,
                 "description": "Invalid rows (the report; nothing written), or invalid "
                                "parameters"}})
def import_timetable_file(
    conn: ConnDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="The timetable, .xlsx or .csv")],
    school: Annotated[str, Form(pattern=ID_PATTERN)],
    dry_run: Annotated[bool, Form()] = False,
) -> TimetableReportPublic | Response:
    """Replace the school's timetable with the file's (a district admin or the school's
    admin). Any invalid row: nothing written, 422 with every row's FILE:ROW:COLUMN: reason.
    The same file again changes nothing."""
    from hub.timetable.importer import UnknownSchool, import_timetable

    if not may_manage(user.role, user.school_id, school):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "only a district admin or this school's admin may do this")
    data = file.file.read(MAX_TIMETABLE_BYTES + 1)
    if len(data) > MAX_TIMETABLE_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                            f"at most {MAX_TIMETABLE_BYTES // 2**20} MiB")
    name = Path(file.filename or "upload.csv").name
    try:
        report = import_timetable(conn, data, file=name, school=school, dry_run=dry_run)
    except UnknownSchool as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    body = TimetableReportPublic(
        file=report.file, rows=report.rows, inserted=report.inserted, updated=report.updated,
        unchanged=report.unchanged, deleted=report.deleted, rooms_created=report.rooms_created,
        written=report.written, errors=report.lines())
    if report.errors:
        return Response(body.model_dump_json(), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                        media_type="application/json")
    return body


@router.get("", response_model=list[LessonPublic])
def read_timetable(
    conn: ConnDep,
    user: CurrentUser,
    school: Annotated[str, Query(pattern=ID_PATTERN, description="The school's code")],
    class_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> list[LessonPublic]:
    """The school's stored lessons by class, weekday and period. Another school's, for a
    school-scoped account, is an empty list."""
    from hub.timetable.importer import load_lessons

    if user.school_scoped and user.school_id != school:
        return []
    return [LessonPublic(id=x.id, school=x.school, class_id=x.class_id,
                         class_name=x.class_name, weekday=x.weekday, period=x.period,
                         start=x.start, end=x.end, subject=x.subject, teacher=x.teacher,
                         room=x.room)
            for x in load_lessons(conn, school=school, class_id=class_id)]
