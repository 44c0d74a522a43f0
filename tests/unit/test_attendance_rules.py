"""The attendance rule engine as tables of cases."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.attendance.calendar import SchoolCalendar
from hub.attendance.rules import (
    FLAG_AFTER_ABSENT,
    FLAG_CLOCK_UNSYNCED,
    FLAG_CORRECTED,
    FLAG_DUPLICATES,
    FLAG_OTHER_SCHOOL,
    FLAG_OUT_WITHOUT_IN,
    LEVEL_RULES,
    GateEvent,
    Rules,
    derive_day,
    rules_for,
)
from hub.schools import LEVELS

VN = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 11, 30)  # a Monday
SATURDAY = date(2026, 11, 28)
HERE, THERE = "thcs-a", "th-b"
RULES = Rules(time(7, 0), late_after_min=0, absent_after_min=15)


def t(hh: int, mm: int, ss: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=VN)


def ev(at: datetime, direction: str = "in", *, decision: str = "granted", school: str = HERE,
       synced: bool | None = True, received: datetime | None = None) -> GateEvent:
    return GateEvent(at, direction, decision, school, synced, received or at)  # type: ignore[arg-type]


# (name, events, now, expected status, first_in, last_out, flags)
CASES = [
    ("on time", [ev(t(6, 52))], None, "present", t(6, 52), None, set()),
    ("exactly at start is on time", [ev(t(7, 0))], None, "present", t(7, 0), None, set()),
    ("one second after start is late", [ev(t(7, 0, 1))], None, "late", t(7, 0, 1), None,
     set()),
    ("late within the window", [ev(t(7, 10))], None, "late", t(7, 10), None, set()),
    ("at the absent cutoff still late, no flag", [ev(t(7, 15))], None, "late", t(7, 15),
     None, set()),
    ("after the absent cutoff: late, flagged", [ev(t(8, 30))], None, "late", t(8, 30), None,
     {FLAG_AFTER_ABSENT}),
    ("no event, day over", [], None, "absent", None, None, set()),
    ("no event before cutoff: pending", [], t(7, 5), "pending", None, None, set()),
    ("no event at cutoff: absent", [], t(7, 15), "absent", None, None, set()),
    ("no event after cutoff: absent", [], t(9, 0), "absent", None, None, set()),
    ("denied only is absent", [ev(t(6, 50), decision="denied")], None, "absent", None, None,
     set()),
    ("unknown decision ignored", [ev(t(6, 50), decision="unknown"), ev(t(7, 5))], None,
     "late", t(7, 5), None, set()),
    ("in and out", [ev(t(6, 50)), ev(t(16, 30), "out")], None, "present", t(6, 50),
     t(16, 30), set()),
    ("last out is the latest", [ev(t(6, 50)), ev(t(11, 0), "out"), ev(t(13, 0)),
                                ev(t(16, 30), "out")], None, "present", t(6, 50), t(16, 30),
     set()),
    ("duplicate taps collapsed", [ev(t(6, 50)), ev(t(6, 50, 2)), ev(t(6, 50, 40))], None,
     "present", t(6, 50), None, {FLAG_DUPLICATES}),
    ("taps a minute apart are two passages", [ev(t(6, 50)), ev(t(6, 51, 30))], None,
     "present", t(6, 50), None, set()),
    ("out without in", [ev(t(16, 30), "out")], None, "present", None, t(16, 30),
     {FLAG_OUT_WITHOUT_IN}),
    ("out before the first in", [ev(t(6, 0), "out"), ev(t(6, 50))], None, "present",
     t(6, 50), t(6, 0), {FLAG_OUT_WITHOUT_IN}),
    ("other school only: absent, flagged", [ev(t(6, 50), school=THERE)], None, "absent",
     None, None, {FLAG_OTHER_SCHOOL}),
    ("other school then here", [ev(t(6, 40), school=THERE), ev(t(7, 5))], None, "late",
     t(7, 5), None, {FLAG_OTHER_SCHOOL}),
    ("unsynced clock uses hub time", [ev(t(6, 0), synced=False, received=t(7, 8))], None,
     "late", t(7, 8), None, {FLAG_CLOCK_UNSYNCED}),
    ("synced clock keeps device time", [ev(t(6, 55), synced=True, received=t(7, 8))], None,
     "present", t(6, 55), None, set()),
    ("old firmware (None) keeps device time", [ev(t(6, 55), synced=None, received=t(7, 8))],
     None, "present", t(6, 55), None, set()),
    ("unsynced clock a year off, received today",
     [ev(t(6, 50) - timedelta(days=365), synced=False, received=t(6, 50))], None, "present",
     t(6, 50), None, {FLAG_CLOCK_UNSYNCED}),
    ("event of another day ignored", [ev(t(6, 50, day=date(2026, 11, 29)))], None, "absent",
     None, None, set()),
    ("unordered input", [ev(t(16, 0), "out"), ev(t(6, 59))], None, "present", t(6, 59),
     t(16, 0), set()),
]


@pytest.mark.parametrize(("events", "now", "status", "first_in", "last_out", "flags"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_derive_day(events, now, status, first_in, last_out, flags) -> None:
    record = derive_day(events, day=DAY, school_id=HERE, rules=RULES,
                        calendar=SchoolCalendar(), tz=VN, now=now)
    assert record.status == status
    assert record.first_in == first_in
    assert record.last_out == last_out
    assert record.flags == frozenset(flags)


def test_duplicates_are_counted() -> None:
    r = derive_day([ev(t(6, 50)), ev(t(6, 50, 1)), ev(t(6, 50, 2)), ev(t(16, 0), "out")],
                   day=DAY, school_id=HERE, rules=RULES, calendar=SchoolCalendar(), tz=VN)
    assert (r.passages, r.duplicates) == (2, 2)


@pytest.mark.parametrize(("day", "calendar", "status"), [
    (SATURDAY, SchoolCalendar(), "no-school"),
    (SATURDAY, SchoolCalendar(weekdays=frozenset({1, 2, 3, 4, 5, 6})), "absent"),
    (SATURDAY, SchoolCalendar(makeup_days=frozenset({SATURDAY})), "absent"),
    (DAY, SchoolCalendar(holidays=frozenset({DAY})), "no-school"),
])
def test_calendar_decides_school_days(day, calendar, status) -> None:
    r = derive_day([], day=day, school_id=HERE, rules=RULES, calendar=calendar, tz=VN)
    assert r.status == status


def test_passages_on_a_holiday_are_kept_but_the_day_is_no_school() -> None:
    r = derive_day([ev(t(7, 30))], day=DAY, school_id=HERE, rules=RULES,
                   calendar=SchoolCalendar(holidays=frozenset({DAY})), tz=VN)
    assert (r.status, r.first_in) == ("no-school", t(7, 30))


@pytest.mark.parametrize("override", ["excused", "present", "absent", "late"])
def test_correction_wins(override) -> None:
    r = derive_day([ev(t(7, 40))], day=DAY, school_id=HERE, rules=RULES,
                   calendar=SchoolCalendar(), tz=VN, override=override)
    assert r.status == override
    assert r.first_in == t(7, 40)  # times stay as the gates saw them
    assert FLAG_CORRECTED in r.flags


@pytest.mark.parametrize(("rules", "arrival", "now", "status"), [
    (Rules(time(7, 0), late_after_min=5, absent_after_min=20), t(7, 4), None, "present"),
    (Rules(time(7, 0), late_after_min=5, absent_after_min=20), t(7, 6), None, "late"),
    (Rules(time(7, 0), late_after_min=5, absent_after_min=20), None, t(7, 19), "pending"),
    (Rules(time(7, 0), late_after_min=5, absent_after_min=20), None, t(7, 20), "absent"),
    (Rules(time(7, 30), absent_after_min=30), t(7, 25), None, "present"),
    (Rules(time(7, 30), absent_after_min=30), None, t(7, 59), "pending"),
])
def test_school_rules(rules, arrival, now, status) -> None:
    events = [ev(arrival)] if arrival else []
    r = derive_day(events, day=DAY, school_id=HERE, rules=rules, calendar=SchoolCalendar(),
                   tz=VN, now=now)
    assert r.status == status


@pytest.mark.parametrize(("level", "overrides", "expected"), [
    ("thcs", {}, Rules(time(7, 0), 0, 15)),
    ("mam_non", {}, Rules(time(7, 30), 0, 30)),
    ("thcs", {"start_time": time(7, 15)}, Rules(time(7, 15), 0, 15)),
    ("tieu_hoc", {"late_after_min": 5, "absent_after_min": 25}, Rules(time(7, 0), 5, 25)),
    ("unknown-level", {}, Rules(time(7, 0), 0, 15)),
])
def test_rules_for_level_and_school(level, overrides, expected) -> None:
    assert rules_for(level, **overrides) == expected


def test_every_school_level_has_its_rules() -> None:
    assert sorted(LEVEL_RULES) == sorted(LEVELS)


def test_rules_refuse_unordered_cutoffs() -> None:
    with pytest.raises(ValueError, match="late_after_min"):
        Rules(time(7, 0), late_after_min=20, absent_after_min=10)


def test_cutoffs_are_local_wall_time() -> None:
    assert RULES.absent_cutoff(DAY, VN) == t(7, 15)
    assert RULES.late_cutoff(DAY, VN).utcoffset() == timedelta(hours=7)
