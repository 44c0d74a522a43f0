"""Tables to CSV (UTF-8 with BOM, so Excel shows Vietnamese right) and XLSX bytes, inert
(no cell can become a formula) and laid out for a secretary (hub/spreadsheets.py); the
words (headers, statuses) come from hub/attendance/labels.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Literal

from hub.spreadsheets import csv_bytes, xlsx_bytes

if TYPE_CHECKING:
    from hub.attendance.reports import ClassRegister

ExportFormat = Literal["json", "csv", "xlsx"]
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        # Spreadsheets have no time zones: local wall time, as the register is read.
        return value.replace(tzinfo=None)
    if isinstance(value, frozenset | set):
        return ", ".join(sorted(str(v) for v in value))  # one order, file after file
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return value


def to_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """A plain table (header row, then rows; no title row, so programs can read it too)."""
    return csv_bytes(columns, [[_cell(v) for v in row] for row in rows])


def to_xlsx(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str,
            heading: str | None = None) -> bytes:
    """``title`` names the sheet; ``heading``, when given, is the title row above the
    headers."""
    return xlsx_bytes(columns, [[_cell(v) for v in row] for row in rows], sheet=title,
                      title=heading)


REGISTER_COLUMNS: tuple[str, ...] = ("student", "full_name", "status", "first_in", "last_out",
                                     "flags", "correction_reason", "corrected_by")


def register_table(register: ClassRegister, tz: tzinfo) -> tuple[list[str], list[list[Any]]]:
    """A class register as export columns and rows, times in the district's wall time.

    One definition for the API's ``?format=`` export and the dashboard's buttons."""
    def local(moment: datetime | None) -> datetime | None:
        return moment.astimezone(tz) if moment is not None else None

    rows = [
        [r.student, r.full_name, r.status, local(r.first_in), local(r.last_out), r.flags,
         r.correction.reason if r.correction else None,
         r.correction.corrected_by if r.correction else None]
        for r in register.students
    ]
    return list(REGISTER_COLUMNS), rows
