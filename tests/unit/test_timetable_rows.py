"""The timetable spreadsheet's cells and rows, as tables of cases (hub/timetable/rows.py)."""

from __future__ import annotations

from datetime import time

import pytest

from hub.records.columns import Layout
from hub.timetable.rows import (
    LessonRow,
    clashes,
    find_header,
    parse_lessons,
    parse_period,
    parse_time,
    parse_weekday,
    resolve,
)

HEADER = ["STT", "Lớp", "Thứ", "Tiết", "Bắt đầu", "Kết thúc", "Môn", "Giáo viên", "Phòng"]
CLASSES = {"6a1": "6A1", "6a2": "6A2"}


@pytest.mark.parametrize(("text", "day"), [
    ("2", 1), ("Thứ 2", 1), ("thứ hai", 1), ("THỨ BA", 2), ("Thứ 7", 6), ("7", 6),
    ("CN", 7), ("Chủ nhật", 7), ("T4", 3), ("Mon", 1), ("  thứ   năm ", 4),
    ("Thu\u031b\u0301 5", 4),  # decomposed (NFD) "Thứ 5" from some editors
])
def test_weekdays(text: str, day: int) -> None:
    assert parse_weekday(text) == day


@pytest.mark.parametrize("text", ["1", "8", "Thứ 8", "", "monday-ish"])
def test_bad_weekdays(text: str) -> None:
    with pytest.raises(ValueError, match="not a weekday"):
        parse_weekday(text)


@pytest.mark.parametrize(("text", "value"), [
    ("07:00", time(7)), ("7:05", time(7, 5)), ("7h30", time(7, 30)), ("13.45", time(13, 45)),
    ("7h", time(7)), ("07:00:00", time(7)),
])
def test_times(text: str, value: time) -> None:
    assert parse_time(text) == value


@pytest.mark.parametrize(("text", "why"), [
    ("25:00", "00:00 to 23:59"), ("7:60", "00:00 to 23:59"), ("seven", "not a time"),
    ("", "not a time"), ("7:00:30", "whole minute"), ("-1:00", "not a time"),
])
def test_bad_times(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_time(text)


@pytest.mark.parametrize(("text", "ok"), [("1", True), ("15", True), ("0", False),
                                          ("16", False), ("x", False), ("1.5", False)])
def test_periods(text: str, ok: bool) -> None:
    if ok:
        assert parse_period(text) == int(text)
    else:
        with pytest.raises(ValueError):
            parse_period(text)


def _layout(header: list[str] = HEADER) -> Layout:
    layout = resolve(header, header_row=1)
    assert isinstance(layout, Layout)
    return layout


def test_header_found_below_a_title() -> None:
    rows = [["THỜI KHOÁ BIỂU"], ["Trường THCS Hải Thành"], [], HEADER]
    assert find_header(rows) == 3


@pytest.mark.parametrize(("header", "problem"), [
    (["Lớp", "Thứ", "Tiết", "Bắt đầu", "Kết thúc"], ("Môn", "missing required column")),
    ([*HEADER, "Phong hoc"], ("Phong hoc", "unknown column")),
    ([*HEADER, "Môn học"], ("Môn học", "same column as 'Môn'")),
])
def test_header_problems(header: list[str], problem: tuple[str, str]) -> None:
    found = resolve(header, header_row=1)
    assert isinstance(found, list)
    assert any(p.column == problem[0] and problem[1] in p.reason for p in found), found


def test_english_and_upper_case_headers() -> None:
    layout = _layout(["CLASS", "weekday", "Period", "Start", "End", "Subject", "Room"])
    assert set(layout.index) == {"class", "weekday", "period", "start", "end", "subject",
                                 "room"}


def _row(cls: str = "6A1", day: str = "2", period: str = "1", start: str = "07:00",
         end: str = "07:45", subject: str = "Toán", teacher: str = "Cô Lan",
         room: str = "P101") -> list[str]:
    return ["1", cls, day, period, start, end, subject, teacher, room]


@pytest.mark.parametrize(("cells", "column", "why"), [
    (_row(start="25:00"), "Bắt đầu", "00:00 to 23:59"),
    (_row(end="06:59"), "Kết thúc", "not after its start"),
    (_row(end="07:00"), "Kết thúc", "not after its start"),
    (_row(cls="9Z9"), "Lớp", "not in this school's records"),
    (_row(cls=""), "Lớp", "empty"),
    (_row(day="8"), "Thứ", "not a weekday"),
    (_row(period="0"), "Tiết", "period number"),
    (_row(subject=" "), "Môn", "empty"),
    (_row(room="P" * 65), "Phòng", "longer than 64"),
])
def test_bad_rows(cells: list[str], column: str, why: str) -> None:
    lessons, errors = parse_lessons([(2, cells)], _layout(), classes=CLASSES)
    assert lessons == []
    assert [(e.row, e.column) for e in errors] == [(2, column)]
    assert why in errors[0].reason
    assert errors[0].render("tkb.xlsx").startswith(f"tkb.xlsx:2:{column}: ")


def test_a_good_row_and_blank_rows() -> None:
    lessons, errors = parse_lessons(
        [(2, _row(cls="6a1", day="Thứ 3", room="")), (3, ["", "", ""])], _layout(),
        classes=CLASSES)
    assert errors == []
    assert lessons == [LessonRow(2, "6A1", 2, 1, time(7), time(7, 45), "Toán", "Cô Lan", None)]


def _lesson(row: int, cls: str, period: int, start: str, end: str, room: str | None = "P101",
            day: int = 1) -> LessonRow:
    return LessonRow(row, cls, day, period, parse_time(start), parse_time(end), "Toán", None,
                     room)


@pytest.mark.parametrize(("lessons", "expected"), [
    # consecutive periods touch, they do not overlap
    ([_lesson(2, "6A1", 1, "07:00", "07:45"), _lesson(3, "6A1", 2, "07:45", "08:30")], []),
    ([_lesson(2, "6A1", 1, "07:00", "07:45"), _lesson(3, "6A1", 2, "07:30", "08:15")],
     [(3, "Bắt đầu", "overlaps period 1 of 6A1 (row 2")]),
    ([_lesson(2, "6A1", 1, "07:00", "07:45"), _lesson(3, "6A1", 1, "09:00", "09:45")],
     [(3, "Tiết", "has period 1 on Thứ 2 already (row 2)")]),
    ([_lesson(2, "6A1", 1, "07:00", "07:45"), _lesson(3, "6A2", 1, "07:00", "07:45")],
     [(3, "Phòng", "room P101 holds 6A1")]),
    # same times, other rooms or other days: fine
    ([_lesson(2, "6A1", 1, "07:00", "07:45"), _lesson(3, "6A2", 1, "07:00", "07:45", "P102")],
     []),
    ([_lesson(2, "6A1", 1, "07:00", "07:45"), _lesson(3, "6A1", 1, "07:00", "07:45", day=2)],
     []),
])
def test_clashes(lessons: list[LessonRow], expected: list[tuple[int, str, str]]) -> None:
    found = clashes(lessons, {})
    assert [(e.row, e.column) for e in found] == [(r, c) for r, c, _ in expected]
    for error, (_, _, why) in zip(found, expected, strict=True):
        assert why in error.reason
