"""Alarm lifecycle and work orders in PostgreSQL.

States (ISA-18.2 in miniature):

    active_unack --ack--> active_ack --condition clears--> cleared
         |                    |
         | condition clears   +--clear (person)--> cleared
         v
    cleared_unack --ack--> cleared          (any open state --clear (person)--> cleared)

"Open" is every state but ``cleared``; a partial unique index keeps one open alarm per
subject and type, so a condition that returns before its alarm was acknowledged re-arms
the same row (``occurrences`` + 1) instead of piling up duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Literal

import psycopg
from psycopg.rows import class_row

from hub.db import Conn
from hub.equipment.rules import Transition
from hub.models import ApiModel

MAX_COMMENT: Final = 1000
StateFilter = Literal["open", "active", "unacknowledged", "cleared", "all"]


class AlarmError(Exception):
    """A step refused: the account may not act (``forbidden``, the API's 403), the alarm or
    work order is not there for it (``not_found``, 404), or its state does not allow the
    step (409). The API answers with the text."""

    def __init__(self, message: str, *, not_found: bool = False,
                 forbidden: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found
        self.forbidden = forbidden


class AlarmPublic(ApiModel):
    id: int
    subject: str
    asset_tag: str | None
    device_id: str | None
    school_id: str
    room: str | None
    type: str
    severity: str
    state: str
    message: str
    value: str | None
    raised_at: datetime
    last_raised_at: datetime
    occurrences: int
    condition_cleared_at: datetime | None
    acked_at: datetime | None
    acked_by: str | None
    ack_comment: str | None
    cleared_at: datetime | None
    cleared_by: str | None
    clear_comment: str | None
    work_order_id: int | None


class WorkOrderPublic(ApiModel):
    id: int
    alarm_id: int | None
    asset_tag: str | None
    school_id: str
    state: str
    assignee: str | None
    note: str | None
    opened_by: str
    opened_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    close_note: str | None


# -- transitions from the engine ------------------------------------------------------

_RAISE = """
with up as (
    insert into alarms as a (subject, asset_tag, device_id, school_id, type, severity, state,
                             message, value, raised_at, last_raised_at)
    select %(subject)s, (select tag from assets where tag = %(subject)s),
           (select id from devices where id = %(device)s), %(school)s, %(type)s, %(severity)s,
           'active_unack', %(message)s, %(value)s, %(at)s, %(at)s
    on conflict (subject, type) where state <> 'cleared' do update
        set state = case when a.state = 'cleared_unack' then 'active_unack' else a.state end,
            occurrences = a.occurrences + (a.state = 'cleared_unack')::int,
            last_raised_at = excluded.last_raised_at,
            condition_cleared_at = null,
            message = excluded.message, value = excluded.value, severity = excluded.severity
    returning a.id, (xmax = 0) as fresh
)
insert into alarm_log (alarm_id, at, action, actor)
select id, %(at)s, case when fresh then 'raised' else 're-raised' end, 'system' from up
returning alarm_id
"""

_CONDITION_CLEARED = """
with up as (
    update alarms set
        state = case state when 'active_unack' then 'cleared_unack' else 'cleared' end,
        condition_cleared_at = %(at)s,
        cleared_at = case when state = 'active_ack' then %(at)s end,
        cleared_by = case when state = 'active_ack' then 'system' end,
        value = coalesce(%(value)s, value)
    where subject = %(subject)s and type = %(type)s and state in ('active_unack', 'active_ack')
    returning id
)
insert into alarm_log (alarm_id, at, action, actor)
select id, %(at)s, 'condition-cleared', 'system' from up
"""


def apply_transitions(
    conn: Conn, transitions: Sequence[Transition], schools: dict[str, str]
) -> int:
    """Persist the engine's transitions in one transaction; ``schools`` maps device -> school.

    Returns how many were applied (a transition for an unknown device is dropped)."""
    applied = 0
    with conn.transaction(), conn.cursor() as cur:
        for t in transitions:
            school = schools.get(t.device)
            if school is None:
                continue
            params = {"subject": t.subject, "device": t.device, "school": school,
                      "type": t.alarm_type, "severity": t.severity, "message": t.message,
                      "value": t.value, "at": t.at}
            cur.execute(_RAISE if t.kind == "raise" else _CONDITION_CLEARED, params)
            applied += 1
    return applied


def active_conditions(conn: Conn) -> list[tuple[str, str]]:
    """(subject, type) of alarms whose condition is still active, to re-arm the engine."""
    rows = conn.execute(
        "select subject, type from alarms where state in ('active_unack', 'active_ack')"
    ).fetchall()
    return [(str(s), str(t)) for s, t in rows]


# -- people ---------------------------------------------------------------------------

def _comment(comment: str | None) -> str | None:
    if comment is None:
        return None
    comment = comment.strip()
    if "\x00" in comment:
        raise AlarmError("the comment contains a NUL character")
    if len(comment) > MAX_COMMENT:
        raise AlarmError(f"the comment is longer than {MAX_COMMENT} characters")
    return comment or None


def _locked(cur: psycopg.Cursor[Any], alarm_id: int, school: str | None) -> tuple[str, str]:
    cur.execute("select state, school_id from alarms where id = %s for update", (alarm_id,))
    row = cur.fetchone()
    # Another school's alarm answers like a missing one: scope never leaks existence.
    if row is None or (school is not None and row[1] != school):
        raise AlarmError(f"alarm {alarm_id} not found", not_found=True)
    return str(row[0]), str(row[1])


def acknowledge(
    conn: Conn, alarm_id: int, *, actor: str, comment: str | None = None,
    school: str | None = None,
) -> AlarmPublic:
    note = _comment(comment)
    with conn.transaction(), conn.cursor() as cur:
        state, _ = _locked(cur, alarm_id, school)
        if state == "active_ack":
            raise AlarmError(f"alarm {alarm_id} is already acknowledged")
        if state == "cleared":
            raise AlarmError(f"alarm {alarm_id} is already cleared")
        cur.execute(
            """
            update alarms set
                state = case state when 'active_unack' then 'active_ack' else 'cleared' end,
                acked_at = now(), acked_by = %(actor)s, ack_comment = %(note)s,
                cleared_at = case when state = 'cleared_unack' then now() end,
                cleared_by = case when state = 'cleared_unack' then %(actor)s end
            where id = %(id)s
            """,
            {"id": alarm_id, "actor": actor, "note": note},
        )
        cur.execute("insert into alarm_log (alarm_id, action, actor, comment)"
                    " values (%s, 'acknowledged', %s, %s)", (alarm_id, actor, note))
    return get_alarm(conn, alarm_id)


def clear(
    conn: Conn, alarm_id: int, *, actor: str, comment: str | None = None,
    school: str | None = None,
) -> AlarmPublic:
    """Close an open alarm by hand. The engine keeps the condition's state: a condition
    still present is not raised again until it has cleared and returned."""
    note = _comment(comment)
    with conn.transaction(), conn.cursor() as cur:
        state, _ = _locked(cur, alarm_id, school)
        if state == "cleared":
            raise AlarmError(f"alarm {alarm_id} is already cleared")
        cur.execute(
            """
            update alarms set state = 'cleared', cleared_at = now(), cleared_by = %(actor)s,
                clear_comment = %(note)s,
                acked_at = coalesce(acked_at, now()), acked_by = coalesce(acked_by, %(actor)s)
            where id = %(id)s
            """,
            {"id": alarm_id, "actor": actor, "note": note},
        )
        cur.execute("insert into alarm_log (alarm_id, action, actor, comment)"
                    " values (%s, 'cleared', %s, %s)", (alarm_id, actor, note))
    return get_alarm(conn, alarm_id)


_SELECT = """
select a.id, a.subject, a.asset_tag, a.device_id, a.school_id, r.name as room, a.type,
       a.severity, a.state, a.message, a.value, a.raised_at, a.last_raised_at, a.occurrences,
       a.condition_cleared_at, a.acked_at, a.acked_by, a.ack_comment, a.cleared_at,
       a.cleared_by, a.clear_comment,
       (select w.id from work_orders w where w.alarm_id = a.id
        order by (w.state = 'open') desc, w.id desc limit 1) as work_order_id
from alarms a
left join assets s on s.tag = a.asset_tag
left join devices d on d.id = a.device_id
left join rooms r on r.id = coalesce(s.room_id, d.room_id)
"""

_STATE_WHERE: Final[dict[str, str]] = {
    "open": "a.state <> 'cleared'",
    "active": "a.state in ('active_unack', 'active_ack')",
    "unacknowledged": "a.state in ('active_unack', 'cleared_unack')",
    "cleared": "a.state = 'cleared'",
    "all": "true",
}


def get_alarm(conn: Conn, alarm_id: int) -> AlarmPublic:
    with conn.cursor(row_factory=class_row(AlarmPublic)) as cur:
        cur.execute(_SELECT + " where a.id = %s", (alarm_id,))
        row = cur.fetchone()
    if row is None:
        raise AlarmError(f"alarm {alarm_id} not found", not_found=True)
    return row


def list_alarms(
    conn: Conn, *, state: StateFilter = "open", school: str | None = None,
    limit: int = 200, after: tuple[int, int, str, int] | None = None,
) -> list[AlarmPublic]:
    """``after`` is the sort key of the last row shown (alarm_sort_key) to continue
    after it (hub/api/paging.py)."""
    # Order: unacknowledged first, then severity, newest first: what needs a person on top
    # (the id breaks ties, so a keyset can continue exactly after a row).
    a_ack, a_sev, a_at, a_id = after if after is not None else (None, None, None, None)
    with conn.cursor(row_factory=class_row(AlarmPublic)) as cur:
        cur.execute(
            _SELECT
            + f" where {_STATE_WHERE[state]}"
            + """ and (%(school)s::text is null or a.school_id = %(school)s)
              and (%(a_ack)s::int is null
                   or (a.state not in ('active_unack', 'cleared_unack'))::int > %(a_ack)s
                   or ((a.state not in ('active_unack', 'cleared_unack'))::int = %(a_ack)s
                       and (coalesce(array_position(array['critical','major','minor',
                                     'warning'], a.severity), 5) > %(a_sev)s
                            or (coalesce(array_position(array['critical','major','minor',
                                         'warning'], a.severity), 5) = %(a_sev)s
                                and (a.last_raised_at, a.id)
                                    < (%(a_at)s::timestamptz, %(a_id)s::bigint)))))
            order by (a.state not in ('active_unack', 'cleared_unack'))::int,
                     coalesce(array_position(array['critical','major','minor','warning'],
                                             a.severity), 5),
                     a.last_raised_at desc, a.id desc
            limit %(limit)s""",
            {"school": school, "limit": limit, "a_ack": a_ack, "a_sev": a_sev,
             "a_at": a_at, "a_id": a_id},
        )
        return cur.fetchall()


_SEVERITY_RANK: Final = {"critical": 1, "major": 2, "minor": 3, "warning": 4}


def alarm_sort_key(alarm: AlarmPublic) -> tuple[int, int, str, int]:
    """Where an alarm sits in list_alarms' order, for a cursor to continue after it."""
    acked = int(alarm.state not in ("active_unack", "cleared_unack"))
    return (acked, _SEVERITY_RANK.get(alarm.severity, 5), alarm.last_raised_at.isoformat(),
            alarm.id)


# -- work orders ----------------------------------------------------------------------

def open_work_order(
    conn: Conn, alarm_id: int, *, actor: str, assignee: str | None,
    note: str | None, school: str | None = None,
) -> WorkOrderPublic:
    assignee, note = _comment(assignee), _comment(note)
    with conn.transaction(), conn.cursor() as cur:
        _locked(cur, alarm_id, school)
        cur.execute("select id from work_orders where alarm_id = %s and state = 'open'",
                    (alarm_id,))
        existing = cur.fetchone()
        if existing is not None:
            raise AlarmError(f"alarm {alarm_id} already has open work order {existing[0]}")
        cur.execute(
            """
            insert into work_orders (alarm_id, asset_tag, school_id, assignee, note, opened_by)
            select id, asset_tag, school_id, %s, %s, %s from alarms where id = %s
            returning id
            """,
            (assignee, note, actor, alarm_id),
        )
        row = cur.fetchone()
        assert row is not None  # the alarm row is locked above
    return get_work_order(conn, int(row[0]))


def _lock_open_order(cur: psycopg.Cursor[Any], order_id: int, school: str | None) -> None:
    """Lock an open work order of ``school`` (any school: None) for the transaction."""
    cur.execute("select state, school_id from work_orders where id = %s for update",
                (order_id,))
    row = cur.fetchone()
    if row is None or (school is not None and row[1] != school):
        raise AlarmError(f"work order {order_id} not found", not_found=True)
    if row[0] == "closed":
        raise AlarmError(f"work order {order_id} is already closed")


def close_work_order(
    conn: Conn, order_id: int, *, actor: str, note: str | None = None,
    school: str | None = None,
) -> WorkOrderPublic:
    text = _comment(note)
    with conn.transaction(), conn.cursor() as cur:
        _lock_open_order(cur, order_id, school)
        cur.execute(
            "update work_orders set state = 'closed', closed_by = %s, closed_at = now(),"
            " close_note = %s where id = %s",
            (actor, text, order_id),
        )
    return get_work_order(conn, order_id)


def assign_work_order(
    conn: Conn, order_id: int, *, assignee: str | None,
    school: str | None = None,
) -> WorkOrderPublic:
    """Hand an open work order to someone else (``None``: back to unassigned)."""
    who = _comment(assignee)
    with conn.transaction(), conn.cursor() as cur:
        _lock_open_order(cur, order_id, school)
        cur.execute("update work_orders set assignee = %s where id = %s", (who, order_id))
    return get_work_order(conn, order_id)


_WO_SELECT = """
select id, alarm_id, asset_tag, school_id, state, assignee, note, opened_by, opened_at,
       closed_by, closed_at, close_note
from work_orders
"""


def get_work_order(conn: Conn, order_id: int) -> WorkOrderPublic:
    with conn.cursor(row_factory=class_row(WorkOrderPublic)) as cur:
        cur.execute(_WO_SELECT + " where id = %s", (order_id,))
        row = cur.fetchone()
    if row is None:
        raise AlarmError(f"work order {order_id} not found", not_found=True)
    return row


def list_work_orders(
    conn: Conn, *, school: str | None = None, only_open: bool = True,
    limit: int = 200,
) -> list[WorkOrderPublic]:
    with conn.cursor(row_factory=class_row(WorkOrderPublic)) as cur:
        cur.execute(
            _WO_SELECT
            + """ where (%(school)s::text is null or school_id = %(school)s)
              and (not %(only_open)s or state = 'open')
            order by opened_at desc limit %(limit)s""",
            {"school": school, "only_open": only_open, "limit": limit},
        )
        return cur.fetchall()
