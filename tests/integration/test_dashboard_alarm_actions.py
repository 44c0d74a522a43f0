"""The equipment page's acknowledge and clear (dashboard.data.equipment.act_on_alarm) on
the real PostgreSQL: every account gets the answer the API gives it, because both go
through hub.equipment.actions. A table of account x alarm -> outcome."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from dashboard.access import Viewer
from dashboard.data.equipment import AlarmError, AlarmStep, act_on_alarm
from hub.equipment import alarms
from hub.equipment.rules import Transition

pytestmark = pytest.mark.integration

SEED = """
insert into schools (id, name, level, ward) values
    ('thcs-a', 'THCS A', 'thcs', 'P1'), ('th-b', 'TH B', 'tieu_hoc', 'P2');
insert into devices (id, school_id, role, last_seen, state) values
    ('a-r101', 'thcs-a', 'classroom', now(), 'online'),
    ('b-r201', 'th-b', 'classroom', now(), 'online');
"""


@pytest.fixture
def db(pg_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(SEED.encode())
        alarms.apply_transitions(conn, [
            Transition("raise", device, device, "offline", datetime.now(UTC), "major")
            for device in ("a-r101", "b-r201")
        ], {"a-r101": "thcs-a", "b-r201": "th-b"})
        yield conn


def alarm_of(conn: psycopg.Connection[Any], school: str) -> int:
    (found,) = alarms.list_alarms(conn, state="all", school=school)
    return found.id


# (account, step, the alarm's school, the answer: the alarm's new state, or the refusal
# as (forbidden, not_found, text with {id} for the alarm's id))
Outcome = str | tuple[bool, bool, str]
TABLE: list[tuple[Viewer, AlarmStep, str, Outcome]] = [
    (Viewer("sgd", "district_admin", None), "acknowledge", "th-b", "active_ack"),
    (Viewer("sgd", "district_admin", None), "clear", "thcs-a", "cleared"),
    (Viewer("bgh", "school_admin", "thcs-a"), "acknowledge", "thcs-a", "active_ack"),
    (Viewer("ql", "facility_manager", "thcs-a"), "clear", "thcs-a", "cleared"),
    # Another school's alarm answers like a missing one, as in the API.
    (Viewer("ql", "facility_manager", "thcs-a"), "clear", "th-b",
     (False, True, "alarm {id} not found")),
    (Viewer("cr", "control_room", None), "acknowledge", "thcs-a",
     (True, False, "the control_room role cannot change alarms or work orders")),
    (Viewer("gv", "teacher", "thcs-a"), "clear", "thcs-a",
     (True, False, "the teacher role cannot change alarms or work orders")),
    (Viewer("ql", "facility_manager", None), "acknowledge", "thcs-a",
     (True, False, "account has no school")),
]


@pytest.mark.parametrize(("viewer", "step", "school", "expected"), TABLE)
def test_act_on_alarm(db: psycopg.Connection[Any], viewer: Viewer, step: AlarmStep,
                      school: str, expected: Outcome) -> None:
    alarm_id = alarm_of(db, school)
    if isinstance(expected, str):
        done = act_on_alarm(db, viewer, step, alarm_id, comment=" checked ")
        assert done.state == expected
        by, note = ((done.acked_by, done.ack_comment) if step == "acknowledge"
                    else (done.cleared_by, done.clear_comment))
        assert (by, note) == (viewer.username, "checked")
        return
    forbidden, not_found, text = expected
    with pytest.raises(AlarmError) as caught:
        act_on_alarm(db, viewer, step, alarm_id, comment=None)
    assert (caught.value.forbidden, caught.value.not_found) == (forbidden, not_found)
    assert str(caught.value) == text.format(id=alarm_id)
    assert alarms.get_alarm(db, alarm_id).state == "active_unack"  # nothing written


def test_a_step_taken_twice_is_refused_as_in_the_api(db: psycopg.Connection[Any]) -> None:
    admin = Viewer("sgd", "district_admin", None)
    alarm_id = alarm_of(db, "thcs-a")
    act_on_alarm(db, admin, "clear", alarm_id, comment=None)
    with pytest.raises(AlarmError, match="already cleared") as caught:
        act_on_alarm(db, admin, "acknowledge", alarm_id, comment=None)
    assert not caught.value.forbidden and not caught.value.not_found
