"""What the lesson register page reads: the school's classes with lessons, one class's
lesson register, the school's "in school, not in class" list and the export table.

Read through hub.attendance.lessons, the code GET /api/v1/attendance/lessons answers
with. Who may see a school is the page's check (dashboard.access); a register names its
school so the page can check a class it was handed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.attendance import lessons
from hub.attendance.lessons import LessonRegister, NotInClassRow
from hub.attendance.reports import NotFoundError
from hub.db import Conn


@dataclass(frozen=True, slots=True)
class LessonPage:
    school: str
    name: str
    classes: list[tuple[int, str]]  # (id, name) of the classes with a timetable


def load_page(conn: Conn, school: str) -> LessonPage | None:
    row = conn.execute("select name from schools where id = %s", (school,)).fetchone()
    if row is None:
        return None
    classes = conn.execute(
        "select c.id, c.name from classes c where c.school_id = %s and exists"
        " (select 1 from timetable_lessons t where t.class_id = c.id)"
        " order by c.name", (school,)).fetchall()
    return LessonPage(school, str(row[0]), [(int(i), str(n)) for i, n in classes])


def load_lessons(conn: Conn, class_id: int, tz: ZoneInfo, now: datetime) -> LessonRegister | None:
    """Today's lesson register of a class, whatever its school (the caller checks)."""
    try:
        return lessons.lesson_register(conn, class_id=class_id, day=now.astimezone(tz).date(),
                                       tz=tz, now=now)
    except NotFoundError:
        return None


def load_not_in_class(conn: Conn, school: str, tz: ZoneInfo, now: datetime) -> list[NotInClassRow]:
    return lessons.not_in_class(conn, school=school, day=now.astimezone(tz).date(), tz=tz,
                                now=now)


def lesson_export(register: LessonRegister, tz: ZoneInfo) -> tuple[str, date, list[str],
                                                                   list[list[Any]]]:
    """(file name, day, columns, rows) of the register's export."""
    columns, rows = lessons.lesson_table(register, tz)
    return (f"diem-danh-tiet-hoc-{register.class_name}-{register.date}", register.date,
            columns, rows)
