"""Spreadsheet files the hub hands out (XLSX and CSV), made inert and readable.

Inert: a text cell that a spreadsheet could evaluate (starting with = + - @, a tab or a
carriage return: the OWASP CSV-injection list) never becomes a formula. In XLSX every text
cell is written as a string cell, whatever it starts with (openpyxl would otherwise store
"=..." as a formula); in CSV such a cell is prefixed with a single quote, which the
records import removes again (``restore_csv_cell``), so an export still re-imports
unchanged.

Readable, as a school secretary expects: an optional title row, a bold header row that
stays in view (frozen), column widths from the content, dates as dd/mm/yyyy.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Final

FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")
CSV_QUOTE: Final = "'"
# Excel opens a CSV as UTF-8 only with the byte order mark; without it Vietnamese turns
# into mojibake on the clerk's screen.
CSV_BOM: Final = "\ufeff"
DATE_FORMAT: Final = "dd/mm/yyyy"
DATETIME_FORMAT: Final = "dd/mm/yyyy hh:mm"
TEXT_FORMAT: Final = "@"
SHEET_NAME_MAX: Final = 31  # Excel's limit
MIN_WIDTH: Final = 6
MAX_WIDTH: Final = 60


def inert_csv_cell(value: object) -> object:
    """A CSV cell a spreadsheet will show as typed, never evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return CSV_QUOTE + value
    return value


def restore_csv_cell(text: str) -> str:
    """The value ``inert_csv_cell`` escaped (other text is left as it is)."""
    if text.startswith(CSV_QUOTE) and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


def csv_bytes(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 with a BOM; None is an empty cell."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([inert_csv_cell(h) for h in headers])
    for row in rows:
        writer.writerow(["" if v is None else inert_csv_cell(v) for v in row])
    return (CSV_BOM + buf.getvalue()).encode("utf-8")


def _shown(value: object) -> str:
    if isinstance(value, datetime):
        return "00/00/0000 00:00"
    if isinstance(value, date):
        return "00/00/0000"
    return "" if value is None else str(value)


def column_widths(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[float]:
    """Widths (in characters) that show each column's longest value, within bounds."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, value in enumerate(row):
            longest = max((len(line) for line in _shown(value).splitlines()), default=0)
            if i < len(widths):
                widths[i] = max(widths[i], longest)
            else:
                widths.append(longest)
    return [float(min(MAX_WIDTH, max(MIN_WIDTH, w + 2))) for w in widths]


def xlsx_bytes(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    sheet: str,
    title: str | None = None,
    text_only: bool = False,
) -> bytes:
    """One sheet: ``title`` (if given) in the first row, then the headers, then the rows.

    ``text_only`` formats every cell as Text, so identifiers keep their leading zeros when
    the clerk edits the file and saves it again (the records' own format)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    ws = book.create_sheet(title=sheet[:SHEET_NAME_MAX])
    for i, width in enumerate(column_widths(headers, rows), 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A3" if title else "A2"  # everything above the first data row

    def cell(value: Any, *, bold: bool = False, size: float | None = None) -> Any:
        if isinstance(value, datetime):
            # Spreadsheets have no time zones: the wall time the caller chose.
            value = value.replace(tzinfo=None)
        c = WriteOnlyCell(ws, value=value)
        if isinstance(value, str):
            c.data_type = "s"  # never a formula, whatever the text starts with
        if isinstance(value, datetime):
            c.number_format = DATETIME_FORMAT
        elif isinstance(value, date):
            c.number_format = DATE_FORMAT
        elif text_only:
            c.number_format = TEXT_FORMAT
        if bold or size:
            c.font = Font(bold=bold, size=size)
        return c

    if title:
        ws.append([cell(title, bold=True, size=14)])
    ws.append([cell(h, bold=True) for h in headers])
    for row in rows:
        ws.append([cell(v) for v in row])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
