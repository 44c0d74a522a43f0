"""The notification outbox: enqueue (idempotent), claim due rows, record the outcome.

Entry and exit messages are derived from the attendance rollup (attendance_daily),
which the ingest transaction keeps current, rather than from a hook inside ingest or a
watermark over gate_events: the rollup row exists exactly when a granted passage of a
resolved student was committed, however late (a batch retried through a database
outage keeps its old receive time, which a watermark would skip). The scan looks only
at today's rows that have no outbox row yet, so it is cheap and naturally idempotent.

Exactly one message per (student, day, kind, guardian): the idempotency key is unique
and every insert is ``on conflict do nothing``; replays, duplicates, a second event of
the same kind and repeated sweeps all land on an existing key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg
from psycopg.types.json import Jsonb

from hub.attendance.service import load_setups
from hub.db import Conn
from hub.notify.messages import Kind, render

log = logging.getLogger(__name__)

# The worker holds a claimed row this long before another worker may retry it (a worker
# that died mid-send); longer than any HTTP timeout.
CLAIM_LEASE_S: Final = 120.0
# Past this long after the absent cutoff the sweep no longer tells parents: a hub that
# was down all day should not send "not arrived at 07:15" at night.
ABSENCE_LATEST: Final = timedelta(hours=6)

_INSERT = """
insert into notification_outbox (idempotency_key, student_id, guardian_id, channel, kind,
                                 day, payload)
values (%s, %s, %s, %s, %s, %s, %s)
on conflict (idempotency_key) do nothing
"""


def idempotency_key(*, student_code: str, day: date, kind: Kind, guardian_id: int) -> str:
    return f"{kind}:{student_code}:{day.isoformat()}:{guardian_id}"


@dataclass(frozen=True, slots=True)
class Candidate:
    student_id: int
    student_code: str
    student_name: str
    school_id: str
    guardian_id: int
    channel: str
    phone: str | None
    address: str | None
    at: datetime


def _enqueue(
    cur: psycopg.Cursor[Any], candidates: list[Candidate], *, kind: Kind, day: date,
    tz: ZoneInfo
) -> int:
    rows = []
    for c in candidates:
        local = c.at.astimezone(tz)
        payload = {
            "kind": kind,
            "day": day.isoformat(),
            "at": local.isoformat(),
            "student": c.student_code,
            "student_name": c.student_name,
            "school": c.school_id,
            "recipient": {"guardian_id": c.guardian_id, "phone": c.phone, "address": c.address},
            "text": render(kind, name=c.student_name, at=local),
        }
        key = idempotency_key(student_code=c.student_code, day=day, kind=kind,
                              guardian_id=c.guardian_id)
        rows.append((key, c.student_id, c.guardian_id, c.channel, kind, day, Jsonb(payload)))
    if not rows:
        return 0
    cur.executemany(_INSERT, rows)
    return len(rows)


_GATE_KINDS: Final[tuple[tuple[Kind, str], ...]] = (
    ("entry", "a.first_in"),
    ("exit", "a.last_out"),
)

_GATE_CANDIDATES = """
select a.student_id, st.code, st.full_name, st.school_id, g.id, g.channel, g.phone, g.address,
       {column}
from attendance_daily a
join students st on st.id = a.student_id
join guardians g on g.student_id = a.student_id and g.notify and g.channel <> 'none'
where a.day = %(day)s and {column} is not null
  and not exists (select 1 from notification_outbox o
                  where o.day = a.day and o.student_id = a.student_id
                    and o.kind = %(kind)s and o.guardian_id = g.id)
"""


def enqueue_gate_notifications(
    conn: Conn, *, day: date, tz: ZoneInfo
) -> int:
    """Entry and exit messages for ``day`` not enqueued yet; returns rows offered."""
    offered = 0
    with conn.transaction(), conn.cursor() as cur:
        for kind, column in _GATE_KINDS:
            cur.execute(
                _GATE_CANDIDATES.format(column=column),  # a constant of this module
                {"day": day, "kind": kind},
            )
            candidates = [Candidate(*row) for row in cur.fetchall()]
            offered += _enqueue(cur, candidates, kind=kind, day=day, tz=tz)
    return offered


def run_absence_sweep(conn: Conn, *, now: datetime, tz: ZoneInfo) -> int:
    """Absence messages for students not arrived by their school's absent cutoff today.

    A student with any passage today, or a correction (say excused in advance), is not
    absent. Safe to run as often as wanted: keys make a second run a no-op.
    """
    day = now.astimezone(tz).date()
    setups = load_setups(conn, first=day, last=day)
    due: dict[str, datetime] = {}
    for setup in setups.values():
        cutoff = setup.rules.absent_cutoff(day, tz)
        if setup.calendar.is_school_day(day) and cutoff <= now < cutoff + ABSENCE_LATEST:
            due[setup.id] = cutoff
    if not due:
        return 0
    offered = 0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            """
            select st.id, st.code, st.full_name, st.school_id, g.id, g.channel, g.phone,
                   g.address
            from students st
            join guardians g on g.student_id = st.id and g.notify and g.channel <> 'none'
            where st.active and st.school_id = any(%(schools)s)
              and not exists (select 1 from attendance_daily a where a.student_id = st.id
                              and a.day = %(day)s
                              and (a.first_in is not null or a.last_out is not null))
              and not exists (select 1 from attendance_overrides ov where ov.student_id = st.id
                              and ov.day = %(day)s)
            """,
            {"schools": list(due), "day": day},
        )
        candidates = [
            Candidate(sid, code, name, school, gid, channel, phone, address, due[school])
            for sid, code, name, school, gid, channel, phone, address in cur.fetchall()
        ]
        offered = _enqueue(cur, candidates, kind="absence", day=day, tz=tz)
    return offered


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    idempotency_key: str
    channel: str
    kind: str
    payload: dict[str, Any]
    attempts: int  # including this one


def claim_due(
    conn: Conn, *, limit: int, channels: list[str]
) -> list[Claimed]:
    """Take up to ``limit`` due messages of the configured ``channels``; other workers
    skip them (skip locked) and the lease keeps them from being retried while this worker
    sends. Messages of an unconfigured channel stay pending, untouched, until it is."""
    with conn.transaction():
        rows = conn.execute(
            """
            with due as (
                select id from notification_outbox
                where status = 'pending' and next_attempt_at <= now()
                  and channel = any(%(channels)s)
                order by next_attempt_at, id
                for update skip locked
                limit %(limit)s
            )
            update notification_outbox o
            set attempts = o.attempts + 1,
                next_attempt_at = now() + make_interval(secs => %(lease)s)
            from due where o.id = due.id
            returning o.id, o.idempotency_key, o.channel, o.kind, o.payload, o.attempts
            """,
            {"limit": limit, "lease": CLAIM_LEASE_S, "channels": channels},
        ).fetchall()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def mark_sent(conn: Conn, message_id: int) -> None:
    with conn.transaction():
        conn.execute(
            "update notification_outbox set status = 'sent', sent_at = now(), last_error = null"
            " where id = %s",
            (message_id,),
        )


def mark_retry(
    conn: Conn, message_id: int, *, error: str, delay_s: float
) -> None:
    with conn.transaction():
        conn.execute(
            "update notification_outbox set last_error = %s,"
            " next_attempt_at = now() + make_interval(secs => %s) where id = %s",
            (error[:500], delay_s, message_id),
        )


def mark_failed(conn: Conn, message_id: int, *, error: str) -> None:
    with conn.transaction():
        conn.execute(
            "update notification_outbox set status = 'failed', last_error = %s where id = %s",
            (error[:500], message_id),
        )
