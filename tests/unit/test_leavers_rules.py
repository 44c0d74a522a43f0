"""The pure rules of people leaving (hub.records.leavers), as tables."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hub.records.leavers import (
    MAX_REASON_LEN,
    leave_problems,
    may_record_leave,
    may_transfer,
    missing_from_roster,
)

TODAY = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("day", "reason", "problem"),
    [
        (TODAY, None, None),
        (TODAY, "chuyển nơi ở", None),
        (TODAY - timedelta(days=40), "recorded late", None),
        (TODAY + timedelta(days=1), None, "in the future"),
        (TODAY - timedelta(days=4000), None, "ten years"),
        (TODAY, "x" * (MAX_REASON_LEN + 1), "longer than"),
        (TODAY, "  " + "x" * MAX_REASON_LEN + "  ", None),  # trimmed first
        (TODAY, "a\x00b", "NUL"),
    ],
)
def test_leave_problems(day: date, reason: str | None, problem: str | None) -> None:
    found = leave_problems(day=day, today=TODAY, reason=reason)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0]


@pytest.mark.parametrize(
    ("role", "user_school", "school", "leave", "transfer"),
    [
        ("district_admin", None, "thcs-a", True, True),
        ("school_admin", "thcs-a", "thcs-a", True, False),
        ("school_admin", "thcs-b", "thcs-a", False, False),
        ("school_admin", None, "thcs-a", False, False),
        ("teacher", "thcs-a", "thcs-a", False, False),
        ("facility_manager", "thcs-a", "thcs-a", False, False),
        ("control_room", None, "thcs-a", False, False),
    ],
)
def test_who_may_move_a_pupil(role: str, user_school: str | None, school: str, leave: bool,
                              transfer: bool) -> None:
    assert may_record_leave(role, user_school, school) is leave
    assert may_transfer(role) is transfer


@pytest.mark.parametrize(
    ("active", "seen", "missing"),
    [
        ([], [], []),
        ([1, 2, 3], [1, 2, 3], []),
        ([3, 1, 2], [2], [1, 3]),
        ([1, 2], [2, 9], [1]),  # a new pupil in the file is not "missing"
        ([1, 2], [], [1, 2]),
    ],
)
def test_missing_from_roster(active: list[int], seen: list[int], missing: list[int]) -> None:
    assert missing_from_roster(active, seen) == missing
