"""Records import and export (the education database's lists), a pupil's record card and
their guardians' contacts (how parents are notified).

Only district admins, and school admins within their school, see or change these: they
carry national identifiers of children and parents' phone numbers.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Final, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile, status
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from hub.access import may_manage
from hub.accounts.auth import User
from hub.api.deps import ID_PATTERN, ConnDep, ContextDep, CurrentUser
from hub.api.responses import AUTHED, CONFLICT, FORBIDDEN, NOT_FOUND, TOO_LARGE, InvalidPublic
from hub.models import ApiModel
from hub.records.cells import MAX_ADDRESS_LEN, MAX_NAME_LEN, Channel, GuardianRelation, parse_name
from hub.records.consent import Person, find_person
from hub.records.guardians import parent_year_problem, parse_contact
from hub.records.identifiers import MAX_BIRTH_YEAR, MIN_BIRTH_YEAR

router = APIRouter(prefix="/api/v1", tags=["records"],
                   responses=AUTHED | FORBIDDEN | NOT_FOUND)

# A district's largest school lists about 2,000 pupils: a few hundred kB as XLSX.
MAX_IMPORT_BYTES: Final = 20 * 1024 * 1024
_MEDIA: Final = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
KindParam = Literal["students", "staff", "cards", "guardians"]
# Guardian ids are bigint identities: a larger path value is a 422, not a database error.
_MAX_ID: Final = 2**63 - 1
_MAX_PHONE_LEN: Final = 32
# Person codes are short printable identifiers: a bound in the schema, so a megabyte path
# segment is a 422 before any query.
MAX_CODE_LEN: Final = 64
CodePath = Annotated[str, PathParam(min_length=1, max_length=MAX_CODE_LEN)]


class ImportReportPublic(ApiModel):
    file: str
    kind: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    classes_created: int
    written: bool
    errors: list[str]  # FILE:ROW:COLUMN: reason
    # FILE:ROW:COLUMN: warning: text; something unexpected that was imported all the same
    warnings: list[str] = Field(default_factory=list)
    # full_roster: active pupils the file does not name, marked as left if leavers_marked
    # (else, in a dry run or with errors, who would be)
    leavers: list[str] = Field(default_factory=list)
    leavers_marked: bool = False


class GuardianPublic(ApiModel):
    id: int
    full_name: str
    relation: GuardianRelation
    birth_year: int | None
    phone: str | None
    channel: Channel
    address: str | None  # Zalo user id or webhook URL
    notify: bool


class GuardianCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    relation: GuardianRelation
    full_name: str = Field(min_length=1, max_length=MAX_NAME_LEN)
    birth_year: int | None = Field(default=None, ge=MIN_BIRTH_YEAR, le=MAX_BIRTH_YEAR)
    phone: str | None = Field(default=None, max_length=_MAX_PHONE_LEN,
                              description="Mobile number: 0912 345 678, 84..., +84...")
    channel: Channel = "none"
    address: str | None = Field(default=None, max_length=MAX_ADDRESS_LEN,
                                description="Zalo user id (zalo) or http(s) URL (webhook)")
    notify: bool = True


class GuardianContactUpdate(BaseModel):
    """Only the fields sent change; ``phone`` or ``address`` null clears it."""

    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(default=None, max_length=_MAX_PHONE_LEN,
                              description="Mobile number: 0912 345 678, 84..., +84...")
    channel: Channel | None = None
    address: str | None = Field(default=None, max_length=MAX_ADDRESS_LEN,
                                description="Zalo user id (zalo) or http(s) URL (webhook)")
    notify: bool | None = None


class StudentPublic(ApiModel):
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
    # PostgreSQL refuses NUL in a text parameter (a 500); no code contains one.
    person = find_person(conn, code) if "\x00" not in code else None
    if person is None or person.kind != "student" or (
        user.school_scoped and user.school_id != person.school_id
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no pupil {code!r}")
    require_manage(user, person.school_id)
    return person


@router.post("/records/import", response_model=ImportReportPublic,
             responses=TOO_LARGE | {422: {
                 "model": ImportReportPublic | InvalidPublic,
                 "description": "Invalid rows (the report), or invalid parameters"}})
def import_records_file(
    conn: ConnDep,
    ctx: ContextDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="The export, .xlsx or .csv")],
    school: Annotated[str, Form(pattern=ID_PATTERN)],
    kind: Annotated[KindParam, Form()] = "students",
    skip_invalid: Annotated[bool, Form()] = False,
    dry_run: Annotated[bool, Form()] = False,
    full_roster: Annotated[bool, Form(
        description="The file lists every pupil of the school: the active pupils it does "
        "not name are marked as left. Send it with dry_run first to see who.")] = False,
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
            today=dt.datetime.now(ctx.tz).date(), changed_by=user.username,
            skip_invalid=skip_invalid, dry_run=dry_run, full_roster=full_roster,
        )
    except UnknownSchool as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except ValueError as exc:  # a full roster of anything but students
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    body = ImportReportPublic(
        file=report.file, kind=report.kind, rows=report.rows, inserted=report.inserted,
        updated=report.updated, unchanged=report.unchanged,
        classes_created=report.classes_created, written=report.written, errors=report.lines(),
        warnings=report.warning_lines(), leavers=report.leavers,
        leavers_marked=report.leavers_marked and report.written,
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
    from hub.records.export import export_rows
    from hub.records.tables import write_rows
    from hub.records.writer import load_school

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
def read_student(conn: ConnDep, user: CurrentUser, code: CodePath) -> StudentPublic:
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
        "select id, full_name, relation, birth_year, phone, channel, address, notify"
        " from guardians where student_id = %s order by relation, id",
        (person.id,),
    ).fetchall()
    return StudentPublic(
        code=row[0], school=row[1], class_name=row[2], full_name=row[3], birth_date=row[4],
        gender=row[5], personal_id=row[6], moet_id=row[7], active=row[8],
        face_encodings=row[9],
        guardians=[_guardian(g) for g in guardians],
    )


def _guardian(row: tuple[object, ...]) -> GuardianPublic:
    # Every query selects the columns in GuardianPublic's field order.
    return GuardianPublic.model_validate(dict(zip(GuardianPublic.model_fields, row, strict=True)))


def _contact_or_422(channel: Channel, phone: str | None,
                    address: str | None) -> tuple[str | None, str | None]:
    parsed_phone, parsed_address, problems = parse_contact(channel, phone, address)
    if problems:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "; ".join(problems))
    return parsed_phone, parsed_address


@router.post("/students/{code}/guardians", response_model=GuardianPublic,
             status_code=status.HTTP_201_CREATED, responses=CONFLICT)
def create_guardian(conn: ConnDep, user: CurrentUser, code: CodePath,
                    body: GuardianCreate) -> GuardianPublic:
    """Add a guardian with their contact; 409 when the pupil already has them (or already
    has a father / mother of another name: parents' names come from the student list)."""
    from hub.records.writer import match_guardian

    person = person_for(conn, user, code)
    try:
        name = parse_name(body.full_name)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"full_name: {exc}") from None
    too_young = person.birth_date and parent_year_problem(body.relation, body.birth_year,
                                                          person.birth_date.year)
    if too_young:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"birth_year: {too_young}")
    phone, address = _contact_or_422(body.channel, body.phone, body.address)
    with conn.transaction():
        match = match_guardian(conn, person.id, body.relation, name)
        if match is not None:
            raise HTTPException(status.HTTP_409_CONFLICT, match if isinstance(match, str) else
                                f"guardian {match} is already recorded: PATCH it")
        row = conn.execute(
            "insert into guardians (student_id, full_name, relation, birth_year, phone,"
            " channel, address, notify) values (%s, %s, %s, %s, %s, %s, %s, %s)"
            " on conflict (student_id, relation, full_name) do nothing"
            " returning id, full_name, relation, birth_year, phone, channel, address, notify",
            (person.id, name, body.relation, body.birth_year, phone, body.channel, address,
             body.notify),
        ).fetchone()
    if row is None:  # added by a concurrent request after the lookup
        raise HTTPException(status.HTTP_409_CONFLICT, "guardian is already recorded")
    return _guardian(row)


@router.patch("/students/{code}/guardians/{guardian_id}", response_model=GuardianPublic)
def update_guardian_contact(
    conn: ConnDep, user: CurrentUser, code: CodePath,
    guardian_id: Annotated[int, PathParam(ge=1, le=_MAX_ID)],
    body: GuardianContactUpdate,
) -> GuardianPublic:
    """Set how a guardian is notified: phone, channel (none, sms, zalo, webhook), address
    (Zalo user id or webhook URL), notify. The result must be deliverable: SMS needs a
    mobile number, Zalo a Zalo user id, a webhook an http(s) URL (422 otherwise)."""
    person = person_for(conn, user, code)
    sent = body.model_fields_set
    if ("channel" in sent and body.channel is None) or ("notify" in sent and body.notify is None):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "channel and notify cannot be null (channel 'none' stops messages)")
    with conn.transaction():
        row = conn.execute(
            "select id, full_name, relation, birth_year, phone, channel, address, notify"
            " from guardians where id = %s and student_id = %s for update",
            (guardian_id, person.id),
        ).fetchone()
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"no guardian {guardian_id} of pupil {code!r}")
        stored = _guardian(row)
        channel = body.channel or stored.channel
        phone, address = _contact_or_422(
            channel,
            body.phone if "phone" in sent else stored.phone,
            body.address if "address" in sent else stored.address,
        )
        notify = stored.notify if body.notify is None else body.notify
        updated = conn.execute(
            "update guardians set phone = %s, channel = %s, address = %s, notify = %s"
            " where id = %s"
            " returning id, full_name, relation, birth_year, phone, channel, address, notify",
            (phone, channel, address, notify, guardian_id),
        ).fetchone()
    assert updated is not None  # locked above
    return _guardian(updated)
