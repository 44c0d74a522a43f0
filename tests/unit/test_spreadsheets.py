"""Exports are inert (issue 12): no text cell of a CSV or XLSX the hub writes can be
evaluated by a spreadsheet; and they carry the secretary's words and layout."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from hub.attendance.labels import localise, title
from hub.spreadsheets import csv_bytes, inert_csv_cell, restore_csv_cell, xlsx_bytes

DANGEROUS = ["=1+2", '=HYPERLINK("http://evil.example","x")', "+84912345678", "-2+3",
             "@SUM(A1:A2)", "\t=1", "\r=1", "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+84912345678", "'+84912345678"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Nguyễn Văn An", "Nguyễn Văn An"),
        ("a=b", "a=b"),  # only the first character counts
        ("", ""),
        ("'quoted", "'quoted"),  # not escaped: it starts with nothing a sheet evaluates
        (-5, -5),  # numbers are numbers
        (None, None),
    ],
)
def test_inert_csv_cell(value: object, written: object) -> None:
    assert inert_csv_cell(value) == written
    if isinstance(value, str):
        assert restore_csv_cell(str(written)) == value


def test_csv_cells_start_with_a_quote_and_read_back() -> None:
    body = csv_bytes(["Lý do"], [[v] for v in DANGEROUS]).decode("utf-8-sig")
    cells = [row[0] for row in csv.reader(io.StringIO(body, newline=""))][1:]
    assert cells == ["'" + v for v in DANGEROUS]
    assert [restore_csv_cell(c) for c in cells] == DANGEROUS


def test_xlsx_text_cells_are_strings_not_formulas() -> None:
    body = xlsx_bytes(["Lý do", "Ngày", "Giờ vào"],
                      [[v, date(2025, 9, 8), datetime(2025, 9, 8, 6, 52)] for v in DANGEROUS],
                      sheet="Sổ", title="Sổ điểm danh")
    ws = load_workbook(io.BytesIO(body)).active
    assert ws is not None
    assert ws["A1"].value == "Sổ điểm danh" and ws["A1"].font.bold
    assert ws["A2"].value == "Lý do" and ws["A2"].font.bold
    assert ws.freeze_panes == "A3"
    cells = [ws.cell(row=r, column=1) for r in range(3, 3 + len(DANGEROUS))]
    # XML reads a carriage return back as a line feed; still text.
    assert [c.value for c in cells] == [v.replace("\r", "\n") for v in DANGEROUS]
    assert {c.data_type for c in cells} == {"s"}  # 'f' would be a formula
    assert ws["B3"].number_format == "dd/mm/yyyy"
    assert ws["C3"].number_format == "dd/mm/yyyy hh:mm"
    assert ws["C3"].value == datetime(2025, 9, 8, 6, 52)
    assert ws.column_dimensions["A"].width >= len(DANGEROUS[1])


def test_text_only_sheets_keep_leading_zeros_as_text() -> None:
    ws = load_workbook(io.BytesIO(xlsx_bytes(["Số ĐDCN"], [["031214000123"]], sheet="x",
                                             text_only=True))).active
    assert ws is not None
    assert ws.freeze_panes == "A2" and ws["A2"].value == "031214000123"
    assert ws["A2"].number_format == "@"


@pytest.mark.parametrize(
    ("lang", "headers", "row"),
    [
        ("vi", ["Mã học sinh", "Trạng thái", "Ghi chú", "Ngày học"],
         ["HS001", "Có phép", "Quẹt thẻ trùng, Đã điều chỉnh", "Có"]),
        ("en", ["Student code", "Status", "Flags", "School day"],
         ["HS001", "Excused", "Corrected, Duplicate taps", "Yes"]),
    ],
)
def test_localise(lang: str, headers: list[str], row: list[object]) -> None:
    got = localise(["student", "status", "flags", "school_day"],
                   [["HS001", "excused", frozenset({"duplicate-taps", "corrected"}), True]],
                   lang)  # type: ignore[arg-type]
    # Flags are listed in the order of their codes, whatever the language.
    assert got[0] == headers
    assert got[1][0][:2] == row[:2] and got[1][0][3] == row[3]
    assert set(str(got[1][0][2]).split(", ")) == set(str(row[2]).split(", "))


def test_titles() -> None:
    assert title("register", "vi", name="6A1", day=date(2025, 9, 8)) == (
        "Sổ điểm danh lớp 6A1 ngày 08/09/2025")
    assert title("daily", "en", name=None, day=date(2025, 9, 8)) == (
        "Attendance district, 2025-09-08")
    assert title("monthly", "vi", name="thcs-a", day="2025-09") == (
        "Tỷ lệ chuyên cần thcs-a tháng 09/2025")
