"""Lesson attendance for the exchange feed (issue 14): the documents, built when the feed is
read, and the change log the lesson sweep writes.

A document is a learner's day, keyed ``<person code>/<YYYY-MM-DD>``: the class's lessons
by the timetable and the learner's status in each, derived by the same code as the
lesson register (hub/attendance/lessons.py), in the district's time zone and at the
moment of reading. A day without lessons has no document.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.attendance.lessons import LessonRegister, lesson_register
from hub.db import Conn

KIND = "lesson_attendance"


def lesson_documents(conn: Conn, keys: list[str], *, tz: ZoneInfo,
                     now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Key -> the document's fields (hub.exchange.documents.LessonAttendanceDoc)."""
    now = now or datetime.now(UTC)
    wanted: dict[str, list[tuple[str, date]]] = {}
    for key in keys:
        code, _, text = key.partition("/")
        try:
            wanted.setdefault(code, []).append((key, date.fromisoformat(text)))
        except ValueError:
            continue
    classes = dict(conn.execute("select code, class_id from students where code = any(%s)"
                                " and class_id is not null", (list(wanted),)).fetchall())
    registers: dict[tuple[int, date], LessonRegister] = {}
    out: dict[str, dict[str, Any]] = {}
    for code, days in wanted.items():
        class_id = classes.get(code)
        if class_id is None:
            continue
        for key, day in days:
            register = registers.get((class_id, day))
            if register is None:
                register = lesson_register(conn, class_id=class_id, day=day, tz=tz, now=now)
                registers[class_id, day] = register
            lessons = []
            for lesson in register.lessons:
                pupil = next((p for p in lesson.students if p.student == code), None)
                if pupil is not None:
                    lessons.append({"period": lesson.period, "start": lesson.start,
                                    "end": lesson.end, "subject": lesson.subject,
                                    "room": lesson.room, "status": pupil.status,
                                    "seen_at": pupil.seen_at})
            if lessons:
                out[key] = {"learner": code, "school": register.school,
                            "class_name": register.class_name, "day": day, "lessons": lessons}
    return out


def log_lessons_passed(conn: Conn, *, class_ids: list[int], day: date) -> None:
    """The learners of these classes, whose lessons of ``day`` just passed a cutoff: their
    documents changed with the clock, and the feed must say so."""
    conn.execute(
        """
        insert into exchange_changes (kind, key, op)
        select %s, s.code || '/' || %s::date::text, 'upsert'
        from students s where s.class_id = any(%s) and s.active order by s.id
        """, (KIND, day, class_ids))
