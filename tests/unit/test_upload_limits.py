"""Hostile files refused before they cost memory or time: XLSX zip bombs, sheets declaring
huge dimensions, photos declaring 2^30 pixels. The files are made here, byte by byte."""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from openpyxl import Workbook

from hub.equipment.importer import read_table
from hub.records.tables import TableError, read_rows
from hub.workbooks import MAX_COLUMNS, MAX_ROWS, MAX_UNCOMPRESSED_BYTES, WorkbookRefused, check_zip

SHEET = "xl/worksheets/sheet1.xml"
SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def _workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Mã học sinh", "Họ và tên"])
    sheet.append(["HS001", "Nguyễn Văn An"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _with_sheet(write_sheet: object) -> bytes:
    """A real workbook whose first sheet is replaced by what ``write_sheet`` streams."""
    source = zipfile.ZipFile(io.BytesIO(_workbook()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename == SHEET:
                with target.open(SHEET, "w", force_zip64=True) as member:
                    write_sheet(member)  # type: ignore[operator]
            else:
                target.writestr(info, source.read(info))
    return out.getvalue()


def _bomb(member: io.BufferedWriter) -> None:
    # Highly compressible XML past the uncompressed cap, streamed so the test stays small.
    member.write(SHEET_HEAD.encode() + b"<sheetData>")
    row = b'<row><c t="inlineStr"><is><t>' + b"A" * 1000 + b"</t></is></c></row>"
    for _ in range(MAX_UNCOMPRESSED_BYTES // len(row) + 10):
        member.write(row)
    member.write(b"</sheetData></worksheet>")


def _huge_dimension(member: io.BufferedWriter) -> None:
    # Tiny, but it declares the whole grid and puts one cell in the last row.
    member.write((SHEET_HEAD + '<dimension ref="A1:XFD1048576"/><sheetData>'
                  '<row r="1"><c r="A1" t="inlineStr"><is><t>Mã</t></is></c></row>'
                  '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
                  "</sheetData></worksheet>").encode())


def _far_column(member: io.BufferedWriter) -> None:
    member.write((SHEET_HEAD + "<sheetData>"
                  '<row r="1"><c r="XFD1" t="inlineStr"><is><t>x</t></is></c></row>'
                  "</sheetData></worksheet>").encode())


def test_a_zip_bomb_is_refused_from_its_directory() -> None:
    data = _with_sheet(_bomb)
    assert len(data) < MAX_UNCOMPRESSED_BYTES // 50, "the bomb is small on the wire"
    started = time.monotonic()
    with pytest.raises(WorkbookRefused, match=f"the limit is {MAX_UNCOMPRESSED_BYTES}"):
        check_zip(data, "bomb.xlsx")
    with pytest.raises(TableError, match=r"unpacks to .* the limit is"):
        read_rows(data, "bomb.xlsx")
    assert time.monotonic() - started < 2, "refused without inflating"


def test_a_declared_dimension_is_not_padded_and_rows_are_capped() -> None:
    started = time.monotonic()
    with pytest.raises(TableError, match=f"more than {MAX_ROWS} rows"):
        read_rows(_with_sheet(_huge_dimension), "dimension.xlsx")
    assert time.monotonic() - started < 10


def test_a_cell_far_to_the_right_is_refused_naming_the_column_cap() -> None:
    with pytest.raises(TableError, match=f"the limit is {MAX_COLUMNS}"):
        read_rows(_with_sheet(_far_column), "wide.xlsx")


def test_too_many_zip_members_are_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for n in range(1001):
            archive.writestr(f"x/{n}.xml", b"")
    with pytest.raises(WorkbookRefused, match=r"parts in the \.xlsx, the limit is"):
        check_zip(out.getvalue(), "many.xlsx")


def test_an_ordinary_workbook_still_reads() -> None:
    assert read_rows(_workbook(), "ok.xlsx") == [["Mã học sinh", "Họ và tên"],
                                                ["HS001", "Nguyễn Văn An"]]


def test_the_equipment_import_refuses_a_bomb_naming_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "assets.xlsx"
    path.write_bytes(_with_sheet(_bomb))
    with pytest.raises(ValueError, match="the limit is"):
        read_table(path)


# --- photos ----------------------------------------------------------------------------


def _png(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height; the pixel data is a token few bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("width, height", [(2**15, 2**15), (10_000, 10_000)])
def test_a_photo_declaring_too_many_pixels_is_refused_from_its_header(
    width: int, height: int
) -> None:
    pytest.importorskip("cv2")
    from hub.records.faces import MAX_PIXELS, PhotoTooLarge, decode_photo

    started = time.monotonic()
    with pytest.raises(PhotoTooLarge, match=f"the limit is {MAX_PIXELS} pixels"):
        decode_photo(_png(width, height))
    assert time.monotonic() - started < 1, "nothing was decoded"


def test_a_small_photo_still_decodes() -> None:
    pytest.importorskip("cv2")
    from PIL import Image

    from hub.records.faces import decode_photo

    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, "PNG")
    image = decode_photo(out.getvalue())
    assert image is not None and image.shape[:2] == (30, 40)
    assert decode_photo(b"not an image") is None
