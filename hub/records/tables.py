"""Reading and writing the spreadsheet files (XLSX with openpyxl, CSV) as rows of text.

Everything leaves here as strings: the validators decide what a cell means, so a date or
a number typed into Excel is turned back into the text the clerk would have typed.
Written files are inert (hub/spreadsheets.py): a CSV cell escaped with a leading quote
reads back as it was, so an export re-imports unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Final

from hub.spreadsheets import csv_bytes, restore_csv_cell, xlsx_bytes

SUFFIXES: Final = (".xlsx", ".csv")
# Excel opens a CSV as UTF-8 only with the byte order mark; without it Vietnamese turns
# into mojibake on the clerk's screen.
CSV_ENCODING: Final = "utf-8-sig"
CSV_DELIMITERS: Final = ",;\t"
SHEET_TITLE: Final = "Danh sách"


class TableError(ValueError):
    """A file that cannot be read as a table at all."""


def suffix_of(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise TableError(f"{name}: expected an .xlsx or .csv file")
    return suffix


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_rows(data: bytes, name: str) -> list[list[str]]:
    """Every row of the file's first sheet, as text."""
    if suffix_of(name) == ".xlsx":
        return list(_xlsx_rows(data, name))
    try:
        text = data.decode(CSV_ENCODING)
    except UnicodeDecodeError as exc:
        raise TableError(f"{name}: not UTF-8 text (save the CSV as UTF-8)") from exc
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=CSV_DELIMITERS
        )
    except csv.Error:
        dialect = csv.excel
    return [[restore_csv_cell(cell) for cell in row]
            for row in csv.reader(io.StringIO(text, newline=""), dialect)]


def _xlsx_rows(data: bytes, name: str) -> Iterator[list[str]]:
    from zipfile import BadZipFile

    from hub.workbooks import WorkbookRefused, first_sheet_rows

    try:
        # Streamed, with the zip and the sheet's size checked (hub/workbooks.py).
        for values in first_sheet_rows(data, name):
            yield [cell_text(v) for v in values]
    except WorkbookRefused as exc:
        raise TableError(str(exc)) from exc
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise TableError(f"{name}: not a readable .xlsx file ({exc})") from exc


def write_rows(path: Path, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    if suffix_of(path.name) == ".xlsx":
        # Text format for every cell: identifiers keep their leading zeros when the clerk
        # edits the file and saves it again. No title row: the import's own format.
        path.write_bytes(xlsx_bytes(headers, rows, sheet=SHEET_TITLE, text_only=True))
        return
    path.write_bytes(csv_bytes(headers, rows))
