"""The warnings' rules (hub/warnings/rules.py) as tables of cases, boundaries first."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.attendance.calendar import SchoolCalendar
from hub.notify.alarm_rules import Contact
from hub.warnings import rules
from hub.warnings.rules import WeekCount
from hub.warnings.runner import is_due, latest_due

D0 = date(2026, 11, 2)  # a Monday


def days(n: int, start: date = D0) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


# -- chronic absence --------------------------------------------------------------------

@pytest.mark.parametrize(("counted", "absent", "flagged"), [
    (30, 3, True),     # exactly 10 %
    (30, 2, False),    # 6.7 %
    (30, 30, True),
    (20, 2, True),     # exactly 10 % of the days with data
    (20, 1, False),
    (10, 1, True),     # the fewest days that count, exactly 10 %
    (9, 9, False),     # too few days with data to say anything
    (29, 3, True),     # 10.3 %
    (31, 3, False),    # 9.7 % (a caller passing more days than the window)
])
def test_chronic_absence(counted: int, absent: int, flagged: bool) -> None:
    window = days(counted)
    found = rules.chronic_absence(window, window[:absent])
    assert (found is not None) is flagged
    if found is not None:
        assert found["absent_days"] == absent and found["school_days"] == counted


def test_chronic_absence_ignores_days_outside_the_window() -> None:
    window = days(30)
    outside = [D0 - timedelta(days=i) for i in range(1, 10)]
    assert rules.chronic_absence(window, outside + window[:2]) is None


def test_last_school_days_skips_weekends_and_holidays() -> None:
    cal = SchoolCalendar(holidays=frozenset({date(2026, 11, 20)}))
    got = rules.last_school_days(cal, date(2026, 11, 23), 6)  # Monday 23rd
    assert got == [date(2026, 11, 13), date(2026, 11, 16), date(2026, 11, 17),
                   date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 23)]


# -- rising absence ---------------------------------------------------------------------

@pytest.mark.parametrize(("baseline", "this", "flagged"), [
    # flat 2 % baseline of a class of 35 (175 pupil-days a week)
    ([4, 3, 4, 3], 20, True),
    ([4, 3, 4, 3], 9, False),      # above mean + 2 sd, but only 5.5 more than expected
    ([4, 3, 4, 3], 10, True),      # 6.5 more than expected: both tests pass
    ([0, 0, 0, 0], 5, False),      # sd 0: above it, but fewer than six extra
    ([0, 0, 0, 0], 6, True),       # exactly six extra
    ([2, 20, 4, 18], 24, False),   # a noisy class: 24 is within mean + 2 sd
    ([4, 3, 4], 20, True),         # three baseline weeks are enough
    ([4, 3], 20, False),           # two are not
])
def test_rising_absence(baseline: list[int], this: int, flagged: bool) -> None:
    weeks = [WeekCount(a, 175) for a in [*baseline, this]]
    assert (rules.rising_absence(weeks) is not None) is flagged


def test_rising_absence_needs_pupils_on_register() -> None:
    assert rules.rising_absence([WeekCount(0, 0)] * 4 + [WeekCount(3, 0)]) is None


def test_week_blocks_are_the_last_five_days_with_data() -> None:
    recorded = [d for d in days(45) if d.isoweekday() <= 5]  # 33 weekdays
    blocks = rules.week_blocks(recorded)
    assert len(blocks) == 5 and all(len(b) == 5 for b in blocks)
    assert blocks[-1] == recorded[-5:] and blocks[0] == recorded[-25:-20]
    assert rules.week_blocks(recorded[:7]) == [recorded[2:7]]


# -- lateness ---------------------------------------------------------------------------

AS_OF = date(2026, 11, 30)


@pytest.mark.parametrize(("late_days_ago", "flagged"), [
    ((0, 5, 13), True),     # three lates, the first exactly 14 days back (day 1 of 14)
    ((0, 5, 14), False),    # the third falls on day 15
    ((1, 2), False),
    ((0, 1, 2, 3), True),
    ((0, 0, 1), False),     # one day twice is one late day
    ((), False),
])
def test_lateness(late_days_ago: tuple[int, ...], flagged: bool) -> None:
    late = [AS_OF - timedelta(days=n) for n in late_days_ago]
    assert (rules.lateness(AS_OF, late) is not None) is flagged


def test_lateness_ignores_days_after_as_of() -> None:
    late = [AS_OF + timedelta(days=1), AS_OF, AS_OF - timedelta(days=1)]
    assert rules.lateness(AS_OF, late) is None


# -- lamp end of life -------------------------------------------------------------------

def lamp(start_hours: float, per_day: float, n: int = 15,
         end: date = AS_OF) -> list[tuple[date, float]]:
    return [(end - timedelta(days=n - 1 - i), start_hours + per_day * i) for i in range(n)]


@pytest.mark.parametrize(("readings", "rated", "due_in"), [
    (lamp(3700, 10), 4000, 16),        # 3840 now, 160 h left at 10 h/day
    (lamp(3560, 10), 4000, 30),        # exactly 30 days ahead: flagged
    (lamp(3550, 10), 4000, None),      # 31 days ahead: not yet
    (lamp(3990, 1), 4000, -4),         # already past its rated hours
    (lamp(3000, 0), 4000, None),       # not used: no date
    (lamp(3000, 0), 3000, 0),          # unused, but at its rated hours
    (lamp(3800, 10), None, None),      # no rated hours on record
    (lamp(3900, 10, n=3), 4000, None), # two days of readings make no daily use
    ([], 4000, None),
])
def test_lamp_end_of_life(readings: list[tuple[date, float]], rated: int | None,
                          due_in: int | None) -> None:
    found = rules.lamp_end_of_life(AS_OF, rated, readings)
    if due_in is None:
        assert found is None
    else:
        assert found is not None and found["days_left"] == due_in


def test_lamp_replaced_starts_again() -> None:
    old = lamp(3900, 10, n=10, end=AS_OF - timedelta(days=5))
    new = lamp(5, 10, n=5)
    assert rules.lamp_end_of_life(AS_OF, 4000, old + new) is None
    assert rules.current_lamp(old + new) == new


def test_lamp_use_is_read_over_the_last_two_weeks() -> None:
    # Heavy use a month ago, light use recently: the recent pace decides.
    readings = lamp(3000, 40, n=20, end=AS_OF - timedelta(days=15)) + lamp(3800, 1, n=15)
    assert rules.lamp_end_of_life(AS_OF, 4000, readings) is None


# -- repeat faults ----------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "days_ago", "flagged"), [
    ("projector_error", (0, 10, 29), True),     # the first exactly on day 30 of 30
    ("projector_error", (0, 10, 30), False),    # day 31
    ("projector_error", (3, 3, 3), True),       # three times in one day
    ("projector_error", (1, 2), False),
    ("threshold:room.temp_c", (1, 5, 9), True),
    ("device_offline", (1, 2, 3, 4), False),    # the school's power or network
    ("no_data", (1, 2, 3), False),
    ("lamp_life", (1, 2, 3), False),            # wear, the forecast's business
])
def test_repeat_fault(kind: str, days_ago: tuple[int, ...], flagged: bool) -> None:
    raised = [AS_OF - timedelta(days=n) for n in days_ago]
    assert (rules.repeat_fault(AS_OF, kind, raised) is not None) is flagged


# -- who acts ---------------------------------------------------------------------------

CONTACTS = [
    Contact("gv.an", "teacher", "s1", "sms", phone="+84912345678"),
    Contact("gv.binh", "teacher", "s1", "sms", phone="+84912345679"),
    Contact("gv.mute", "teacher", "s1", "none"),
    Contact("ht.s1", "school_admin", "s1", "webhook"),
    Contact("ql.s1", "facility_manager", "s1", "zalo", zalo_id="84123"),
    Contact("ql.s1.off", "facility_manager", "s1", "zalo", zalo_id="84124", disabled=True),
    Contact("ql.s2", "facility_manager", "s2", "webhook"),
    Contact("pgd", "district_admin", None, "webhook"),
]


@pytest.mark.parametrize(("kind", "homeroom", "expected"), [
    ("chronic_absence", "gv.an", ["gv.an"]),
    ("lateness", "gv.binh", ["gv.binh"]),
    ("chronic_absence", "gv.mute", ["ht.s1"]),   # the teacher cannot be reached
    ("chronic_absence", None, ["ht.s1"]),        # the class has no teacher account
    ("chronic_absence", "ql.s1", ["ht.s1"]),     # only a teacher is a homeroom teacher
    ("rising_absence", "gv.an", ["ht.s1"]),
    ("lamp_end_of_life", None, ["ql.s1"]),
    ("repeat_fault", None, ["ql.s1"]),
])
def test_recipients(kind: rules.Kind, homeroom: str | None, expected: list[str]) -> None:
    got = rules.recipients(kind, "s1", CONTACTS, homeroom=homeroom)
    assert [c.username for c in got] == expected


def test_idempotency_key_names_the_episode() -> None:
    a = rules.idempotency_key("lateness", "s1-p01", date(2026, 12, 1), "gv.an")
    b = rules.idempotency_key("lateness", "s1-p01", date(2026, 12, 8), "gv.an")
    assert a != b and a.startswith("warning:lateness:s1-p01:")


@pytest.mark.parametrize("kind", rules.KINDS)
def test_every_kind_reads_in_both_languages(kind: rules.Kind) -> None:
    detail = {"share": 0.1, "absent_days": 3, "school_days": 30, "rate": 0.2,
              "baseline_mean": 0.02, "absent": 20, "baseline_weeks": 4, "lates": 3,
              "from": "2026-11-17", "to": "2026-11-30", "lamp_hours": 3900.0,
              "rated_hours": 4000, "hours_per_day": 5.0, "due": "2026-12-20",
              "alarm_type": "projector_error", "count": 3, "first": "2026-11-02"}
    vi, en = rules.describe(kind, detail, "vi"), rules.describe(kind, detail, "en")
    assert vi and en and vi != en
    assert rules.render(kind, school="s1", who="X", detail=detail).startswith("Cảnh báo")


# -- the nightly schedule ---------------------------------------------------------------

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AT = time(2, 0)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize(("now", "last", "due"), [
    (local(7, 1, 59), None, True),                 # never ran: made up at start
    (local(7, 2, 0), local(6, 2, 0), True),        # exactly the time
    (local(7, 1, 59), local(6, 2, 0), False),      # yesterday's run covers until 02:00
    (local(7, 9, 0), local(7, 2, 1), False),
    (local(7, 9, 0), local(6, 23, 0), True),       # missed at 02:00 (hub down): made up
])
def test_nightly_is_due(now: datetime, last: datetime | None, due: bool) -> None:
    assert is_due(now, AT, last) is due


def test_latest_due() -> None:
    assert latest_due(local(7, 1, 0), AT) == local(6, 2, 0)
    assert latest_due(local(7, 3, 0), AT) == local(7, 2, 0)
