"""Who may act on alarms and work orders (hub.equipment.actions.acting_school), as a table
of role x school -> the school acted for, or the refusal the API answers 403 with."""

from __future__ import annotations

import pytest

from hub.access import ROLES
from hub.equipment.actions import acting_school
from hub.equipment.alarms import AlarmError

A = "THCS-HN"

# (role, the account's school, acts for: a school, None for every school, or the refusal)
TABLE: list[tuple[str, str | None, str | AlarmError | None]] = [
    ("district_admin", None, None),
    ("district_admin", A, None),  # a district role with a school still acts district-wide
    ("school_admin", A, A),
    ("facility_manager", A, A),
    ("school_admin", None, AlarmError("account has no school")),
    ("facility_manager", None, AlarmError("account has no school")),
    ("control_room", None,
     AlarmError("the control_room role cannot change alarms or work orders")),
    ("control_room", A,
     AlarmError("the control_room role cannot change alarms or work orders")),
    ("teacher", A, AlarmError("the teacher role cannot change alarms or work orders")),
    ("teacher", None, AlarmError("the teacher role cannot change alarms or work orders")),
    ("janitor", A, AlarmError("the janitor role cannot change alarms or work orders")),
]


@pytest.mark.parametrize(("role", "school", "expected"), TABLE)
def test_acting_school(role: str, school: str | None,
                       expected: str | AlarmError | None) -> None:
    if isinstance(expected, AlarmError):
        with pytest.raises(AlarmError) as caught:
            acting_school(role, school)
        assert caught.value.forbidden and not caught.value.not_found
        assert str(caught.value) == str(expected)
    else:
        assert acting_school(role, school) == expected


def test_every_role_is_in_the_table() -> None:
    assert {role for role, _, _ in TABLE} >= ROLES
