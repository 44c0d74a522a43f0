""""In school, not in class": tell the homeroom teacher through the notification outbox.

Each notifier pass (hub/notify/worker.py) looks at the lessons whose cutoff passed since
its last pass (a watermark in ``notify_state``, taken ``for update`` so two hub workers
do not both sweep) and derives their registers by the rules (hub/attendance/lessons.py).
A pupil flagged ``in-school-not-in-class`` gets one message to their class's teacher
account (``classes.teacher_username``, reached as alarm messages are: the account's
channel and address). The idempotency key names the pupil, the day and the lesson, so a
second pass, a second worker or a replay never sends twice: exactly one notice per pupil
and lesson. A teacher account without a contact gets none; the flag still shows on the
lesson register and the school page.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

from hub.attendance.lessons import LessonRegister, lesson_registers
from hub.attendance.lessons_feed import log_lessons_passed
from hub.attendance.lessons_rules import FLAG_NOT_IN_CLASS, LessonRules, LessonTimes
from hub.db import Conn
from hub.timetable.importer import load_lessons

KIND: Final = "not-in-class"
WATERMARK: Final = "lesson-sweep"
# Past this long after a lesson's cutoff no notice goes out: a hub that was down all
# morning should not tell a teacher at noon about the first lesson.
LATEST: Final = timedelta(hours=1)

_INSERT = """
insert into notification_outbox (idempotency_key, student_id, guardian_id, channel, kind, day,
                                 payload, username, lesson_id)
values (%s, %s, null, %s, %s, %s, %s, %s, %s)
on conflict (idempotency_key) do nothing
"""


def idempotency_key(*, student_code: str, day: str, lesson_id: int) -> str:
    return f"{KIND}:{student_code}:{day}:{lesson_id}"


def render(*, name: str, class_name: str, period: int, subject: str, room: str,
           entered: datetime | None, cutoff: datetime) -> str:
    """The teacher's message, in Vietnamese; times in the district's wall time."""
    came = f" đã vào trường lúc {entered:%H:%M} nhưng" if entered is not None else ""
    return (f"Học sinh {name} (lớp {class_name}){came} chưa có mặt ở tiết {period} "
            f"({subject}, phòng {room}) lúc {cutoff:%H:%M} ngày {cutoff:%d/%m/%Y}.")


def enqueue_not_in_class(conn: Conn, *, now: datetime, tz: ZoneInfo) -> int:
    """Offer the notices of lessons whose cutoff passed since the last pass; returns how
    many rows were offered (inserted or already there)."""
    day = now.astimezone(tz).date()
    offered = 0
    with conn.transaction():
        conn.execute("insert into notify_state (name, at) values (%s, %s)"
                     " on conflict (name) do nothing", (WATERMARK, now - LATEST))
        row = conn.execute("select at from notify_state where name = %s for update",
                           (WATERMARK,)).fetchone()
        assert row is not None
        # A watermark ahead of ``now`` means the clock stepped back: sweep the last window
        # again (the keys keep it from sending twice) rather than nothing until it catches up.
        since = max(row[0] if row[0] <= now else now - LATEST, now - LATEST)
        due: dict[int, set[int]] = defaultdict(set)
        schools: dict[str, dict[int, str]] = defaultdict(dict)  # school -> class id -> name
        # Only the lessons starting in the window's reach are read: every pass runs this,
        # and a district's day holds thousands of lessons.
        earliest = max(since, datetime.combine(day, time(0), tz)).astimezone(tz)
        reach = timedelta(minutes=LessonRules().cutoff_min)
        for lesson in load_lessons(conn, weekday=day.isoweekday(),
                                   starts_after=(earliest - reach).time()
                                   if earliest - reach >= datetime.combine(day, time(0), tz)
                                   else None):
            cutoff = LessonTimes.on(day, lesson.start, lesson.end, tz).cutoff
            if since < cutoff <= now:
                due[lesson.class_id].add(lesson.id)
                schools[lesson.school][lesson.class_id] = lesson.class_name
        for school, classes in sorted(schools.items()):
            for register in lesson_registers(conn, school=school, classes=sorted(
                    classes.items()), day=day, tz=tz, now=now):
                offered += _notify_class(conn, register, lesson_ids=due[register.class_id],
                                         now=now, tz=tz)
        if due:
            # the exchange feed's documents of these learners changed with the clock
            log_lessons_passed(conn, class_ids=sorted(due), day=day)
        conn.execute("update notify_state set at = %s where name = %s", (now, WATERMARK))
    return offered


def _notify_class(conn: Conn, register: LessonRegister, *, lesson_ids: set[int],
                  now: datetime, tz: ZoneInfo) -> int:
    day = register.date
    class_id = register.class_id
    flagged = [(lesson, pupil) for lesson in register.lessons if lesson.lesson_id in lesson_ids
               for pupil in lesson.students if FLAG_NOT_IN_CLASS in pupil.flags]
    if not flagged:
        return 0
    teacher = conn.execute(
        """
        select u.username, u.notify_channel, u.phone, u.zalo_id, u.webhook_url
        from classes c join users u on u.username = c.teacher_username
        where c.id = %s and u.notify_channel <> 'none' and not u.disabled
        """, (class_id,)).fetchone()
    if teacher is None:
        return 0
    username, channel, phone, zalo_id, webhook_url = teacher
    ids = dict(conn.execute("select code, id from students where code = any(%s)",
                            ([p.student for _, p in flagged],)).fetchall())
    entered = dict(conn.execute(
        """
        select st.code, min(case when e.clock_synced is false then e.received_at else e.ts end)
        from gate_events e join students st on st.id = e.student_id
        where st.code = any(%s) and e.room is null and e.direction = 'in'
          and e.decision = 'granted' and e.ts >= %s and e.ts < %s
        group by st.code
        """, (list(ids), now - timedelta(days=1), now)).fetchall())
    rows: list[tuple[Any, ...]] = []
    for lesson, pupil in flagged:
        came = entered.get(pupil.student)
        came_local = came.astimezone(tz) if came is not None else None
        if came_local is not None and came_local.date() != day:
            came_local = None
        cutoff = lesson.cutoff.astimezone(tz)
        text = render(name=pupil.full_name, class_name=register.class_name,
                      period=lesson.period, subject=lesson.subject, room=lesson.room,
                      entered=came_local, cutoff=cutoff)
        payload = {
            "kind": KIND, "day": day.isoformat(), "school": register.school,
            "student": pupil.student, "student_name": pupil.full_name,
            "class_name": register.class_name, "lesson_id": lesson.lesson_id,
            "period": lesson.period, "subject": lesson.subject, "room": lesson.room,
            "cutoff": cutoff.isoformat(),
            "entered_at": came_local.isoformat() if came_local else None,
            # as alarm messages: the adapters read phone (sms), address (zalo), webhook_url
            "recipient": {"username": username, "role": "teacher", "phone": phone,
                          "address": zalo_id, "webhook_url": webhook_url},
            "text": text,
        }
        key = idempotency_key(student_code=pupil.student, day=day.isoformat(),
                              lesson_id=lesson.lesson_id)
        rows.append((key, ids[pupil.student], channel, KIND, day, Jsonb(payload), username,
                     lesson.lesson_id))
    with conn.cursor() as cur:
        cur.executemany(_INSERT, rows)
    return len(rows)
