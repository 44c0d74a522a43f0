"""A person's steps on alarms and work orders, each behind the one rule of who may take it.

The API's alarm and work-order routes and the dashboard's equipment page both call these,
so an account is refused, scoped and recorded the same way wherever it acts. The rule
(``acting_school``) is pure and runs before anything is read, in the order the API has
always answered: a role that may not act is refused (403) before its comment is looked
at (409) or the alarm is looked up (404, also for another school's alarm, so scope never
leaks that it exists).
"""

from __future__ import annotations

from typing import Protocol

from hub.access import ALARM_ACTING_ROLES, SCHOOL_SCOPED_ROLES
from hub.db import Conn
from hub.equipment import alarms
from hub.equipment.alarms import AlarmError, AlarmPublic, WorkOrderPublic


class Actor(Protocol):
    """The account taking a step: the API's User and the dashboard's Viewer both are."""

    @property
    def username(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def school_id(self) -> str | None: ...


def acting_school(role: str, school_id: str | None) -> str | None:
    """The school an account may act for, None for every school. Raises a forbidden
    AlarmError for a role that only watches (control room) or looks (teachers), and for a
    school-scoped account without a school, which must not act district-wide."""
    if role not in ALARM_ACTING_ROLES:
        raise AlarmError(f"the {role} role cannot change alarms or work orders",
                         forbidden=True)
    if role in SCHOOL_SCOPED_ROLES:
        if school_id is None:
            raise AlarmError("account has no school", forbidden=True)
        return school_id
    return None


def acknowledge(conn: Conn, actor: Actor, alarm_id: int, *,
                comment: str | None = None) -> AlarmPublic:
    school = acting_school(actor.role, actor.school_id)
    return alarms.acknowledge(conn, alarm_id, actor=actor.username, comment=comment,
                              school=school)


def clear(conn: Conn, actor: Actor, alarm_id: int, *,
          comment: str | None = None) -> AlarmPublic:
    school = acting_school(actor.role, actor.school_id)
    return alarms.clear(conn, alarm_id, actor=actor.username, comment=comment, school=school)


def open_work_order(conn: Conn, actor: Actor, alarm_id: int, *,
                    assignee: str | None = None, note: str | None = None) -> WorkOrderPublic:
    school = acting_school(actor.role, actor.school_id)
    return alarms.open_work_order(conn, alarm_id, actor=actor.username, assignee=assignee,
                                  note=note, school=school)


def assign_work_order(conn: Conn, actor: Actor, order_id: int, *,
                      assignee: str | None) -> WorkOrderPublic:
    school = acting_school(actor.role, actor.school_id)
    return alarms.assign_work_order(conn, order_id, assignee=assignee, school=school)


def close_work_order(conn: Conn, actor: Actor, order_id: int, *,
                     note: str | None = None) -> WorkOrderPublic:
    school = acting_school(actor.role, actor.school_id)
    return alarms.close_work_order(conn, order_id, actor=actor.username, note=note,
                                   school=school)
