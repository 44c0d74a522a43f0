"""The timetable spreadsheet: its columns (Vietnamese headers), one row -> one lesson, and the
checks between rows (a class or a room in two lessons at once). Pure: no I/O.

Every problem is a ``RowError`` (hub/records/validate.py), so a report reads
``FILE:ROW:COLUMN: reason`` exactly as the records import's does. Which classes exist is the
database's answer; the caller passes the school's class names in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from typing import Final

from hub.records.cells import clean_text
from hub.records.columns import (
    HEADER_MIN_KNOWN,
    HEADER_SEARCH_ROWS,
    Column,
    HeaderProblem,
    Layout,
    header_key,
    nfc,
)
from hub.records.validate import RowError

MAX_PERIOD: Final = 15
MAX_SUBJECT_LEN: Final = 100
MAX_TEACHER_LEN: Final = 100
MAX_ROOM_LEN: Final = 64

COLUMNS: Final = (
    Column("seq", "STT", stored=False),
    Column("class", "Lớp", required=True, aliases=("Mã lớp", "Tên lớp", "Class")),
    Column("weekday", "Thứ", required=True, aliases=("Ngày trong tuần", "Weekday")),
    Column("period", "Tiết", required=True, aliases=("Tiết học", "Period")),
    Column("start", "Bắt đầu", required=True, aliases=("Giờ bắt đầu", "Start")),
    Column("end", "Kết thúc", required=True, aliases=("Giờ kết thúc", "End")),
    Column("subject", "Môn", required=True, aliases=("Môn học", "Subject")),
    Column("teacher", "Giáo viên", aliases=("GV", "Giáo viên dạy", "Teacher")),
    Column("room", "Phòng", aliases=("Phòng học", "Room")),
)
HEADERS: Final[Mapping[str, str]] = {c.key: c.header for c in COLUMNS}

# Vietnamese counts the days of the week from Sunday as the first: "thứ hai" (the second
# day) is Monday. ISO weekdays: 1 = Monday ... 7 = Sunday.
_DAY_WORDS: Final[Mapping[str, int]] = {
    **{str(n): n - 1 for n in range(2, 8)},
    **{f"thứ {n}": n - 1 for n in range(2, 8)},
    **{f"t{n}": n - 1 for n in range(2, 8)},
    "hai": 1, "ba": 2, "tư": 3, "bốn": 3, "năm": 4, "sáu": 5, "bảy": 6,
    "thứ hai": 1, "thứ ba": 2, "thứ tư": 3, "thứ bốn": 3, "thứ năm": 4, "thứ sáu": 5,
    "thứ bảy": 6, "cn": 7, "chủ nhật": 7,
    "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7,
    "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6,
    "sunday": 7,
}
DAY_WORDS: Final[Mapping[str, int]] = {nfc(k).casefold(): v for k, v in _DAY_WORDS.items()}
DAY_LABEL: Final[Mapping[int, str]] = {1: "Thứ 2", 2: "Thứ 3", 3: "Thứ 4", 4: "Thứ 5",
                                       5: "Thứ 6", 6: "Thứ 7", 7: "Chủ nhật"}
# 7:00, 07:00, 7h00, 7h, 07.00, 7:00:00 (a time cell of a spreadsheet reads 07:00:00).
_TIME_RE: Final = re.compile(r"^(\d{1,2})\s*[:hH.]\s*(\d{2})?(?::(\d{2}))?$|^(\d{1,2})\s*[hH]$")


@dataclass(frozen=True, slots=True)
class LessonRow:
    row: int
    class_name: str
    weekday: int  # ISO
    period: int
    start: time
    end: time
    subject: str
    teacher: str | None
    room: str | None  # None: the class's own room, which the importer looks up

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.class_name.casefold(), self.weekday, self.period)


def parse_weekday(text: str) -> int:
    value = DAY_WORDS.get(clean_text(text).casefold())
    if value is None:
        raise ValueError(f"{clean_text(text)!r} is not a weekday (2 to 7, Thứ 2 ... Thứ 7, CN)")
    return value


def parse_period(text: str) -> int:
    value = clean_text(text)
    if not value.isdigit() or not 1 <= int(value) <= MAX_PERIOD:
        raise ValueError(f"{value!r} is not a period number 1 to {MAX_PERIOD}")
    return int(value)


def parse_time(text: str) -> time:
    value = clean_text(text)
    match = _TIME_RE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a time of day (HH:MM, e.g. 07:00 or 7h30)")
    hour = int(match[1] or match[4])
    minute = int(match[2] or 0)
    if match[3] is not None and int(match[3]) != 0:
        raise ValueError(f"{value!r}: a lesson starts on a whole minute")
    if hour > 23 or minute > 59:
        raise ValueError(f"{value!r} is not a time of day (00:00 to 23:59)")
    return time(hour, minute)


def _text(text: str, *, limit: int, what: str) -> str:
    value = clean_text(text)
    if not value:
        raise ValueError(f"empty: every lesson needs its {what}")
    if len(value) > limit:
        raise ValueError(f"longer than {limit} characters")
    return value


def find_header(rows: Sequence[Sequence[str]]) -> int | None:
    """0-based index of the first row naming enough timetable columns, among the first few."""
    table = _lookup()
    for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if sum(1 for cell in cells if header_key(cell) in table) >= HEADER_MIN_KNOWN:
            return index
    return None


def _lookup() -> dict[str, str]:
    return {header_key(text): c.key for c in COLUMNS for text in (c.header, *c.aliases)}


def resolve(headers: Sequence[str], *, header_row: int) -> Layout | list[HeaderProblem]:
    """Where each column is; unknown headers are refused (a misspelt "Phong" would drop
    every room without a word), as the records import does."""
    table = _lookup()
    index: dict[str, int] = {}
    header: dict[str, str] = {}
    problems: list[HeaderProblem] = []
    for position, raw in enumerate(headers):
        text = " ".join(nfc(raw).split())
        if not text:
            continue
        key = table.get(header_key(text))
        if key is None:
            known = ", ".join(c.header for c in COLUMNS)
            problems.append(HeaderProblem(text, f"unknown column (the columns are {known})"))
        elif key in index:
            problems.append(HeaderProblem(text, f"same column as {header[key]!r}"))
        else:
            index[key] = position
            header[key] = text
    problems += [HeaderProblem(c.header, "missing required column")
                 for c in COLUMNS if c.required and c.key not in index]
    return problems or Layout(header_row=header_row, index=index, header=header)


def parse_lessons(
    numbered: Sequence[tuple[int, Sequence[str]]], layout: Layout, *,
    classes: Mapping[str, str],
) -> tuple[list[LessonRow], list[RowError]]:
    """Rows -> lessons. ``classes`` maps a case-folded class name to the school's spelling;
    a class the school does not have is an error (create it with the records import)."""
    lessons: list[LessonRow] = []
    errors: list[RowError] = []
    for number, cells in numbered:
        if not any(c.strip() for c in cells):
            continue

        def cell(key: str, cells: Sequence[str] = cells) -> str:
            at = layout.index.get(key)
            return cells[at] if at is not None and at < len(cells) else ""

        def column(key: str) -> str:
            return layout.header.get(key, HEADERS[key])

        values: dict[str, object] = {}
        row_errors: list[RowError] = []
        parsers: dict[str, Callable[[str], object]] = {
            "class": lambda t: _text(t, limit=32, what="class"),
            "weekday": parse_weekday, "period": parse_period,
            "start": parse_time, "end": parse_time,
            "subject": lambda t: _text(t, limit=MAX_SUBJECT_LEN, what="subject"),
        }
        for key, parse in parsers.items():
            try:
                values[key] = parse(cell(key))
            except ValueError as exc:
                row_errors.append(RowError(number, column(key), str(exc)))
        optional: dict[str, str | None] = {}
        for key, limit in (("teacher", MAX_TEACHER_LEN), ("room", MAX_ROOM_LEN)):
            text = clean_text(cell(key))
            if len(text) > limit:
                row_errors.append(RowError(number, column(key), f"longer than {limit} characters"))
            optional[key] = text or None
        name = values.get("class")
        if isinstance(name, str) and name.casefold() not in classes:
            row_errors.append(RowError(number, column("class"),
                                       f"class {name!r} is not in this school's records "
                                       "(import the pupils list first)"))
        start, end = values.get("start"), values.get("end")
        if isinstance(start, time) and isinstance(end, time) and end <= start:
            row_errors.append(RowError(number, column("end"),
                                       f"ends at {end:%H:%M}, not after its start {start:%H:%M}"))
        if row_errors:
            errors += row_errors
            continue
        assert isinstance(name, str) and isinstance(start, time) and isinstance(end, time)
        lessons.append(LessonRow(
            row=number, class_name=classes[name.casefold()], weekday=int(str(values["weekday"])),
            period=int(str(values["period"])), start=start, end=end,
            subject=str(values["subject"]), teacher=optional["teacher"], room=optional["room"],
        ))
    return lessons, errors


def _overlap(a: LessonRow, b: LessonRow) -> bool:
    return a.weekday == b.weekday and a.start < b.end and b.start < a.end


def clashes(lessons: Sequence[LessonRow], header: Mapping[str, str]) -> list[RowError]:
    """One class in two lessons at once, a period given twice, one room holding two classes
    at once. The later row is the one reported, naming the earlier."""
    def column(key: str) -> str:
        return header.get(key, HEADERS[key])

    errors: list[RowError] = []
    seen: dict[tuple[str, int, int], LessonRow] = {}
    ordered = sorted(lessons, key=lambda x: x.row)
    for i, lesson in enumerate(ordered):
        first = seen.setdefault(lesson.key, lesson)
        if first is not lesson:
            errors.append(RowError(lesson.row, column("period"),
                                   f"{lesson.class_name} has period {lesson.period} on "
                                   f"{DAY_LABEL[lesson.weekday]} already (row {first.row})"))
            continue
        for other in ordered[:i]:
            if not _overlap(lesson, other):
                continue
            if other.class_name == lesson.class_name:
                errors.append(RowError(
                    lesson.row, column("start"),
                    f"overlaps period {other.period} of {lesson.class_name} (row {other.row}, "
                    f"{other.start:%H:%M}-{other.end:%H:%M})"))
                break
            if lesson.room is not None and other.room is not None \
                    and lesson.room.casefold() == other.room.casefold():
                errors.append(RowError(
                    lesson.row, column("room"),
                    f"room {lesson.room} holds {other.class_name} at this time (row "
                    f"{other.row}): a room's sightings must name one lesson"))
                break
    return errors
