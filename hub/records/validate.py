"""Row validation of the records import: cells in, typed records or reasons out. No I/O.

Every reason is written for the school clerk who has to fix the spreadsheet, and each is
tied to a row and a column so the report reads ``FILE:ROW:COLUMN: reason``. Single cells
are read by ``hub.records.cells``; this module checks rows as a whole (the identifiers
a pupil needs, a parent's age, a guardian's reachability) and rows against each other
(an identifier repeated).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final, Generic, Literal, TypeVar

from hub.records.cells import (
    RELATION_LABEL,
    CardStatus,
    Channel,
    GuardianRelation,
    Relation,
    class_grade,
    clean_text,
    parse_address,
    parse_card_status,
    parse_channel,
    parse_date,
    parse_gender,
    parse_mobile,
    parse_name,
    parse_phone,
    parse_relation,
    parse_uid,
    parse_year,
    parse_yes_no,
)
from hub.records.columns import COLUMNS, GUARDIAN_COLUMNS, Kind, Layout
from hub.records.guardians import contact_problems, parent_year_problem
from hub.records.identifiers import (
    Gender,
    moet_id_warnings,
    validate_moet_id,
    validate_personal_id,
)

MAX_CLASS_LEN: Final = 32
MAX_POSITION_LEN: Final = 100
STAFF_CODE_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # spreadsheet row, the header counted
    column: str  # header text as in the file
    reason: str
    # A warning names something unexpected that is imported all the same.
    severity: Literal["error", "warning"] = "error"

    def render(self, file: str) -> str:
        if self.row == 0:  # the file as a whole (unreadable, no header row)
            return f"{file}: {self.reason}"
        text = f"warning: {self.reason}" if self.severity == "warning" else self.reason
        return f"{file}:{self.row}:{self.column}: {text}"


@dataclass(frozen=True, slots=True)
class GuardianRecord:
    relation: Relation
    full_name: str
    birth_year: int | None


@dataclass(frozen=True, slots=True)
class StudentRecord:
    row: int
    class_name: str
    grade: int
    full_name: str
    birth_date: date
    gender: Gender
    moet_id: str | None
    personal_id: str | None
    guardians: tuple[GuardianRecord, ...]


@dataclass(frozen=True, slots=True)
class StaffRecord:
    row: int
    staff_code: str
    full_name: str
    birth_date: date | None
    gender: Gender | None
    position: str | None
    personal_id: str | None
    moet_id: str | None
    phone: str | None


@dataclass(frozen=True, slots=True)
class CardRecord:
    row: int
    uid: str
    student: str | None
    staff: str | None
    status: CardStatus


@dataclass(frozen=True, slots=True)
class GuardianContactRecord:
    """One row of a guardians list: who the parent is, and how they are told."""

    row: int
    student: str  # MOET id or person code, as written
    pupil_name: str | None  # checked against the pupil's record when given
    relation: GuardianRelation
    full_name: str
    birth_year: int | None  # None: keep the stored year
    phone: str | None  # E.164; None clears it
    channel: Channel
    address: str | None  # Zalo user id or webhook URL; None clears it
    notify: bool | None  # None: keep the stored flag (an opt-out is never undone silently)


R = TypeVar("R", StudentRecord, StaffRecord, CardRecord, GuardianContactRecord)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Parsed(Generic[R]):
    records: list[R]
    errors: list[RowError]
    warnings: list[RowError] = field(default_factory=list)


def _personal_id_reason(pid: str, problems: list[str]) -> str:
    reason = ", ".join(problems)
    if problems == ["not-12-digits"] and len(pid) == 11 and pid.isdigit():
        # Excel turns a column of digits into numbers and drops the leading zero.
        reason += " (leading zero lost? format the column as Text)"
    return reason


# --- rows --------------------------------------------------------------------------------



class _Row:
    """One row's cells by column key, collecting every problem rather than the first."""

    def __init__(self, row: int, cells: Sequence[str], layout: Layout) -> None:
        self.row = row
        self.layout = layout
        self.values = {
            key: (cells[i] if i < len(cells) else "") for key, i in layout.index.items()
        }
        self.errors: list[RowError] = []
        self.warnings: list[RowError] = []

    def raw(self, key: str) -> str:
        return self.values.get(key, "").strip()

    def fail(self, key: str, reason: str) -> None:
        self.errors.append(RowError(self.row, self.layout.header.get(key, key), reason))

    def warn(self, key: str, reason: str) -> None:
        self.warnings.append(
            RowError(self.row, self.layout.header.get(key, key), reason, severity="warning")
        )

    def get(self, key: str, parse: Callable[[str], T], *, required: bool) -> T | None:
        text = self.raw(key)
        if not text:
            if required:
                self.fail(key, "missing")
            return None
        try:
            return parse(text)
        except ValueError as exc:
            self.fail(key, str(exc))
            return None


def _identifiers(row: _Row, birth: date | None, gender: Gender | None
                 ) -> tuple[str | None, str | None]:
    """The MOET id and the personal id of a row, each checked (the personal id against
    the birth year and gender the row gives)."""
    moet = row.raw("moet_id") or None
    if moet is not None and (problems := validate_moet_id(moet)):
        row.fail("moet_id", f"{moet!r}: {', '.join(problems)}")
    if moet is not None and (unexpected := moet_id_warnings(moet)):
        row.warn("moet_id", f"{moet!r}: {', '.join(unexpected)} (imported; MOET publishes "
                            "no id structure beyond its 10 digits)")
    pid = row.raw("personal_id") or None
    if pid is not None:
        problems = validate_personal_id(
            pid, birth_year=birth.year if birth is not None else None, gender=gender
        )
        if problems:
            row.fail("personal_id", f"{pid!r}: {_personal_id_reason(pid, problems)}")
    return moet, pid


def _student(row: _Row, today: date, grades: frozenset[int] | None) -> StudentRecord | None:
    full_name = row.get("full_name", parse_name, required=True)
    birth = row.get("birth_date", lambda t: parse_date(t, today=today), required=True)
    gender = row.get("gender", parse_gender, required=True)
    class_name = clean_text(row.raw("class"))
    grade: int | None = None
    if not class_name:
        row.fail("class", "missing")
    elif len(class_name) > MAX_CLASS_LEN:
        row.fail("class", f"longer than {MAX_CLASS_LEN} characters")
    else:
        try:
            grade = class_grade(class_name)
        except ValueError as exc:
            row.fail("class", str(exc))
        if grade is not None and grades is not None and grade not in grades:
            row.fail("class", f"grade {grade} is not taught at this school")
            grade = None
    moet, pid = _identifiers(row, birth, gender)
    if moet is None and pid is None:
        key = "moet_id" if "moet_id" in row.layout.index else "personal_id"
        row.fail(key, "neither the MOET id nor the personal id is given: one is needed to "
                      "recognise the pupil on the next import")
    guardians = []
    relations: tuple[Relation, ...] = ("father", "mother")
    for relation in relations:
        prefix = relation
        name = row.get(f"{prefix}_name", parse_name, required=False)
        year = row.get(f"{prefix}_birth_year", parse_year, required=False)
        too_young = birth is not None and parent_year_problem(relation, year, birth.year)
        if too_young:
            row.fail(f"{prefix}_birth_year", too_young)
        if year is not None and name is None and not row.raw(f"{prefix}_name"):
            row.fail(f"{prefix}_name", "missing (a birth year is given)")
        if name is not None:
            guardians.append(GuardianRecord(relation, name, year))
    if row.errors:
        return None
    assert full_name is not None and birth is not None and gender is not None
    assert grade is not None
    return StudentRecord(
        row=row.row,
        class_name=class_name,
        grade=grade,
        full_name=full_name,
        birth_date=birth,
        gender=gender,
        moet_id=moet,
        personal_id=pid,
        guardians=tuple(guardians),
    )


def _staff(row: _Row, today: date) -> StaffRecord | None:
    code = row.raw("staff_code")
    if not code:
        row.fail("staff_code", "missing")
    elif not STAFF_CODE_RE.match(code):
        row.fail("staff_code", f"{code!r}: letters, digits and ._- only, at most 32")
    full_name = row.get("full_name", parse_name, required=True)
    birth = row.get("birth_date", lambda t: parse_date(t, today=today), required=False)
    gender = row.get("gender", parse_gender, required=False)
    position = clean_text(row.raw("position")) or None
    if position is not None and len(position) > MAX_POSITION_LEN:
        row.fail("position", f"longer than {MAX_POSITION_LEN} characters")
    moet, pid = _identifiers(row, birth, gender)
    phone = row.get("phone", parse_phone, required=False)
    if row.errors:
        return None
    assert full_name is not None
    return StaffRecord(
        row=row.row,
        staff_code=code,
        full_name=full_name,
        birth_date=birth,
        gender=gender,
        position=position,
        personal_id=pid,
        moet_id=moet,
        phone=phone,
    )


def _card(row: _Row) -> CardRecord | None:
    uid = row.get("uid", parse_uid, required=True)
    status = row.get("status", parse_card_status, required=True)
    student = clean_text(row.raw("student")) or None
    staff = clean_text(row.raw("staff")) or None
    if (student is None) == (staff is None):
        key = "student" if "student" in row.layout.index else "staff"
        row.fail(key, "give exactly one of Mã học sinh and Mã cán bộ")
    if row.errors:
        return None
    assert uid is not None and status is not None
    return CardRecord(row=row.row, uid=uid, student=student, staff=staff, status=status)


def _guardian(row: _Row) -> GuardianContactRecord | None:
    student = clean_text(row.raw("student"))
    if not student:
        row.fail("student", "missing")
    pupil_name = row.get("pupil_name", parse_name, required=False)
    relation = row.get("relation", parse_relation, required=True)
    full_name = row.get("full_name", parse_name, required=True)
    birth_year = row.get("birth_year", parse_year, required=False)
    phone = row.get("phone", parse_mobile, required=False)
    channel = row.get("channel", parse_channel, required=True)
    address = row.get("address", parse_address, required=False)
    notify = row.get("notify", parse_yes_no, required=False)
    if channel is not None:
        _check_contact(row, channel, phone, address)
    if row.errors:
        return None
    assert relation is not None and full_name is not None and channel is not None
    return GuardianContactRecord(
        row=row.row, student=student, pupil_name=pupil_name, relation=relation,
        full_name=full_name, birth_year=birth_year, phone=phone, channel=channel,
        address=address, notify=notify,
    )


def _check_contact(row: _Row, channel: Channel, phone: str | None, address: str | None) -> None:
    for key, reason in contact_problems(channel, phone, address):
        if row.raw(key) and (phone if key == "phone" else address) is None:
            continue  # the cell itself is already reported as malformed
        if key in row.layout.index:
            row.fail(key, reason)
        else:
            header = next(c.header for c in GUARDIAN_COLUMNS if c.key == key)
            row.fail("channel", f"{reason} (the file has no column {header})")


def _guardian_duplicates(records: Iterable[GuardianContactRecord], errors: list[RowError],
                         layout: Layout) -> list[GuardianContactRecord]:
    """Drop a row naming the same guardian of the same pupil as an earlier row."""
    seen: dict[tuple[str, str, str], int] = {}
    kept = []
    for record in records:
        key = (record.student, record.relation, clean_text(record.full_name).casefold())
        first = seen.setdefault(key, record.row)
        if first != record.row:
            errors.append(RowError(record.row, layout.header.get("full_name", "full_name"),
                                   f"{record.full_name!r} ({RELATION_LABEL[record.relation]} "
                                   f"of {record.student}) repeats row {first}"))
        else:
            kept.append(record)
    return kept


def _duplicates(
    records: Iterable[R], errors: list[RowError], layout: Layout, keys: Mapping[str, str]
) -> list[R]:
    """Drop every record repeating an identifier of an earlier row, with an error for it."""
    seen: dict[str, dict[str, int]] = {key: {} for key in keys}
    kept = []
    for record in records:
        clash = False
        for key, attribute in keys.items():
            value = getattr(record, attribute)
            if value is None:
                continue
            first = seen[key].get(value)
            if first is not None:
                errors.append(RowError(record.row, layout.header.get(key, key),
                                       f"{value!r} repeats row {first}"))
                clash = True
            else:
                seen[key][value] = record.row
        if not clash:
            kept.append(record)
    return kept


def _blank(cells: Sequence[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def parse_rows(
    kind: Kind,
    rows: Iterable[tuple[int, Sequence[str]]],
    layout: Layout,
    *,
    today: date,
    grades: frozenset[int] | None = None,
) -> (Parsed[StudentRecord] | Parsed[StaffRecord] | Parsed[CardRecord]
      | Parsed[GuardianContactRecord]):
    """Validate the data rows (``(spreadsheet row, cells)``) of one file of ``kind``."""
    assert kind in COLUMNS
    errors: list[RowError] = []
    warnings: list[RowError] = []
    if kind == "guardians":
        guardians = []
        for number, cells in rows:
            if _blank(cells):
                continue
            row = _Row(number, cells, layout)
            contact = _guardian(row)
            errors += row.errors
            warnings += row.warnings
            if contact is not None:
                guardians.append(contact)
        kept_guardians = _guardian_duplicates(guardians, errors, layout)
        return Parsed(kept_guardians, sorted(errors, key=_order),
                      sorted(warnings, key=_order))
    if kind == "students":
        students = []
        for number, cells in rows:
            if _blank(cells):
                continue
            row = _Row(number, cells, layout)
            record = _student(row, today, grades)
            errors += row.errors
            warnings += row.warnings
            if record is not None:
                students.append(record)
        kept = _duplicates(students, errors, layout,
                           {"moet_id": "moet_id", "personal_id": "personal_id"})
        return Parsed(kept, sorted(errors, key=_order), sorted(warnings, key=_order))
    if kind == "staff":
        staff = []
        for number, cells in rows:
            if _blank(cells):
                continue
            row = _Row(number, cells, layout)
            person = _staff(row, today)
            errors += row.errors
            warnings += row.warnings
            if person is not None:
                staff.append(person)
        kept_staff = _duplicates(staff, errors, layout, {
            "staff_code": "staff_code", "personal_id": "personal_id", "moet_id": "moet_id"})
        return Parsed(kept_staff, sorted(errors, key=_order), sorted(warnings, key=_order))
    cards = []
    for number, cells in rows:
        if _blank(cells):
            continue
        row = _Row(number, cells, layout)
        card = _card(row)
        errors += row.errors
        warnings += row.warnings
        if card is not None:
            cards.append(card)
    kept_cards = _duplicates(cards, errors, layout, {"uid": "uid"})
    return Parsed(kept_cards, sorted(errors, key=_order), sorted(warnings, key=_order))


def _order(error: RowError) -> int:
    # Stable sort: within a row, errors keep the column order they were found in.
    return error.row
