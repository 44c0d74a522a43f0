"""Reading an uploaded XLSX without letting it choose how much work that is.

An XLSX is a zip of XML: a few hundred kB can declare gigabytes of XML, and openpyxl pads
every row to the sheet's declared dimension (``A1:XFD1048576`` is 17 billion cells). So the
zip's members are checked (count, declared uncompressed sizes: zipfile never inflates a
member past its declared size) before openpyxl opens it, the declared dimension is ignored,
and rows are streamed (read-only mode) with caps on rows and columns. Each refusal is a
``WorkbookRefused`` naming the limit, which the records import and the equipment import
turn into a 4xx or a CLI error.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Final

# The district's largest school lists about 2,000 pupils (about 4,000 guardians): a real
# list is far from every cap; a bomb is far past them.
MAX_MEMBERS: Final = 1000
MAX_UNCOMPRESSED_BYTES: Final = 64 * 1024 * 1024
MAX_ROWS: Final = 20_000
MAX_COLUMNS: Final = 200


class WorkbookRefused(ValueError):
    """The file is over one of the limits above; the message names it."""


def check_zip(data: bytes, name: str) -> None:
    """Refuse an XLSX whose zip holds too many members or declares too much content.

    A file that is not a zip at all passes: openpyxl then says what is wrong with it.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        return
    if len(members) > MAX_MEMBERS:
        raise WorkbookRefused(
            f"{name}: {len(members)} parts in the .xlsx, the limit is {MAX_MEMBERS}")
    total = sum(m.file_size for m in members)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise WorkbookRefused(
            f"{name}: the .xlsx unpacks to {total} bytes, the limit is "
            f"{MAX_UNCOMPRESSED_BYTES} ({MAX_UNCOMPRESSED_BYTES // 2**20} MiB)")


def first_sheet_rows(data: bytes, name: str) -> Iterator[tuple[object, ...]]:
    """The first sheet's rows as cell values, streamed; trailing empty cells dropped.

    Raises ``WorkbookRefused`` past MAX_ROWS rows or MAX_COLUMNS columns, and whatever
    openpyxl raises for a damaged file.
    """
    from openpyxl import load_workbook

    check_zip(data, name)
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        # The declared dimension is the file's claim; without it openpyxl pads nothing.
        reset = getattr(sheet, "reset_dimensions", None)
        if reset is not None:
            reset()
        for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
            if number > MAX_ROWS:
                raise WorkbookRefused(f"{name}: more than {MAX_ROWS} rows, the limit")
            row = tuple(values)
            width = len(row)
            while width and row[width - 1] is None:
                width -= 1
            if width > MAX_COLUMNS:
                raise WorkbookRefused(
                    f"{name}: row {number} has {width} columns, the limit is {MAX_COLUMNS}")
            yield row[:width]
    finally:
        book.close()
