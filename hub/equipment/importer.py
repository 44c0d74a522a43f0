"""Import the asset register of one school from CSV or XLSX.

Same contract as the records import: every problem is reported as
``FILE:ROW:COLUMN: reason`` (ROW counts the header as row 1), and nothing is written
unless the whole file is valid, or ``skip_invalid`` writes the valid rows only.
Parsing and validation are pure; ``write_assets`` is the only database step.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

from hub.db import Conn
from protocol.ids import is_valid_id

TAG_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_TEXT: Final = 200
MAX_ROWS: Final = 50_000

# Canonical column -> accepted headers (compared case- and accent-insensitively).
COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "tag": ("tag", "ma tai san", "ma thiet bi"),
    "type": ("type", "loai"),
    "model": ("model", "model", "kieu"),
    "serial": ("serial", "so serial", "so seri"),
    "room": ("room", "phong"),
    "purchase_date": ("purchase_date", "ngay mua"),
    "warranty_end": ("warranty_end", "het bao hanh", "ngay het bao hanh"),
    "rated_lamp_hours": ("rated_lamp_hours", "tuoi tho bong den", "gio bong den dinh muc"),
    "status": ("status", "trang thai"),
    "device": ("device", "thiet bi ket noi", "device_id"),
}
REQUIRED: Final = ("tag", "type")
TYPES: Final[dict[str, str]] = {
    "projector": "projector", "may chieu": "projector", "tv": "tv", "tivi": "tv",
    "pc": "pc", "may tinh": "pc", "sensor": "sensor", "cam bien": "sensor",
    "network": "network", "thiet bi mang": "network", "other": "other", "khac": "other",
}
STATUSES: Final[dict[str, str]] = {
    "in_service": "in_service", "dang su dung": "in_service", "spare": "spare",
    "du phong": "spare", "repair": "repair", "dang sua": "repair", "sua chua": "repair",
    "retired": "retired", "thanh ly": "retired",
}


def fold(text: str) -> str:
    """Lower case without accents (đ too), for matching headers and enumerations."""
    text = unicodedata.normalize("NFD", text.strip().lower()).replace("đ", "d")
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).split())


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str
    reason: str

    def render(self, file: str) -> str:
        return f"{file}:{self.row}:{self.column}: {self.reason}"


@dataclass(frozen=True, slots=True)
class AssetRecord:
    row: int
    tag: str
    type: str
    model: str | None = None
    serial: str | None = None
    room: str | None = None
    purchase_date: date | None = None
    warranty_end: date | None = None
    rated_lamp_hours: int | None = None
    status: str = "in_service"
    device: str | None = None


@dataclass(slots=True)
class Parsed:
    records: list[AssetRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0

    @property
    def invalid_rows(self) -> set[int]:
        return {e.row for e in self.errors}


def read_table(path: Path) -> list[list[object]]:
    """Rows of cells (header first) from .csv (UTF-8, BOM tolerated) or .xlsx."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        text = path.read_bytes().decode("utf-8-sig")
        return [list(r) for r in csv.reader(io.StringIO(text))]
    if suffix == ".xlsx":
        from hub.workbooks import first_sheet_rows

        # Streamed, with the zip and the sheet's size checked (hub/workbooks.py); a
        # refusal is a ValueError naming the limit.
        return [list(r) for r in first_sheet_rows(path.read_bytes(), path.name)]
    raise ValueError(f"{path.name}: only .csv and .xlsx are read")


def _text(cell: object) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return unicodedata.normalize("NFC", str(cell)).strip()


def _date(cell: object) -> date:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    text = _text(cell)
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date dd/mm/yyyy")


def parse_rows(table: Sequence[Sequence[object]]) -> Parsed:
    """Validate every row; collect every problem, not just the first."""
    out = Parsed()
    if not table:
        out.errors.append(RowError(1, "-", "the file is empty"))
        return out
    header = [_text(h) for h in table[0]]
    where: dict[str, int] = {}
    names: dict[str, str] = {}
    for i, h in enumerate(header):
        for canon, accepted in COLUMNS.items():
            if fold(h) in accepted:
                if canon in where:
                    out.errors.append(RowError(1, h, f"duplicate column for {canon}"))
                where[canon], names[canon] = i, h
    for canon in REQUIRED:
        if canon not in where:
            out.errors.append(RowError(1, canon, "required column missing"))
    if out.errors:
        return out
    if len(table) - 1 > MAX_ROWS:
        out.errors.append(RowError(1, "-", f"more than {MAX_ROWS} rows"))
        return out
    seen: dict[str, int] = {}
    for n, raw in enumerate(table[1:], start=2):
        if all(_text(c) == "" for c in raw):
            continue  # blank lines at the end of a sheet are not rows
        out.rows += 1
        record, errors = _parse_row(raw, n, where, names, seen)
        out.errors += errors
        if record is not None:
            out.records.append(record)
    return out


def _parse_row(
    raw: Sequence[object], n: int, where: dict[str, int], names: dict[str, str],
    seen: dict[str, int],
) -> tuple[AssetRecord | None, list[RowError]]:
    errors: list[RowError] = []
    values: dict[str, Any] = {}

    def fail(canon: str, reason: str) -> None:
        errors.append(RowError(n, names.get(canon, canon), reason))

    for canon, i in where.items():
        value = raw[i] if i < len(raw) else None
        text = _text(value)
        if "\x00" in text:
            fail(canon, "contains a NUL character")
        elif len(text) > MAX_TEXT:
            fail(canon, f"longer than {MAX_TEXT} characters")
        elif text == "":
            if canon in REQUIRED:
                fail(canon, "required")
        else:
            try:
                values[canon] = _convert(canon, value, text)
            except ValueError as exc:
                fail(canon, str(exc))
    tag = values.get("tag")
    if isinstance(tag, str):
        if tag in seen:
            fail("tag", f"{tag!r} already on row {seen[tag]}")
        else:
            seen[tag] = n
    bought, ends = values.get("purchase_date"), values.get("warranty_end")
    if isinstance(bought, date) and isinstance(ends, date) and ends < bought:
        fail("warranty_end", "before the purchase date")
    if values.get("rated_lamp_hours") is not None and values.get("type") not in (
        None, "projector"
    ):
        fail("rated_lamp_hours", "only projectors have a rated lamp life")
    if errors:
        return None, errors
    return AssetRecord(row=n, **values), []


def _convert(canon: str, value: object, text: str) -> object:
    if canon == "tag":
        if not TAG_RE.match(text):
            raise ValueError(f"{text!r} is not a tag (letters, digits, . _ -, up to 64)")
        return text
    if canon == "type":
        kind = TYPES.get(fold(text))
        if kind is None:
            raise ValueError(f"{text!r} is not one of {', '.join(sorted(set(TYPES.values())))}")
        return kind
    if canon == "status":
        status = STATUSES.get(fold(text))
        if status is None:
            raise ValueError(f"{text!r} is not one of {', '.join(sorted(set(STATUSES.values())))}")
        return status
    if canon in ("purchase_date", "warranty_end"):
        return _date(value)
    if canon == "rated_lamp_hours":
        try:
            hours = int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number of hours") from None
        if not 1 <= hours <= 100_000:
            raise ValueError(f"{hours} is outside 1..100000 hours")
        return hours
    if canon == "device":
        if not is_valid_id(text):
            raise ValueError(f"{text!r} is not a device id")
        return text
    return text


def check_against_database(
    conn: Conn, parsed: Parsed, *, school: str
) -> None:
    """Problems only the database can see: devices of another school, tags of another."""
    devices = {str(d): str(s) for d, s in conn.execute("select id, school_id from devices")}
    tags = [r.tag for r in parsed.records]
    owners = {str(t): str(s) for t, s in conn.execute(
        "select tag, school_id from assets where tag = any(%s)", (tags,))}
    kept = []
    for r in parsed.records:
        problem: RowError | None = None
        if r.device is not None and devices.get(r.device) != school:
            problem = RowError(r.row, "device", f"{r.device!r} is not a device of {school}")
        elif owners.get(r.tag, school) != school:
            problem = RowError(r.row, "tag", f"{r.tag!r} belongs to {owners[r.tag]}")
        if problem:
            parsed.errors.append(problem)
        else:
            kept.append(r)
    parsed.records = kept


def write_assets(
    conn: Conn, records: Iterable[AssetRecord], *, school: str
) -> int:
    """Upsert by tag, creating missing rooms of the school (a room is only a name)."""
    n = 0
    with conn.transaction(), conn.cursor() as cur:
        for r in records:
            room_id = None
            if r.room:
                cur.execute(
                    "insert into rooms (school_id, name) values (%s, %s)"
                    " on conflict (school_id, name) do update set name = excluded.name"
                    " returning id",
                    (school, r.room),
                )
                row = cur.fetchone()
                room_id = row[0] if row else None
            cur.execute(
                """
                insert into assets (tag, type, model, serial, school_id, room_id, purchase_date,
                                    warranty_end, rated_lamp_hours, status, device_id)
                values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                on conflict (tag) do update set
                    type = excluded.type, model = excluded.model, serial = excluded.serial,
                    room_id = excluded.room_id, purchase_date = excluded.purchase_date,
                    warranty_end = excluded.warranty_end,
                    rated_lamp_hours = excluded.rated_lamp_hours, status = excluded.status,
                    device_id = excluded.device_id, updated_at = now()
                """,
                (r.tag, r.type, r.model, r.serial, school, room_id, r.purchase_date,
                 r.warranty_end, r.rated_lamp_hours, r.status, r.device),
            )
            n += 1
    return n


@dataclass(frozen=True, slots=True)
class ImportResult:
    written: int
    skipped: int
    errors: tuple[str, ...]  # rendered FILE:ROW:COLUMN: reason


def import_file(
    conn: Conn, path: Path, *, school: str, skip_invalid: bool = False
) -> ImportResult:
    if conn.execute("select 1 from schools where id = %s", (school,)).fetchone() is None:
        return ImportResult(0, 0, (f"{path.name}:-:school: unknown school {school!r}",))
    try:
        table = read_table(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return ImportResult(0, 0, (f"{path.name}:1:-: cannot read the file: {exc}",))
    except Exception as exc:  # openpyxl raises assorted errors on a damaged file
        return ImportResult(0, 0, (f"{path.name}:1:-: not a readable spreadsheet: {exc}",))
    parsed = parse_rows(table)
    if not any(e.row == 1 for e in parsed.errors):
        check_against_database(conn, parsed, school=school)
    errors = tuple(e.render(path.name) for e in sorted(parsed.errors,
                                                       key=lambda e: (e.row, e.column)))
    if errors and not skip_invalid:
        return ImportResult(0, len(parsed.invalid_rows), errors)
    written = write_assets(conn, parsed.records, school=school)
    return ImportResult(written, len(parsed.invalid_rows), errors)
