"""The school calendar: weekdays, holidays, make-up days, district vs school scope."""

from __future__ import annotations

from datetime import date

import pytest

from hub.attendance.calendar import CalendarEntry, SchoolCalendar, build_calendar

MON, SAT, SUN = date(2026, 11, 30), date(2026, 11, 28), date(2026, 11, 29)
TET = date(2027, 2, 8)  # a Monday


@pytest.mark.parametrize(("entries", "day", "school_day"), [
    ([], MON, True),
    ([], SAT, False),
    ([], SUN, False),
    ([CalendarEntry(TET, None, "holiday")], TET, False),
    ([CalendarEntry(SAT, None, "makeup")], SAT, True),
    ([CalendarEntry(SAT, "a", "makeup")], SAT, True),
    ([CalendarEntry(SAT, "b", "makeup")], SAT, False),  # another school's make-up day
    ([CalendarEntry(MON, "b", "holiday")], MON, True),
    # the school's own entry wins over the district's, both ways
    ([CalendarEntry(TET, None, "holiday"), CalendarEntry(TET, "a", "makeup")], TET, True),
    ([CalendarEntry(SAT, None, "makeup"), CalendarEntry(SAT, "a", "holiday")], SAT, False),
])
def test_build_calendar(entries, day, school_day) -> None:
    assert build_calendar(entries, school_id="a").is_school_day(day) is school_day


def test_saturday_schools() -> None:
    cal = build_calendar([], school_id="a", weekdays=frozenset({1, 2, 3, 4, 5, 6}))
    assert cal.is_school_day(SAT) and not cal.is_school_day(SUN)


def test_school_days_of_a_month() -> None:
    cal = SchoolCalendar(holidays=frozenset({date(2026, 11, 20)}))
    days = list(cal.school_days(date(2026, 11, 1), date(2026, 11, 30)))
    assert len(days) == 20  # 21 weekdays in November 2026 minus Teachers' Day
    assert date(2026, 11, 20) not in days
