"""Records import and export (the education database's lists) and a pupil's record card.

Only district admins, and school admins within their school, see or change these: they
carry national identifiers of children.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Final, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from hub.api.deps import ID_PATTERN, ConnDep, ContextDep, CurrentUser
from hub.auth import User
from hub.records.access import may_manage
from hub.records.consent import Person, find_person

router = APIRouter(prefix="/api/v1", tags=["records"])

# A district's largest school lists about 2,000 pupils: a few hundred kB as XLSX.
MAX_IMPORT_BYTES: Final = 20 * 1024 * 1024
_MEDIA: Final = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
KindParam = Literal["students", "staff", "cards"]


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class ImportReportPublic(_Public):
    file: str
    kind: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    classes_created: int
    written: bool
    errors: list[str]  # FILE:ROW:COLUMN: reason


class GuardianPublic(_Public):
    full_name: str
    relation: str
    birth_year: int | None
    phone: str | None
    channel: str


class StudentPublic(_Public):
    code: str
    school: str
    class_name: str | None
    full_name: str
    birth_date: dt.date
    gender: str
    personal_id: str | None
    moet_id: str | None
    active: bool
    guardians: list[GuardianPublic]
    face_encodings: int


def require_manage(user: User, school: str) -> None:
    if not may_manage(user.role, user.school_id, school):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "only a district admin or this school's admin may do this")


def person_for(conn: ConnDep, user: User, code: str) -> Person:
    """The pupil ``code``, if the caller may manage their school.

    A school-scoped caller asking about another school's pupil gets 404, as for an
    unknown code: the answer must not reveal which codes exist elsewhere.
    """
    person = find_person(conn, code)
    if person is None or person.kind != "student" or (
        user.school_scoped and user.school_id != person.school_id
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no pupil {code!r}")
    require_manage(user, person.school_id)
    return person


@router.post("/records/import", response_model=ImportReportPublic,
             responses={422: {"model": ImportReportPublic}})
def import_records_file(
    conn: ConnDep,
    ctx: ContextDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="The export, .xlsx or .csv")],
    school: Annotated[str, Form(pattern=ID_PATTERN)],
    kind: Annotated[KindParam, Form()] = "students",
    skip_invalid: Annotated[bool, Form()] = False,
    dry_run: Annotated[bool, Form()] = False,
) -> ImportReportPublic | Response:
    """Import a list; invalid rows come back as FILE:ROW:COLUMN: reason, and with any of
    them nothing is written (422) unless skip_invalid."""
    from hub.records.importer import UnknownSchool, import_records

    require_manage(user, school)
    data = file.file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                            f"at most {MAX_IMPORT_BYTES // 2**20} MiB")
    name = Path(file.filename or "upload.csv").name
    try:
        report = import_records(
            conn, data, file=name, school=school, kind=kind,
            today=dt.datetime.now(ctx.zone).date(), changed_by=user.username,
            skip_invalid=skip_invalid, dry_run=dry_run,
        )
    except UnknownSchool as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    body = ImportReportPublic(
        file=report.file, kind=report.kind, rows=report.rows, inserted=report.inserted,
        updated=report.updated, unchanged=report.unchanged,
        classes_created=report.classes_created, written=report.written, errors=report.lines(),
    )
    if report.errors and not report.written:
        return Response(body.model_dump_json(), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                        media_type="application/json")
    return body


@router.get("/records/export", response_class=Response,
            responses={200: {"content": {m: {} for m in _MEDIA.values()}}})
def export_records_file(
    conn: ConnDep,
    user: CurrentUser,
    school: Annotated[str, Query(pattern=ID_PATTERN)],
    kind: KindParam = "students",
    fmt: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "xlsx",
) -> Response:
    """A list in the import's own format."""
    from hub.records.tables import write_rows
    from hub.records.writer import export_rows, load_school

    require_manage(user, school)
    if load_school(conn, school) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"school {school!r} does not exist")
    headers, rows = export_rows(conn, school, kind)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{school}-{kind}.{fmt}"
        write_rows(path, headers, rows)
        content = path.read_bytes()
    return Response(content, media_type=_MEDIA[fmt], headers={
        "Content-Disposition": f'attachment; filename="{school}-{kind}.{fmt}"'})


@router.get("/students/{code}", response_model=StudentPublic)
def read_student(conn: ConnDep, user: CurrentUser, code: str) -> StudentPublic:
    person = person_for(conn, user, code)
    row = conn.execute(
        "select s.code, s.school_id, c.name, s.full_name, s.birth_date, s.gender,"
        " s.personal_id, s.moet_id, s.active,"
        " (select count(*) from face_enrollments e where e.student_id = s.id)"
        " from students s left join classes c on c.id = s.class_id where s.id = %s",
        (person.id,),
    ).fetchone()
    assert row is not None
    guardians = conn.execute(
        "select full_name, relation, birth_year, phone, channel from guardians"
        " where student_id = %s order by relation, id",
        (person.id,),
    ).fetchall()
    return StudentPublic(
        code=row[0], school=row[1], class_name=row[2], full_name=row[3], birth_date=row[4],
        gender=row[5], personal_id=row[6], moet_id=row[7], active=row[8],
        face_encodings=row[9],
        guardians=[GuardianPublic(full_name=g[0], relation=g[1], birth_year=g[2], phone=g[3],
                                  channel=g[4]) for g in guardians],
    )
