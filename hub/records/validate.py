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
from urllib.parse import urlsplit

from hub.records.columns import COLUMNS, GUARDIAN_COLUMNS, Kind, Layout, nfc
from hub.records.identifiers import (
    MAX_BIRTH_YEAR,
    MIN_BIRTH_YEAR,
    Gender,
    validate_moet_id,
    validate_personal_id,
)

CardStatus = Literal["active", "blocked", "lost"]
Relation = Literal["father", "mother"]
GuardianRelation = Literal["father", "mother", "guardian", "other"]
Channel = Literal["none", "webhook", "zalo", "sms"]
ContactField = Literal["phone", "address"]

MAX_NAME_LEN: Final = 100
MAX_CLASS_LEN: Final = 32
MAX_POSITION_LEN: Final = 100
# A webhook URL with a long token in its query string still fits; anything longer is junk.
MAX_ADDRESS_LEN: Final = 500
# Mobile numbers since the 2018 renumbering: +84 then 3, 5, 7, 8 or 9 and 8 more digits.
MOBILE_PREFIXES: Final = frozenset("35789")
# A parent younger than this at the child's birth is a typo in one of the two years.
MIN_PARENT_AGE: Final = 12
# Cards: 4, 7 or 10-byte ISO 14443 UIDs, and anything else the schema allows.
UID_RE: Final = re.compile(r"^[0-9A-F]{2,32}$")
STAFF_CODE_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_DATE_RE: Final = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_YEAR_RE: Final = re.compile(r"^\d{4}$")
# Zalo OA user ids are long digit strings; gateways in front of Zalo use their own ids.
_ZALO_ID_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PHONE_SEPARATORS: Final = re.compile(r"[\s.\-()]")
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
RELATION_LABEL: Final[Mapping[GuardianRelation, str]] = {
    "father": "Cha",
    "mother": nfc("Mẹ"),
    "guardian": nfc("Người giám hộ"),
    "other": nfc("Khác"),
}
_RELATION_SYNONYMS: Final[Mapping[GuardianRelation, tuple[str, ...]]] = {
    "father": ("Cha", "Bố", "Ba", "father"),
    "mother": ("Mẹ", "Má", "mother"),
    "guardian": ("Người giám hộ", "Giám hộ", "guardian"),
    "other": ("Khác", "other"),
}
RELATION_WORDS: Final[Mapping[str, GuardianRelation]] = {
    nfc(word).casefold(): relation
    for relation, words in _RELATION_SYNONYMS.items()
    for word in words
}
CHANNEL_LABEL: Final[Mapping[Channel, str]] = {
    "none": nfc("Không"),
    "webhook": "Webhook",
    "zalo": "Zalo",
    "sms": "SMS",
}
_CHANNEL_SYNONYMS: Final[Mapping[Channel, tuple[str, ...]]] = {
    "none": ("Không", "none"),
    "webhook": ("Webhook",),
    "zalo": ("Zalo",),
    "sms": ("SMS", "Tin nhắn"),
}
CHANNEL_WORDS: Final[Mapping[str, Channel]] = {
    nfc(word).casefold(): channel
    for channel, words in _CHANNEL_SYNONYMS.items()
    for word in words
}
YES_NO_LABEL: Final[Mapping[bool, str]] = {True: nfc("Có"), False: nfc("Không")}
YES_NO_WORDS: Final[Mapping[str, bool]] = {
    nfc("có"): True, "x": True, "yes": True, "true": True, "1": True,
    nfc("không"): False, "no": False, "false": False, "0": False,
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


def _word(text: str, words: Mapping[str, T], expected: str) -> T:
    """The value of a cell that must be one of a few words (any case, spacing)."""
    found = words.get(clean_text(text).casefold())
    if found is None:
        raise ValueError(f"{clean_text(text)!r} is not {expected}")
    return found


def parse_gender(text: str) -> Gender:
    return _word(text, GENDER_WORDS, "Nam or Nữ")


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


def parse_mobile(text: str) -> str:
    """A Vietnamese mobile number as E.164: SMS and Zalo reach mobiles, not landlines.

    Accepts 0xxxxxxxxx, 84xxxxxxxxx and +84xxxxxxxxx with spaces, dots or dashes.
    """
    shown = text.strip()
    digits = _PHONE_SEPARATORS.sub("", text)
    if digits.isascii() and digits.isdigit():
        if len(digits) == 9 and digits[0] in MOBILE_PREFIXES:
            # Excel turns a column of digits into numbers and drops the leading zero.
            raise ValueError(f"{shown!r}: leading zero lost? format the column as Text")
        if len(digits) == 11 and digits.startswith("01"):
            raise ValueError(f"{shown!r} is an old 11-digit mobile number: use the 10-digit "
                             "one it became in 2018")
    number = parse_phone(text)
    if number[3] not in MOBILE_PREFIXES:
        raise ValueError(f"{shown!r} is not a mobile number (03, 05, 07, 08 or 09...): "
                         "SMS and Zalo reach mobile phones only")
    return number


def is_url(address: str) -> bool:
    return "://" in address


def parse_address(text: str) -> str:
    """A Zalo user id or an http(s) URL, checked for shape; which of the two the channel
    needs is ``contact_problems``' business."""
    address = text.strip()
    if len(address) > MAX_ADDRESS_LEN:
        raise ValueError(f"longer than {MAX_ADDRESS_LEN} characters")
    if not is_url(address):
        if not _ZALO_ID_RE.match(address):
            raise ValueError(f"{address!r} is neither a Zalo user id (letters, digits, - and _, "
                             "at most 64) nor an http:// or https:// URL")
        return address
    if not _http_url(address):
        raise ValueError(f"{address!r} is not an http:// or https:// URL")
    return address


def _http_url(text: str) -> bool:
    if not text.isprintable() or any(c.isspace() for c in text):
        return False
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def parse_relation(text: str) -> GuardianRelation:
    return _word(text, RELATION_WORDS, "Cha, Mẹ, Người giám hộ or Khác")


def parse_channel(text: str) -> Channel:
    return _word(text, CHANNEL_WORDS, "Zalo, SMS, Webhook or Không")


def parse_yes_no(text: str) -> bool:
    return _word(text, YES_NO_WORDS, "Có or Không")


def contact_problems(channel: Channel, phone: str | None,
                     address: str | None) -> list[tuple[ContactField, str]]:
    """Why a guardian with these (already parsed) details cannot be reached on ``channel``.

    The adapters send SMS to the phone number and Zalo messages to the Zalo user id (the
    OA API addresses users by id, not by phone), and a webhook recipient is a URL. A
    contact missing here would only surface as a failed message on the day it matters.
    """
    problems: list[tuple[ContactField, str]] = []
    if channel == "sms" and phone is None:
        problems.append(("phone", "missing: SMS needs the guardian's mobile number"))
    if channel == "zalo":
        if address is None:
            problems.append(("address", "missing: Zalo needs the guardian's Zalo user id"))
        elif is_url(address):
            problems.append(("address", f"{address!r} is a URL, not a Zalo user id"))
    if channel == "webhook":
        if address is None:
            problems.append(("address", "missing: Webhook needs an http:// or https:// URL"))
        elif not is_url(address):
            problems.append(("address", f"{address!r} is not an http:// or https:// URL"))
    return problems


def parse_contact(channel: Channel, phone: str | None, address: str | None
                  ) -> tuple[str | None, str | None, list[str]]:
    """Contact details as typed into a form (None or blank: none given): the phone as
    E.164, the address, and every problem as ``field: reason``."""
    problems: list[str] = []
    parsed_phone = parsed_address = None
    try:
        parsed_phone = parse_mobile(phone) if phone and phone.strip() else None
    except ValueError as exc:
        problems.append(f"phone: {exc}")
    try:
        parsed_address = parse_address(address) if address and address.strip() else None
    except ValueError as exc:
        problems.append(f"address: {exc}")
    if not problems:
        problems = [f"{field}: {reason}"
                    for field, reason in contact_problems(channel, parsed_phone, parsed_address)]
    return parsed_phone, parsed_address, problems


def parent_year_problem(relation: str, birth_year: int | None,
                        pupil_birth_year: int) -> str | None:
    """A parent younger than MIN_PARENT_AGE at the child's birth: a typo in a year. Other
    guardians (an elder sibling, a grandparent) can be any age."""
    if relation in ("father", "mother") and birth_year is not None \
            and birth_year > pupil_birth_year - MIN_PARENT_AGE:
        return f"{birth_year} is too close to the pupil's birth year"
    return None


def same_name(a: str, b: str) -> bool:
    """Names equal to a reader: NFC, case and spacing aside."""
    return clean_text(a).casefold() == clean_text(b).casefold()


def parse_uid(text: str) -> str:
    uid = re.sub(r"[\s:\-]", "", text).upper()
    if not UID_RE.match(uid):
        raise ValueError(f"{text.strip()!r} is not a card UID (2-32 hex digits)")
    return uid


def parse_card_status(text: str) -> CardStatus:
    return _word(text, CARD_STATUS_WORDS, "Hoạt động, Khoá or Mất")


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
    if kind == "guardians":
        guardians = []
        for number, cells in rows:
            if _blank(cells):
                continue
            row = _Row(number, cells, layout)
            contact = _guardian(row)
            errors += row.errors
            if contact is not None:
                guardians.append(contact)
        kept_guardians = _guardian_duplicates(guardians, errors, layout)
        return Parsed(kept_guardians, sorted(errors, key=_order))
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
