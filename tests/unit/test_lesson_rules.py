"""Lesson attendance rules as tables of cases (hub/attendance/lessons_rules.py)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from hub.attendance.lessons_rules import (
    FLAG_AFTER_CUTOFF,
    FLAG_CORRECTED,
    FLAG_DAY_EXCUSED,
    FLAG_NO_GATE_ENTRY,
    FLAG_NOT_IN_CLASS,
    Direction,
    LessonRecord,
    LessonRules,
    LessonStatus,
    LessonTimes,
    derive_lesson,
    in_school,
    with_gate_flags,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 12, 7)
# Period 2: 07:50-08:35; window opens 07:40, present to 07:55, late to the cutoff 08:05.
TIMES = LessonTimes.on(DAY, time(7, 50), time(8, 35), TZ)


def at(hhmm: str) -> datetime:
    h, m = hhmm.split(":")
    return datetime.combine(DAY, time(int(h), int(m)), TZ)


@pytest.mark.parametrize(("seen", "now", "status", "flags"), [
    (["07:50"], None, "present", set()),
    (["07:40"], None, "present", set()),            # came in during the break
    (["07:39"], None, "absent", set()),             # before the window: another lesson's
    (["07:55"], None, "present", set()),            # the grace's last minute
    (["07:56"], None, "late", set()),
    (["08:05"], None, "late", set()),               # the cutoff itself
    (["08:06"], None, "late", {FLAG_AFTER_CUTOFF}),
    (["08:35"], None, "absent", set()),             # the lesson is over
    (["08:10", "07:52"], None, "present", set()),   # the first sighting counts
    ([], None, "absent", set()),
    ([], "08:04", "pending", set()),
    ([], "08:05", "absent", set()),
    ([], "07:00", "pending", set()),
    (["07:58"], "07:59", "late", set()),
])
def test_status(seen: list[str], now: str | None, status: LessonStatus, flags: set[str]) -> None:
    record = derive_lesson([at(s) for s in seen], times=TIMES, school_day=True,
                           now=at(now) if now else None)
    assert record.status == status
    assert record.flags == flags


@pytest.mark.parametrize(("school_day", "override", "day_status", "status", "flags"), [
    (False, None, None, "no-school", set()),
    (True, "excused", None, "excused", {FLAG_CORRECTED}),
    (True, "present", "excused", "present", {FLAG_CORRECTED}),  # the lesson's own wins
    (True, None, "excused", "excused", {FLAG_DAY_EXCUSED}),
    (True, None, "absent", "absent", set()),    # only an excused day excuses lessons
    (False, None, "excused", "excused", {FLAG_DAY_EXCUSED}),
])
def test_corrections_and_calendar(school_day: bool, override: LessonStatus | None,
                                  day_status: str | None, status: str,
                                  flags: set[str]) -> None:
    record = derive_lesson([], times=TIMES, school_day=school_day, override=override,
                           day_status=day_status)
    assert (record.status, record.flags) == (status, flags)


def test_rules_refuse_a_grace_past_the_cutoff() -> None:
    with pytest.raises(ValueError):
        LessonRules(grace_min=20, cutoff_min=15)


def test_cutoff_never_past_the_end() -> None:
    short = LessonTimes.on(DAY, time(10, 0), time(10, 10), TZ)
    assert short.cutoff == at("10:10")


P = list[tuple[str, Direction]]


@pytest.mark.parametrize(("passages", "moment", "inside"), [
    ([], "08:05", False),
    ([("06:50", "in")], "08:05", True),
    ([("06:50", "in"), ("07:30", "out")], "08:05", False),          # went home
    ([("06:50", "in"), ("07:30", "out"), ("07:45", "in")], "08:05", True),
    ([("08:30", "in")], "08:05", False),                           # came after the cutoff
    ([("06:50", "in"), ("06:50", "out")], "08:05", False),          # same second: out wins
])
def test_in_school(passages: P, moment: str, inside: bool) -> None:
    assert in_school([(at(t), d) for t, d in passages], at(moment)) is inside


@pytest.mark.parametrize(("record", "passages", "flags"), [
    (LessonRecord("absent"), [("06:50", "in")], {FLAG_NOT_IN_CLASS}),
    (LessonRecord("absent"), [], set()),                                   # not in school
    (LessonRecord("absent"), [("06:50", "in"), ("07:20", "out")], set()),  # left
    (LessonRecord("pending"), [("06:50", "in")], set()),                   # not yet
    (LessonRecord("excused"), [("06:50", "in")], set()),
    (LessonRecord("present", at("07:50")), [("06:50", "in")], set()),
    (LessonRecord("present", at("07:50")), [], {FLAG_NO_GATE_ENTRY}),       # gate was down
])
def test_gate_flags(record: LessonRecord, passages: P, flags: set[str]) -> None:
    out = with_gate_flags(record, passages=[(at(t), d) for t, d in passages], times=TIMES)
    assert out.flags == flags
    assert out.status == record.status
