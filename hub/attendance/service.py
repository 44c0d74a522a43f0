"""Load what the pure engine needs from the database and derive day records.

The register needs flags (other school, duplicates, unsynced clocks), so it runs the
engine over raw events of a class: a few dozen students, one indexed query. Summaries
over a district read the ingest rollup instead (see reports.STATUS_SQL), which mirrors
the engine's status rule without the flags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from hub.attendance.calendar import MON_FRI, CalendarEntry, SchoolCalendar, build_calendar
from hub.attendance.rules import DayRecord, GateEvent, Rules, Status, derive_day, rules_for
from hub.db import Conn

# Events this far either side of the day are read too: an unsynced device may stamp a
# passage on the wrong date, and the engine re-dates it by the hub's receive time.
_EVENT_MARGIN = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class SchoolSetup:
    id: str
    name: str
    level: str
    rules: Rules
    calendar: SchoolCalendar


def load_setups(
    conn: Conn, *, first: date, last: date, school: str | None = None
) -> dict[str, SchoolSetup]:
    """Rules and calendar of every school (or one), with calendar entries in [first, last]."""
    schools = conn.execute(
        """
        select id, name, level, start_time, late_after_min, absent_after_min, school_weekdays
        from schools where %(school)s::text is null or id = %(school)s order by id
        """,
        {"school": school},
    ).fetchall()
    entries = [
        CalendarEntry(day, school_id, kind)
        for day, school_id, kind in conn.execute(
            "select day, school_id, kind from school_calendar where day between %s and %s",
            (first, last),
        ).fetchall()
    ]
    setups = {}
    for sid, name, level, start, late_min, absent_min, weekdays in schools:
        days = frozenset(int(d) for d in weekdays) if weekdays else MON_FRI
        setups[sid] = SchoolSetup(
            id=sid,
            name=name,
            level=level,
            rules=rules_for(level, start_time=cast(time, start), late_after_min=late_min,
                            absent_after_min=absent_min),
            calendar=build_calendar(entries, school_id=sid, weekdays=days),
        )
    return setups


def effective_now(day: date, tz: ZoneInfo, now: datetime) -> datetime | None:
    """``now`` while ``day`` is today or later; None for a past day (the day is over)."""
    return now if day >= now.astimezone(tz).date() else None


def derive_students(
    conn: Conn,
    *,
    students: Sequence[tuple[int, str]],  # (student id, school id)
    day: date,
    setups: dict[str, SchoolSetup],
    tz: ZoneInfo,
    now: datetime,
) -> dict[int, DayRecord]:
    ids = [sid for sid, _ in students]
    lo = datetime.combine(day, time(0), tz) - _EVENT_MARGIN
    hi = datetime.combine(day + timedelta(days=1), time(0), tz) + _EVENT_MARGIN
    events: dict[int, list[GateEvent]] = {sid: [] for sid in ids}
    rows = conn.execute(
        """
        select student_id, ts, direction, decision, school_id, clock_synced, received_at
        from gate_events
        where student_id = any(%s) and ts >= %s and ts < %s
        """,
        (ids, lo, hi),
    ).fetchall()
    for student_id, ts, direction, decision, school_id, synced, received in rows:
        events[student_id].append(
            GateEvent(ts, direction, decision, school_id, synced, received)
        )
    overrides: dict[int, Status] = dict(
        conn.execute(
            "select student_id, status from attendance_overrides where student_id = any(%s)"
            " and day = %s",
            (ids, day),
        ).fetchall()
    )
    at = effective_now(day, tz, now)
    out = {}
    for sid, school_id in students:
        setup = setups[school_id]
        out[sid] = derive_day(
            events[sid],
            day=day,
            school_id=school_id,
            rules=setup.rules,
            calendar=setup.calendar,
            tz=tz,
            now=at,
            override=overrides.get(sid),
        )
    return out
