"""The plan's indicators (issue #13): each definition as a table of cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from hub.kpi.indicators import (
    BY_ID,
    INDICATORS,
    Contact,
    Ratio,
    RoomAsset,
    classroom_ready,
    data_driven,
    is_month_end,
    is_teacher,
    learner_counts,
    met,
    parent_reachable,
    percent,
    shortfall,
    smart_gate,
    teacher_counts,
    total,
)

PID_2015_M = "031215000123"  # Hải Phòng, born 2015, male
PID_1985_F = "031185000007"  # Hải Phòng, born 1985, female
MOET = "0310000042"


def test_the_seven_indicators_of_the_issue_in_its_order():
    assert [i.id for i in INDICATORS] == [
        "learners_e_records", "teachers_e_records", "equipment_e_records",
        "classrooms_ready", "smart_gate_schools", "data_driven_schools", "parents_reachable",
    ]
    assert BY_ID["equipment_e_records"].target == 80.0
    assert BY_ID["learners_e_records"].target_year == 2025
    assert BY_ID["classrooms_ready"].target_year is None  # every year


@pytest.mark.parametrize(("pid", "moet", "year", "gender", "counts"), [
    (PID_2015_M, MOET, 2015, "M", True),
    (PID_2015_M, None, 2015, "M", False),            # no MOET id
    (None, MOET, 2015, "M", False),                  # no personal id
    ("", MOET, 2015, "M", False),
    ("03121500012", MOET, 2015, "M", False),         # 11 digits
    ("03121500012X", MOET, 2015, "M", False),        # not digits
    ("999215000123", MOET, 2015, "M", False),        # unknown province
    (PID_2015_M, MOET, 2014, "M", False),            # id says 2015, record says 2014
    (PID_2015_M, MOET, 2015, "F", False),            # id says male
    (PID_2015_M, "031000004", 2015, "M", False),     # MOET id of 9 digits
    (PID_2015_M, " 0310000042 ", 2015, "M", True),   # spaces around are no fault
])
def test_a_learner_counts_with_both_valid_identifiers(pid, moet, year, gender, counts):
    assert learner_counts(pid, moet, birth_year=year, gender=gender) is counts


@pytest.mark.parametrize(("pid", "moet", "year", "gender", "counts"), [
    (PID_1985_F, MOET, 1985, "F", True),
    (PID_1985_F, MOET, None, None, True),            # birth data unknown: the id alone
    (PID_1985_F, None, None, None, False),
    (PID_1985_F, MOET, 1986, "F", False),
])
def test_a_teacher_counts_like_a_learner(pid, moet, year, gender, counts):
    assert teacher_counts(pid, moet, birth_year=year, gender=gender) is counts


@pytest.mark.parametrize(("position", "teacher"), [
    ("Giáo viên", True), ("giáo viên chủ nhiệm", True), ("GIAO VIEN", True),
    ("Teacher", True), ("Bảo vệ", False), ("Kế toán", False), ("Hiệu trưởng", False),
    (None, False), ("", False),
])
def test_who_is_a_teacher(position, teacher):
    assert is_teacher(position) is teacher


DAY = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
FRESH = DAY + timedelta(hours=8)
STALE = DAY - timedelta(days=3)


@pytest.mark.parametrize(("assets", "since", "ready"), [
    ([RoomAsset("pc", "in_service", FRESH), RoomAsset("projector", "in_service", FRESH)],
     DAY, True),
    ([RoomAsset("pc", "in_service", FRESH), RoomAsset("tv", "in_service", FRESH)], DAY, True),
    ([RoomAsset("pc", "in_service", FRESH)], DAY, False),                       # no display
    ([RoomAsset("projector", "in_service", FRESH)], DAY, False),                # no computer
    ([RoomAsset("pc", "in_service", FRESH), RoomAsset("projector", "in_service", STALE)],
     DAY, False),                                                               # silent lamp
    ([RoomAsset("pc", "in_service", FRESH), RoomAsset("projector", "repair", FRESH)],
     DAY, False),                                                               # in repair
    ([RoomAsset("pc", "in_service", None), RoomAsset("projector", "in_service", FRESH)],
     DAY, False),                                                               # never heard
    ([RoomAsset("pc", "in_service", FRESH), RoomAsset("projector", "in_service", FRESH)],
     None, False),                                                              # no school day
    ([RoomAsset("pc", "in_service", FRESH), RoomAsset("projector", "retired", FRESH),
      RoomAsset("projector", "in_service", FRESH)], DAY, True),                # a second one
    ([], DAY, False),
])
def test_a_classroom_is_ready_with_a_working_computer_and_display(assets, since, ready):
    assert classroom_ready(assets, since) is ready


@pytest.mark.parametrize(("passages", "smart"), [(0, False), (1, True), (250, True)])
def test_a_smart_gate_took_attendance_on_the_last_school_day(passages, smart):
    assert smart_gate(passages) is smart


@pytest.mark.parametrize(("recognised", "pupils", "driven"), [
    (500, 1000, True), (499, 1000, False), (1000, 1000, True), (0, 1000, False),
    (0, 0, False),  # no pupils, no register
])
def test_registers_from_the_data_need_half_the_pupils_recognised(recognised, pupils, driven):
    assert data_driven(recognised, pupils) is driven


@pytest.mark.parametrize(("contacts", "reachable"), [
    ([Contact("sms", "+84912345678", None, True)], True),
    ([Contact("zalo", None, "4412345678901234", True)], True),
    ([Contact("webhook", None, "https://school.example/hook", True)], True),
    ([Contact("none", "+84912345678", None, True)], False),      # no channel chosen
    ([Contact("sms", None, None, True)], False),                 # SMS without a number
    ([Contact("zalo", None, "https://zalo.me/x", True)], False),  # a URL is no Zalo id
    ([Contact("sms", "+84912345678", None, False)], False),      # asked not to be told
    ([Contact("none", None, None, True), Contact("sms", "+84912345678", None, True)], True),
    ([], False),                                                 # no guardian on record
])
def test_a_pupil_counts_with_one_reachable_guardian(contacts, reachable):
    assert parent_reachable(contacts) is reachable


@pytest.mark.parametrize(("ratio", "value"), [
    (Ratio(0, 0), None), (Ratio(0, 10), 0.0), (Ratio(10, 10), 100.0), (Ratio(1, 3), 33.3),
    (Ratio(2, 3), 66.7),
])
def test_percent(ratio, value):
    assert percent(ratio) == value


def test_wards_add_numerators_and_denominators():
    assert total([Ratio(1, 2), Ratio(9, 10), Ratio(0, 0)]) == Ratio(10, 12)
    assert total([]) == Ratio(0, 0)


@pytest.mark.parametrize(("indicator", "ratio", "is_met", "short"), [
    ("equipment_e_records", Ratio(8, 10), True, 0),
    ("equipment_e_records", Ratio(7, 10), False, 1),
    ("equipment_e_records", Ratio(0, 3), False, 3),    # 80 % of 3 is 2.4: 3 needed
    ("learners_e_records", Ratio(99, 100), False, 1),
    ("learners_e_records", Ratio(0, 0), False, 0),     # nothing to count is not met
])
def test_met_and_shortfall(indicator, ratio, is_met, short):
    assert met(BY_ID[indicator], ratio) is is_met
    assert shortfall(BY_ID[indicator], ratio) == short


@pytest.mark.parametrize(("day", "end"), [
    (date(2026, 12, 31), True), (date(2026, 12, 30), False), (date(2028, 2, 29), True),
    (date(2027, 2, 28), True), (date(2028, 2, 28), False), (date(2026, 11, 30), True),
])
def test_month_end(day, end):
    assert is_month_end(day) is end
