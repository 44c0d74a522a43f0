"""Records import, pure part: header layout, single values, whole rows, duplicates."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import date

import pytest

from hub.records.cells import (
    class_grade,
    parse_card_status,
    parse_date,
    parse_gender,
    parse_name,
    parse_phone,
    parse_uid,
)
from hub.records.codes import STUDENT_CODE_RE, staff_code, student_code
from hub.records.columns import (
    STUDENT_COLUMNS,
    HeaderProblem,
    Layout,
    find_header_row,
    resolve_layout,
)
from hub.records.validate import RowError, StudentRecord, parse_rows

TODAY = date(2026, 11, 29)
HEADERS = [c.header for c in STUDENT_COLUMNS]
GOOD = ["1", "6A1", "0311234567", "Nguyễn Văn An", "02/01/2014", "Nam", "Kinh", "Việt Nam",
        "Hải Phòng", "Dương Kinh", "Đa Phúc", "Nguyễn Văn Bình", "1985", "Trần Thị Cúc",
        "1987", "031214000123"]


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def layout() -> Layout:
    found = resolve_layout(HEADERS, "students", {}, header_row=1)
    assert isinstance(found, Layout)
    return found


def with_(**changes: str) -> list[str]:
    row = list(GOOD)
    for header, value in changes.items():
        row[HEADERS.index(header.replace("_", " "))] = value
    return row


def one(cells: list[str], *, grades: frozenset[int] | None = None):
    return parse_rows("students", [(2, cells)], layout(), today=TODAY, grades=grades)


# --- headers -----------------------------------------------------------------------------


def test_headers_match_whatever_the_case_spacing_or_normal_form() -> None:
    messy = [nfd(h.upper()) + "  " for h in HEADERS]
    found = resolve_layout(messy, "students", {}, header_row=3)
    assert isinstance(found, Layout)
    assert found.index["full_name"] == 3
    assert found.header["full_name"] == unicodedata.normalize("NFC", "HỌ VÀ TÊN")


HEADER_CASES = [
    # (headers, mapping, problems)
    ([h for h in HEADERS if h != "Họ và tên"], {},
     [HeaderProblem("Họ và tên", "missing required column")]),
    ([*HEADERS, "Ghi chú"], {},
     [HeaderProblem("Ghi chú", "unknown column (map it, or map it to null to ignore it, "
                    "with --mapping)")]),
    ([*HEADERS, "Ghi chú"], {"Ghi chú": None}, []),
    ([h if h != "Số ĐDCN" else "So DDCN" for h in HEADERS], {"So DDCN": "personal_id"}, []),
    ([h if h != "Số ĐDCN" else "So DDCN" for h in HEADERS], {"So DDCN": "Số ĐDCN"}, []),
    ([*HEADERS, "Họ tên"], {}, [HeaderProblem("Họ tên", "same column as 'Họ và tên'")]),
]


@pytest.mark.parametrize(("headers", "mapping", "problems"), HEADER_CASES)
def test_header_layout(headers, mapping, problems) -> None:
    found = resolve_layout(headers, "students", mapping, header_row=1)
    assert (found if isinstance(found, list) else []) == problems


def test_a_mapping_to_an_unknown_column_is_refused() -> None:
    with pytest.raises(ValueError, match="not a column of students"):
        resolve_layout(HEADERS, "students", {"X": "shoe_size"}, header_row=1)


def test_the_header_row_is_found_below_a_title() -> None:
    rows = [["DANH SÁCH HỌC SINH"], ["Trường TH&THCS Đa Phúc"], [], HEADERS, GOOD]
    assert find_header_row(rows, "students", {}) == 3
    assert find_header_row([["a", "b"], GOOD], "students", {}) is None


# --- values ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("02/01/2014", date(2014, 1, 2)), ("2/1/2014", date(2014, 1, 2)),
    (" 29/02/2016 ", date(2016, 2, 29)),
])
def test_dates(text, expected) -> None:
    assert parse_date(text, today=TODAY) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("31/02/2019", "not a date of the calendar"), ("2014-01-02", "not a date dd/mm/yyyy"),
    ("01/01/1899", "not a plausible birth date"), ("01/01/2027", "not a plausible birth date"),
    ("1/1/14", "not a date dd/mm/yyyy"),
])
def test_bad_dates(text, reason) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_date(text, today=TODAY)


@pytest.mark.parametrize(("text", "expected"), [
    ("Nam", "M"), ("nam", "M"), ("Nữ", "F"), (nfd("Nữ"), "F"), (" NỮ ", "F"),
])
def test_genders(text, expected) -> None:
    assert parse_gender(text) == expected


@pytest.mark.parametrize("text", ["Trai", "Gái", "M", "Nu", ""])
def test_bad_genders(text) -> None:
    with pytest.raises(ValueError, match="is not Nam or Nữ"):
        parse_gender(text)


@pytest.mark.parametrize(("name", "grade"), [
    ("6A1", 6), ("10A2", 10), ("1B", 1), ("12A10", 12), ("Lớp Lá 1", 0), ("Lớp Mầm 3", 0),
    (nfd("Lớp Chồi 2"), 0), ("Nhà trẻ 1", 0), ("9Đ1", 9),
])
def test_class_grades(name, grade) -> None:
    assert class_grade(name) == grade


@pytest.mark.parametrize("name", ["Khối 6 lớp 1", "13A1", "0A1", "A1", "6", "Lớp 6A1"])
def test_unknown_class_formats(name) -> None:
    with pytest.raises(ValueError, match="not understood"):
        class_grade(name)


def test_names_are_nfc_with_diacritics_kept_and_spaces_collapsed() -> None:
    assert parse_name(nfd("  Nguyễn   Thị  Ánh ")) == "Nguyễn Thị Ánh"
    assert parse_name("H'Hen Niê") == "H'Hen Niê"
    for bad in ("Nguyễn Văn 2", "", "-An", "a" * 101):
        with pytest.raises(ValueError):
            parse_name(bad)


@pytest.mark.parametrize(("text", "expected"), [
    ("0912345678", "+84912345678"), ("091 234 5678", "+84912345678"),
    ("+84912345678", "+84912345678"), ("84912345678", "+84912345678"),
    ("0912.345.678", "+84912345678"),
])
def test_phones(text, expected) -> None:
    assert parse_phone(text) == expected


@pytest.mark.parametrize("text", ["912345678", "091234567", "+1 415 555 0100", "0912a45678"])
def test_bad_phones(text) -> None:
    with pytest.raises(ValueError):
        parse_phone(text)


def test_uids_and_card_states() -> None:
    assert parse_uid("04:a1:b2:c3") == "04A1B2C3"
    with pytest.raises(ValueError):
        parse_uid("XYZ")
    assert [parse_card_status(t) for t in ("Hoạt động", "Khoá", "Khóa", "Mất", "lost")] == [
        "active", "blocked", "blocked", "lost", "lost"]


def test_person_codes_are_random_and_carry_no_identifier() -> None:
    """Issue 12: a pupil's code is drawn at random, so it cannot be reproduced (by anyone,
    with or without the database) nor searched back to a MOET id or a personal id."""
    codes = {student_code("thcs-a") for _ in range(1000)}
    assert len(codes) == 1000
    for code in codes:
        match = STUDENT_CODE_RE.match(code)
        assert match is not None and match["school"] == "thcs-a"
        assert len(code) <= 64  # a person id on the wire (protocol.messages)
    # The pre-0012 derivations are gone: neither the MOET id nor a salted hash of the
    # personal id appears in any code.
    legacy = hashlib.sha256(b"smartschool/personal-id/031214000123").hexdigest()[:12]
    assert not any("0311234567" in c or legacy in c for c in codes)
    assert staff_code("thcs-a", "CB001") == "thcs-a-gv-CB001"


# --- rows --------------------------------------------------------------------------------


def test_a_good_row() -> None:
    parsed = one(GOOD)
    assert parsed.errors == []
    (record,) = parsed.records
    assert isinstance(record, StudentRecord)
    assert (record.class_name, record.grade, record.gender, record.birth_date) == (
        "6A1", 6, "M", date(2014, 1, 2))
    assert [(g.relation, g.full_name, g.birth_year) for g in record.guardians] == [
        ("father", "Nguyễn Văn Bình", 1985), ("mother", "Trần Thị Cúc", 1987)]


ROW_CASES = [
    # (changes, [(column, reason)])
    ({"Ngày_sinh": "31/02/2014"}, [("Ngày sinh", "'31/02/2014' is not a date of the calendar")]),
    ({"Số_ĐDCN": "031014000123"}, [("Số ĐDCN", "'031014000123': century-gender-mismatch")]),
    ({"Số_ĐDCN": "031314000123"}, [("Số ĐDCN", "'031314000123': century-gender-mismatch")]),
    ({"Số_ĐDCN": "031213000123"}, [("Số ĐDCN", "'031213000123': year-mismatch")]),
    ({"Số_ĐDCN": "31214000123"}, [("Số ĐDCN", "'31214000123': not-12-digits (leading zero "
                                               "lost? format the column as Text)")]),
    ({"Giới_tính": "Trai"}, [("Giới tính", "'Trai' is not Nam or Nữ")]),
    ({"Họ_và_tên": ""}, [("Họ và tên", "missing")]),
    ({"Mã_lớp": "Khối 6"}, [("Mã lớp", "class 'Khối 6' not understood: expected a grade and "
                             "a letter (6A1, 10A2) or a kindergarten group (Lớp Mầm 1, "
                             "Lớp Chồi 2, Lớp Lá 3)")]),
    ({"Mã_định_danh_Bộ_GD&ĐT": "12345"}, [("Mã định danh Bộ GD&ĐT", "'12345': not-10-digits")]),
    ({"Mã_định_danh_Bộ_GD&ĐT": "", "Số_ĐDCN": ""},
     [("Mã định danh Bộ GD&ĐT", "neither the MOET id nor the personal id is given: one is "
       "needed to recognise the pupil on the next import")]),
    ({"Năm_sinh_cha": "2010"}, [("Năm sinh cha", "2010 is too close to the pupil's birth year")]),
    ({"Họ_tên_mẹ": "", "Năm_sinh_mẹ": "1987"}, [("Họ tên mẹ", "missing (a birth year is given)")]),
    ({"Ngày_sinh": "x", "Giới_tính": "y"},
     [("Ngày sinh", "'x' is not a date dd/mm/yyyy"), ("Giới tính", "'y' is not Nam or Nữ")]),
]


@pytest.mark.parametrize(("changes", "expected"), ROW_CASES)
def test_bad_rows(changes, expected) -> None:
    parsed = one(with_(**changes))
    assert parsed.records == []
    assert parsed.errors == [RowError(2, column, reason) for column, reason in expected]


def test_a_grade_the_school_does_not_teach() -> None:
    parsed = one(GOOD, grades=frozenset({1, 2, 3, 4, 5}))
    assert parsed.errors == [RowError(2, "Mã lớp", "grade 6 is not taught at this school")]


def test_duplicates_are_reported_on_the_later_row_and_blank_rows_skipped() -> None:
    second = with_(Số_ĐDCN="031214000999")
    third = with_(**{"Mã_định_danh_Bộ_GD&ĐT": "0319999999"})
    parsed = parse_rows("students", [(2, GOOD), (3, [""] * 16), (4, second), (5, third)],
                        layout(), today=TODAY)
    assert [r.row for r in parsed.records] == [2]
    assert [e.render("f.csv") for e in parsed.errors] == [
        "f.csv:4:Mã định danh Bộ GD&ĐT: '0311234567' repeats row 2",
        "f.csv:5:Số ĐDCN: '031214000123' repeats row 2",
    ]


def test_file_level_errors_render_without_row_and_column() -> None:
    assert RowError(0, "", "not a readable .xlsx file").render("a.xlsx") == (
        "a.xlsx: not a readable .xlsx file")
