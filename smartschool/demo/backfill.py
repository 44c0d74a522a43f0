"""A few weeks of history for the demo, so each kind of warning has something to find.

The simulated day starts this morning; warnings (issue 15) look at the weeks before it.
This writes, once, for the first ``BACKFILL_SCHOOLS`` schools only (a second or so, not
the whole district's ten seconds):

* the attendance rollup (``attendance_daily``) of their last 30 school days before
  today: most pupils on time, a few habitually absent or late, and in one class per
  school an outbreak over the last week. Only the rollup: the raw gate events of those
  days are not invented, so a class register of a past day (which the engine derives
  from raw events) shows those pupils absent while the reports (from the rollup) show
  them present. The other schools have no past days: warnings skip days without data.
* a projector in each school's hall whose lamp is near its rated hours, with two weeks of
  lamp-hour rollups at its daily use (the simulated classroom projectors report only
  today, so no forecast can be made for them yet);
* three cleared projector errors over the last month on one classroom projector.

Deterministic for a seed; a second start finds the history there and writes nothing.
"""

from __future__ import annotations

import logging
import random
import time
import zlib
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Final
from zoneinfo import ZoneInfo

from hub.attendance.service import load_setups
from hub.db import Conn
from hub.equipment.partitions import Partitions
from hub.equipment.rollups import RawRow, write_rollups
from hub.warnings.rules import CALENDAR_LOOKBACK, last_school_days
from smartschool.demo.district import District
from smartschool.demo.seed import DEMO_RATED_LAMP_HOURS

log = logging.getLogger(__name__)

BACKFILL_SCHOOLS: Final = 3
SCHOOL_DAYS: Final = 30
# Each pupil's chance of being absent / late on a day: most rarely, a few often.
USUAL_ABSENT: Final = 0.015
OFTEN_ABSENT: Final = 0.15
OFTEN_ABSENT_SHARE: Final = 0.02
USUAL_LATE: Final = 0.01
OFTEN_LATE: Final = 0.25
OFTEN_LATE_SHARE: Final = 0.02
# The outbreak class: this much more absence over the last five school days.
OUTBREAK_ABSENT: Final = 0.25
HALL: Final = "Hội trường"
HALL_LAMP_USE_H: Final = 6.0  # per school day
HALL_LAMP_LEFT_H: Final = 110.0  # rated hours minus today's: about four weeks of use
FAULT_DAYS_AGO: Final = (24, 13, 4)


def _attendance(conn: Conn, schools: list[str], *, today: date, tz: ZoneInfo,
                rng: random.Random) -> int:
    setups = load_setups(conn, first=today - CALENDAR_LOOKBACK, last=today)
    rows: list[tuple[int, date, str, datetime, datetime]] = []
    for school in schools:
        setup = setups[school]
        days = last_school_days(setup.calendar, today - timedelta(days=1), SCHOOL_DAYS)
        have = {d for (d,) in conn.execute(
            "select distinct day from attendance_daily where school_id = %s and day = any(%s)",
            (school, days)).fetchall()}
        if have:
            continue  # history already there (a second start)
        pupils = conn.execute(
            "select id, class_id from students where school_id = %s and active order by id",
            (school,)).fetchall()
        classes = sorted({c for _, c in pupils if c is not None})
        outbreak = classes[len(classes) // 2] if classes else None
        last_week = set(days[-5:])
        for pupil, class_id in pupils:
            p_absent = OFTEN_ABSENT if rng.random() < OFTEN_ABSENT_SHARE else USUAL_ABSENT
            p_late = OFTEN_LATE if rng.random() < OFTEN_LATE_SHARE else USUAL_LATE
            for day in days:
                extra = OUTBREAK_ABSENT if class_id == outbreak and day in last_week else 0.0
                if rng.random() < p_absent + extra:
                    continue
                cut = setup.rules.late_cutoff(day, tz)
                arrive = (cut + timedelta(minutes=rng.uniform(2, 25)) if rng.random() < p_late
                          else cut - timedelta(minutes=rng.uniform(3, 25)))
                leave = datetime.combine(day, clock(16, 30), tz) + timedelta(
                    minutes=rng.uniform(0, 40))
                rows.append((pupil, day, school, arrive, leave))
    with conn.transaction(), conn.cursor() as cur, cur.copy(
            "copy attendance_daily (student_id, day, school_id, first_in, last_out)"
            " from stdin") as copy:
        for row in rows:
            copy.write_row(row)
    return len(rows)


def _hall_projectors(conn: Conn, schools: list[str], *, now: datetime, tz: ZoneInfo) -> int:
    raw: list[RawRow] = []
    today = now.astimezone(tz).date()
    for school in schools:
        tag = f"PJ-{school}-hall"
        with conn.transaction():
            conn.execute("insert into rooms (school_id, name) values (%s, %s)"
                         " on conflict do nothing", (school, HALL))
            created = conn.execute(
                """
                insert into assets (tag, type, model, serial, school_id, room_id,
                                    purchase_date, warranty_end, rated_lamp_hours)
                select %s, 'projector', 'Epson EB-X51', %s, %s,
                       (select id from rooms where school_id = %s and name = %s),
                       %s, %s, %s
                on conflict (tag) do nothing returning tag
                """,
                (tag, f"SNHALL{zlib.crc32(school.encode()) % 10**6:06d}", school, school, HALL,
                 date(2020, 8, 1), date(2023, 8, 1), DEMO_RATED_LAMP_HOURS)).fetchone()
        if created is None:
            continue
        hours = DEMO_RATED_LAMP_HOURS - HALL_LAMP_LEFT_H
        for back in range(15):  # today and the two weeks before, newest first
            day = today - timedelta(days=back)
            if day.isoweekday() > 5:
                continue
            at = datetime.combine(day, clock(16, 0), tz)
            if at <= now:
                raw.append(RawRow(tag, school, "projector.lamp_hours", at, hours))
            hours -= HALL_LAMP_USE_H
    if raw:
        with conn.transaction():
            write_rollups(conn, raw, Partitions(), now)
    return len(raw)


def _repeat_faults(conn: Conn, school: str, *, now: datetime, tz: ZoneInfo) -> int:
    row = conn.execute("select tag, device_id from assets where school_id = %s and type ="
                       " 'projector' and device_id is not null order by tag limit 1",
                       (school,)).fetchone()
    if row is None:
        return 0
    tag, device = row
    with conn.transaction():
        if conn.execute("select 1 from alarms where subject = %s and type = 'projector_error'"
                        " and raised_at < %s limit 1",
                        (tag, now - timedelta(days=1))).fetchone():
            return 0
        for days_ago in FAULT_DAYS_AGO:
            raised = datetime.combine(now.astimezone(tz).date() - timedelta(days=days_ago),
                                      clock(8, 10), tz)
            fixed = raised + timedelta(hours=3)
            conn.execute(
                """
                with a as (
                    insert into alarms (subject, asset_tag, device_id, school_id, type,
                                        severity, state, message, value, raised_at,
                                        last_raised_at, condition_cleared_at, acked_at,
                                        acked_by, cleared_at, cleared_by)
                    values (%(tag)s, %(tag)s, %(device)s, %(school)s, 'projector_error',
                            'major', 'cleared', 'projector error: fan', 'fan', %(at)s,
                            %(at)s, %(fixed)s, %(fixed)s, 'smartschool-demo', %(fixed)s,
                            'smartschool-demo')
                    returning id
                )
                insert into alarm_log (alarm_id, at, action, actor)
                select id, %(at)s, 'raised', 'system' from a
                union all select id, %(fixed)s, 'cleared', 'smartschool-demo' from a
                """, {"tag": tag, "device": device, "school": school, "at": raised,
                      "fixed": fixed})
    return len(FAULT_DAYS_AGO)


def backfill(conn: Conn, district: District, *, tz: ZoneInfo, seed: int,
             now: datetime | None = None) -> None:
    """Write the history described above, once."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    schools = [s.id for s in district.schools[:BACKFILL_SCHOOLS]]
    rng = random.Random(seed)
    days = _attendance(conn, schools, today=now.astimezone(tz).date(), tz=tz, rng=rng)
    lamps = _hall_projectors(conn, schools[:2], now=now, tz=tz)
    faults = _repeat_faults(conn, schools[0], now=now, tz=tz) if schools else 0
    log.info("demo history in %.2f s: %d pupil-days, %d lamp readings, %d past faults",
             time.perf_counter() - started, days, lamps, faults)
