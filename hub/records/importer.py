"""One import: read a file, validate every row, write all of it or (with skip_invalid) the
valid rows, in one transaction. Shared by the CLI and the API."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Final

import psycopg
import yaml

from hub.db import Conn
from hub.records.columns import COLUMNS, Kind, find_header_row, resolve_layout
from hub.records.leavers import active_pupils, mark_left, missing_from_roster
from hub.records.tables import TableError, read_rows
from hub.records.validate import (
    CardRecord,
    GuardianContactRecord,
    RowError,
    StaffRecord,
    StudentRecord,
    parse_rows,
)
from hub.records.writer import (
    WriteResult,
    load_school,
    write_cards,
    write_guardians,
    write_staff,
    write_students,
)
from hub.schools import grades_of

# Serialises imports into one school so two clerks' files cannot interleave their upserts.
IMPORT_LOCK_ID: Final = 0x5C5C_0005


class UnknownSchool(LookupError):
    pass


@dataclass(slots=True)
class ImportReport:
    file: str
    kind: Kind
    rows: int = 0  # data rows read (blank rows not counted)
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    classes_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)  # imported all the same
    written: bool = False  # False: the transaction was rolled back (errors, or a dry run)
    # A full roster (hub/records/leavers.py): the school's active pupils the file does not
    # name, marked as left (or, in a dry run or with errors, who would be).
    leavers: list[str] = field(default_factory=list)
    leavers_marked: bool = False  # marked inside the import's transaction: kept if written

    def lines(self) -> list[str]:
        return [error.render(self.file) for error in self.errors]

    def warning_lines(self) -> list[str]:
        return [warning.render(self.file) for warning in self.warnings]


def load_mapping(text: str) -> dict[str, str | None]:
    """A header mapping (YAML: ``header in the file: column`` or ``: null`` to ignore)."""
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in data.items()
    ):
        raise ValueError("a mapping is a YAML table of 'header in the file: column or null'")
    return dict(data)


def _check_kind(kind: str, *, full_roster: bool) -> None:
    if kind not in COLUMNS:
        raise ValueError(f"kind {kind!r}: one of {', '.join(COLUMNS)}")
    if full_roster and kind != "students":
        raise ValueError("a full roster is a list of students (--kind students)")


def _mark_missing(conn: Conn, report: ImportReport, school: str, seen: set[int], *,
                  today: date, by: str) -> None:
    """The school's active pupils a full roster does not name are marked as left, unless
    the file has errors (then ``report.leavers`` only says who would be)."""
    active = active_pupils(conn, school)
    gone = missing_from_roster(active, seen)
    report.leavers = [active[i] for i in gone]
    if gone and not report.errors:
        mark_left(conn, school, gone, day=today, by=by,
                  reason=f"not on the full roster {report.file}")
        report.leavers_marked = True


def import_records(
    conn: Conn,
    data: bytes,
    *,
    file: str,
    school: str,
    kind: Kind,
    today: date,
    changed_by: str,
    mapping: Mapping[str, str | None] | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    full_roster: bool = False,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import ``data`` (the bytes of ``file``) into ``school``; commits unless told not to.

    ``full_roster``: the file lists every pupil of the school, so the active pupils it
    does not name have left; they are marked so (cards refused, encodings deleted,
    registers kept) in the same transaction, and only when every row is valid: a row
    that failed would otherwise make its pupil look gone. ``report.leavers`` names them.

    ``conn`` must not be inside a transaction the caller wants to keep separate: the
    import is its own transaction.
    """
    _check_kind(kind, full_roster=full_roster)
    report = ImportReport(file=file, kind=kind)
    mapping = mapping or {}
    school_info = load_school(conn, school)
    if school_info is None:
        raise UnknownSchool(f"school {school!r} does not exist")
    try:
        rows = read_rows(data, file)
    except TableError as exc:
        report.errors.append(RowError(0, "", str(exc)))
        return report
    found = find_header_row(rows, kind, mapping)
    if found is None:
        expected = ", ".join(c.header for c in COLUMNS[kind] if c.required)
        report.errors.append(RowError(0, "", f"no header row found (expected {expected})"))
        return report
    layout = resolve_layout(rows[found], kind, mapping, header_row=found + 1)
    if isinstance(layout, list):
        report.errors = [RowError(found + 1, p.column, p.reason) for p in layout]
        return report

    grades = grades_of(school_info.level)
    numbered = [(found + 2 + i, cells) for i, cells in enumerate(rows[found + 1 :])]
    parsed = parse_rows(kind, numbered, layout, today=today, grades=grades)
    report.rows = sum(1 for _, cells in numbered if any(c.strip() for c in cells))
    report.errors = list(parsed.errors)
    report.warnings = list(parsed.warnings)
    # The valid rows go through the writer even when others failed, inside a transaction
    # rolled back at the end: the report then also names the rows only the database can
    # fault (an identifier held at another school, an unknown card holder) in one pass.
    if on_total:
        on_total(len(parsed.records))

    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s, hashtext(%s))", (IMPORT_LOCK_ID, school))
        result: WriteResult
        if kind == "students":
            students = [r for r in parsed.records if isinstance(r, StudentRecord)]
            result = write_students(conn, school, students, layout, progress=progress)
        elif kind == "staff":
            staff = [r for r in parsed.records if isinstance(r, StaffRecord)]
            result = write_staff(conn, school, staff, layout, progress=progress)
        elif kind == "guardians":
            contacts = [r for r in parsed.records if isinstance(r, GuardianContactRecord)]
            result = write_guardians(conn, school, contacts, layout, progress=progress)
        else:
            cards = [r for r in parsed.records if isinstance(r, CardRecord)]
            result = write_cards(conn, school, cards, layout, changed_by=changed_by,
                                 progress=progress)
        # With a rollback these counts say what the import would have done.
        report.inserted, report.updated = result.inserted, result.updated
        report.unchanged, report.classes_created = result.unchanged, result.classes_created
        report.errors = sorted(report.errors + result.errors, key=lambda e: e.row)
        if full_roster:
            _mark_missing(conn, report, school, result.seen, today=today, by=changed_by)
        if dry_run or (report.errors and not skip_invalid):
            raise psycopg.Rollback()
        report.written = True
    return report
