"""Row validation of the records import: cells in, typed records or reasons out. No I/O.

Every reason is written for the school clerk who has to fix the spreadsheet, and each is
tied to a row and a column so the report reads ``FILE:ROW:COLUMN: reason``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final, Generic, Literal, TypeVar

from hub.identifiers import (
    MAX_BIRTH_YEAR,
    MIN_BIRTH_YEAR,
    Gender,
    validate_moet_id,
    validate_personal_id,
)
from hub.records.columns import COLUMNS, Kind, Layout, nfc

CardStatus = Literal["active", "blocked", "lost"]
Relation = Literal["father", "mother"]

MAX_NAME_LEN: Final = 100
MAX_CLASS_LEN: Final = 32
MAX_POSITION_LEN: Final = 100
# A parent younger than this at the child's birth is a typo in one of the two years.
MIN_PARENT_AGE: Final = 12
# Cards: 4, 7 or 10-byte ISO 14443 UIDs, and anything else the schema allows.
UID_RE: Final = re.compile(r"^[0-9A-F]{2,32}$")
STAFF_CODE_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_DATE_RE: Final = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_YEAR_RE: Final = re.compile(r"^\d{4}$")
# Letters of any script, combining marks, spaces, and the apostrophe / hyphen / dot that
# appear in names of other ethnic groups and foreign pupils ("H'Hen Niê", "Y-Moan").
_NAME_RE: Final = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ '’.\-])*$")
# 6A1, 10A2, 1B: grade then a letter and an optional suffix.
_GRADE_CLASS_RE: Final = re.compile(r"^(1[0-2]|[1-9])[A-Za-zĐđ][A-Za-z0-9Đđ.\-]*$")
_KINDERGARTEN_PREFIXES: Final = tuple(
    nfc(p).casefold()
    for p in ("Lớp Mầm", "Lớp Chồi", "Lớp Lá", "Lớp Nhà trẻ", "Nhà trẻ", "Mầm", "Chồi", "Lá",
              "Mẫu giáo")
)

GENDER_WORDS: Final[Mapping[str, Gender]] = {"nam": "M", nfc("nữ"): "F"}
GENDER_LABEL: Final[Mapping[Gender, str]] = {"M": "Nam", "F": nfc("Nữ")}
CARD_STATUS_WORDS: Final[Mapping[str, CardStatus]] = {
    "active": "active",
    "blocked": "blocked",
    "lost": "lost",
    nfc("hoạt động"): "active",
    nfc("khoá"): "blocked",
    nfc("khóa"): "blocked",
    nfc("mất"): "lost",
}
CARD_STATUS_LABEL: Final[Mapping[CardStatus, str]] = {
    "active": nfc("Hoạt động"),
    "blocked": nfc("Khoá"),
    "lost": nfc("Mất"),
}


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # spreadsheet row, the header counted
    column: str  # header text as in the file
    reason: str

    def render(self, file: str) -> str:
        if self.row == 0:  # the file as a whole (unreadable, no header row)
            return f"{file}: {self.reason}"
        return f"{file}:{self.row}:{self.column}: {self.reason}"


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


R = TypeVar("R", StudentRecord, StaffRecord, CardRecord)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Parsed(Generic[R]):
    records: list[R]
    errors: list[RowError]


# --- single values -----------------------------------------------------------------------


def clean_text(text: str) -> str:
    """NFC, trimmed, inner runs of whitespace collapsed; diacritics kept as they are."""
    return " ".join(nfc(text).split())


def parse_name(text: str) -> str:
    name = clean_text(text)
    if not name:
        raise ValueError("empty")
    if len(name) > MAX_NAME_LEN:
        raise ValueError(f"longer than {MAX_NAME_LEN} characters")
    if not _NAME_RE.match(name):
        raise ValueError(f"{name!r} is not a name (letters only)")
    return name


def parse_date(text: str, *, today: date) -> date:
    match = _DATE_RE.match(text.strip())
    if not match:
        raise ValueError(f"{text.strip()!r} is not a date dd/mm/yyyy")
    day, month, year = (int(g) for g in match.groups())
    try:
        value = date(year, month, day)
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a date of the calendar") from None
    if year < MIN_BIRTH_YEAR or value > today:
        raise ValueError(f"{text.strip()!r} is not a plausible birth date")
    return value


def parse_gender(text: str) -> Gender:
    found = GENDER_WORDS.get(clean_text(text).casefold())
    if found is None:
        raise ValueError(f"{clean_text(text)!r} is not Nam or Nữ")
    return found


def parse_year(text: str) -> int:
    value = text.strip()
    if not _YEAR_RE.match(value) or not MIN_BIRTH_YEAR <= int(value) <= MAX_BIRTH_YEAR:
        raise ValueError(f"{value!r} is not a year yyyy")
    return int(value)


def class_grade(name: str) -> int:
    """The grade a class name stands for: 6A1 -> 6, 10A2 -> 10, Lớp Lá 1 -> 0."""
    text = clean_text(name)
    match = _GRADE_CLASS_RE.match(text)
    if match:
        return int(match[1])
    folded = text.casefold()
    if any(folded.startswith(prefix) for prefix in _KINDERGARTEN_PREFIXES):
        return 0
    raise ValueError(f"class {text!r} not understood: expected a grade and a letter "
                     "(6A1, 10A2) or a kindergarten group (Lớp Mầm 1, Lớp Chồi 2, Lớp Lá 3)")


def parse_phone(text: str) -> str:
    """A Vietnamese number as E.164 (+84...), the form SMS and Zalo gateways take."""
    digits = re.sub(r"[\s.\-()]", "", text)
    if digits.startswith("+84"):
        national = digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        raise ValueError(f"{text.strip()!r} is not a Vietnamese phone number")
    if len(national) != 9 or not national.isascii() or not national.isdigit():
        raise ValueError(f"{text.strip()!r} is not a Vietnamese phone number (10 digits)")
    return f"+84{national}"


def parse_uid(text: str) -> str:
    uid = re.sub(r"[\s:\-]", "", text).upper()
    if not UID_RE.match(uid):
        raise ValueError(f"{text.strip()!r} is not a card UID (2-32 hex digits)")
    return uid


def parse_card_status(text: str) -> CardStatus:
    found = CARD_STATUS_WORDS.get(clean_text(text).casefold())
    if found is None:
        raise ValueError(f"{clean_text(text)!r} is not Hoạt động, Khoá or Mất")
    return found


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

    def raw(self, key: str) -> str:
        return self.values.get(key, "").strip()

    def fail(self, key: str, reason: str) -> None:
        self.errors.append(RowError(self.row, self.layout.header.get(key, key), reason))

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
        if year is not None and birth is not None and year > birth.year - MIN_PARENT_AGE:
            row.fail(f"{prefix}_birth_year", f"{year} is too close to the pupil's birth year")
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
) -> Parsed[StudentRecord] | Parsed[StaffRecord] | Parsed[CardRecord]:
    """Validate the data rows (``(spreadsheet row, cells)``) of one file of ``kind``."""
    assert kind in COLUMNS
    errors: list[RowError] = []
    if kind == "students":
        students = []
        for number, cells in rows:
            if _blank(cells):
                continue
            row = _Row(number, cells, layout)
            record = _student(row, today, grades)
            errors += row.errors
            if record is not None:
                students.append(record)
        kept = _duplicates(students, errors, layout,
                           {"moet_id": "moet_id", "personal_id": "personal_id"})
        return Parsed(kept, sorted(errors, key=_order))
    if kind == "staff":
        staff = []
        for number, cells in rows:
            if _blank(cells):
                continue
            row = _Row(number, cells, layout)
            person = _staff(row, today)
            errors += row.errors
            if person is not None:
                staff.append(person)
        kept_staff = _duplicates(staff, errors, layout, {
            "staff_code": "staff_code", "personal_id": "personal_id", "moet_id": "moet_id"})
        return Parsed(kept_staff, sorted(errors, key=_order))
    cards = []
    for number, cells in rows:
        if _blank(cells):
            continue
        row = _Row(number, cells, layout)
        card = _card(row)
        errors += row.errors
        if card is not None:
            cards.append(card)
    kept_cards = _duplicates(cards, errors, layout, {"uid": "uid"})
    return Parsed(kept_cards, sorted(errors, key=_order))


def _order(error: RowError) -> int:
    # Stable sort: within a row, errors keep the column order they were found in.
    return error.row
