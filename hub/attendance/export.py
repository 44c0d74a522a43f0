"""Tables to CSV (UTF-8 with BOM, so Excel shows Vietnamese right) and XLSX bytes."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Literal

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
    if isinstance(value, list | tuple | frozenset | set):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return value


def to_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else _cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])  # Excel's limit on sheet names
    ws.append(list(columns))
    for row in rows:
        ws.append([_cell(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


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
