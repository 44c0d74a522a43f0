"""A school day with lessons, as the browser tests of the lesson and class registers seed
it: three lessons of one class today (two over, one under way), its pupils, and their
sightings at the gate and the room's door."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

Sighting = tuple[str, str, datetime, str | None]  # device, pupil code, when, room (or None)


def three_lessons(tz: ZoneInfo) -> tuple[datetime, datetime, datetime, datetime]:
    """(now, period 1, period 2, period 3): 1 and 2 over, 3 begun five minutes ago."""
    now = datetime.now(tz).replace(second=0, microsecond=0)
    p1, p2, p3 = (now - timedelta(minutes=m) for m in (180, 130, 5))
    assert p1.date() == now.date()  # ten_oclock_zone() keeps the three in one day
    return now, p1, p2, p3


def add_lessons(conn: Any, *, school: str, class_id: int, teacher: str,
                lessons: Sequence[tuple[int, datetime, str]]) -> dict[int, int]:
    """(period, start, subject) lessons of 45 minutes in room P7; their ids by period."""
    ids = {}
    for period, start, subject in lessons:
        ids[period] = conn.execute(
            "insert into timetable_lessons (school_id, class_id, weekday, period, starts_at,"
            " ends_at, subject, teacher, room) values (%s, %s, %s, %s, %s, %s, %s, %s, 'P7')"
            " returning id",
            (school, class_id, start.isoweekday(), period, start.time(),
             (start + timedelta(minutes=45)).time(), subject, teacher)).fetchone()[0]
    return ids


def add_pupils(conn: Any, *, school: str, class_id: int,
               pupils: Sequence[tuple[str, str]]) -> dict[str, int]:
    """(code, full name) pupils of the class; their ids by code."""
    return {code: conn.execute(
        "insert into students (code, school_id, class_id, full_name, birth_date, gender)"
        " values (%s, %s, %s, %s, '2013-05-01', 'M') returning id",
        (code, school, class_id, name)).fetchone()[0] for code, name in pupils}


def add_sightings(conn: Any, *, school: str, pupils: dict[str, int],
                  sightings: Sequence[Sighting], day: datetime) -> None:
    """Granted card events at the gate (room None) or a room's door, and the daily rollup
    ingest keeps beside them (a sighting is an entry too)."""
    for seq, (device, code, ts, room) in enumerate(sightings, start=1):
        conn.execute(
            "insert into gate_events (device_id, seq, ts, received_at, school_id, direction,"
            " method, decision, student_id, resolved, room)"
            " values (%s, %s, %s, %s, %s, 'in', 'card', 'granted', %s, true, %s)",
            (device, seq, ts, ts, school, pupils[code], room))
    conn.execute("insert into attendance_daily (student_id, day, school_id, first_in)"
                 " select student_id, %s, %s, min(ts) from gate_events group by student_id",
                 (day.date(), school))
