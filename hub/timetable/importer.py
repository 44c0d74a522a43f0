"""Import a school's timetable: read the file, check every row, then replace the school's
lessons with the file's in one transaction. Shared by the CLI and the API.

The file is the school's whole timetable: a lesson of the school the file no longer names
is deleted. A lesson is identified by (class, weekday, period), so importing the same file
again changes nothing, and a corrected file keeps the ids (and the corrections) of the
lessons it still names. With any error nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import time
from typing import Any, Final

import psycopg

from hub.db import Conn
from hub.records.tables import TableError, read_rows
from hub.records.validate import RowError
from hub.timetable.rows import (
    COLUMNS,
    LessonRow,
    clashes,
    find_header,
    parse_lessons,
    resolve,
)

# Serialises two imports into one school (the records import uses 0x5C5C_0005).
TIMETABLE_LOCK_ID: Final = 0x5C5C_0024


class UnknownSchool(LookupError):
    pass


@dataclass(slots=True)
class TimetableReport:
    file: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rooms_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    written: bool = False

    def lines(self) -> list[str]:
        return [e.render(self.file) for e in self.errors]


@dataclass(frozen=True, slots=True)
class Lesson:
    """One stored lesson of the weekly timetable."""

    id: int
    school: str
    class_id: int
    class_name: str
    weekday: int
    period: int
    start: time
    end: time
    subject: str
    teacher: str | None
    room: str


def _class_rooms(conn: Conn, school: str) -> dict[str, tuple[int, str, str | None]]:
    """Case-folded class name -> (id, name, its own room's name)."""
    rows = conn.execute(
        "select c.id, c.name, r.name from classes c left join rooms r on r.id = c.room_id"
        " where c.school_id = %s", (school,)).fetchall()
    return {str(name).casefold(): (int(cid), str(name), room) for cid, name, room in rows}


def _with_rooms(lessons: list[LessonRow], classes: dict[str, tuple[int, str, str | None]],
                header: dict[str, str]) -> tuple[list[LessonRow], list[RowError]]:
    out: list[LessonRow] = []
    errors: list[RowError] = []
    for lesson in lessons:
        if lesson.room is not None:
            out.append(lesson)
            continue
        own = classes[lesson.class_name.casefold()][2]
        if own is None:
            errors.append(RowError(lesson.row, header.get("room", "Phòng"),
                                   f"no room: write one, {lesson.class_name} has no room of "
                                   "its own in the records"))
            continue
        out.append(replace(lesson, room=own))
    return out, errors


def import_timetable(
    conn: Conn, data: bytes, *, file: str, school: str, dry_run: bool = False,
) -> TimetableReport:
    """Import ``data`` (the bytes of ``file``) as ``school``'s timetable; commits unless
    there is an error or ``dry_run``. ``conn`` must not be inside a transaction."""
    report = TimetableReport(file=file)
    if conn.execute("select 1 from schools where id = %s", (school,)).fetchone() is None:
        raise UnknownSchool(f"school {school!r} does not exist")
    try:
        rows = read_rows(data, file)
    except TableError as exc:
        report.errors.append(RowError(0, "", str(exc)))
        return report
    found = find_header(rows)
    if found is None:
        expected = ", ".join(c.header for c in COLUMNS if c.required)
        report.errors.append(RowError(0, "", f"no header row found (expected {expected})"))
        return report
    layout = resolve(rows[found], header_row=found + 1)
    if isinstance(layout, list):
        report.errors = [RowError(found + 1, p.column, p.reason) for p in layout]
        return report
    numbered = [(found + 2 + i, cells) for i, cells in enumerate(rows[found + 1:])]
    report.rows = sum(1 for _, cells in numbered if any(c.strip() for c in cells))
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s, hashtext(%s))",
                     (TIMETABLE_LOCK_ID, school))
        classes = _class_rooms(conn, school)
        lessons, errors = parse_lessons(
            numbered, layout, classes={k: v[1] for k, v in classes.items()})
        header = dict(layout.header)
        lessons, room_errors = _with_rooms(lessons, classes, header)
        errors += room_errors + clashes(lessons, header)
        report.errors = sorted(errors, key=lambda e: (e.row, e.column))
        _write(conn, school, lessons, classes, report)
        if dry_run or report.errors:
            # The counts say what the import would have done.
            raise psycopg.Rollback()
        report.written = True
    return report


def _write(conn: Conn, school: str, lessons: list[LessonRow],
           classes: dict[str, tuple[int, str, str | None]], report: TimetableReport) -> None:
    existing = {
        (int(cid), int(wd), int(p)): (int(lid), (st, en, subj, teacher, room))
        for lid, cid, wd, p, st, en, subj, teacher, room in conn.execute(
            "select id, class_id, weekday, period, starts_at, ends_at, subject, teacher, room"
            " from timetable_lessons where school_id = %s", (school,)).fetchall()
    }
    known_rooms = {str(r[0]).casefold() for r in conn.execute(
        "select name from rooms where school_id = %s", (school,)).fetchall()}
    new_rooms: dict[str, str] = {}
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    kept: set[int] = set()
    for lesson in lessons:
        assert lesson.room is not None
        if lesson.room.casefold() not in known_rooms:
            # Devices and classes name rooms by this table; a timetable room joins it.
            new_rooms.setdefault(lesson.room.casefold(), lesson.room)
        class_id = classes[lesson.class_name.casefold()][0]
        values: tuple[Any, ...] = (lesson.start, lesson.end, lesson.subject, lesson.teacher,
                                   lesson.room)
        found = existing.get((class_id, lesson.weekday, lesson.period))
        if found is None:
            inserts.append((school, class_id, lesson.weekday, lesson.period, *values))
            continue
        lesson_id, stored = found
        kept.add(lesson_id)
        if stored == values:
            report.unchanged += 1
        else:
            updates.append((*values, lesson_id))
    gone = [lid for lid, _ in existing.values() if lid not in kept]
    # One statement per kind of change, many rows each: a district's timetables are ten
    # thousand rows, and a round trip per row made the demo's start wait seconds.
    with conn.cursor() as cur:
        if new_rooms:
            cur.executemany("insert into rooms (school_id, name) values (%s, %s)"
                            " on conflict do nothing",
                            [(school, name) for name in new_rooms.values()])
        if gone:
            cur.execute("delete from timetable_lessons where id = any(%s)", (gone,))
        if updates:
            cur.executemany("update timetable_lessons set starts_at = %s, ends_at = %s,"
                            " subject = %s, teacher = %s, room = %s where id = %s", updates)
        if inserts:
            cur.executemany(
                "insert into timetable_lessons (school_id, class_id, weekday, period,"
                " starts_at, ends_at, subject, teacher, room)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, %s)", inserts)
    report.rooms_created = len(new_rooms)
    report.inserted, report.updated, report.deleted = len(inserts), len(updates), len(gone)


def load_lessons(conn: Conn, *, school: str | None = None, class_id: int | None = None,
                 weekday: int | None = None, starts_after: time | None = None) -> list[Lesson]:
    """Stored lessons, by class, weekday and period; ``starts_after``: only those starting
    at or after that time of day."""
    rows = conn.execute(
        """
        select t.id, t.school_id, t.class_id, c.name, t.weekday, t.period, t.starts_at,
               t.ends_at, t.subject, t.teacher, t.room
        from timetable_lessons t join classes c on c.id = t.class_id
        where (%(school)s::text is null or t.school_id = %(school)s)
          and (%(class_id)s::bigint is null or t.class_id = %(class_id)s)
          and (%(weekday)s::smallint is null or t.weekday = %(weekday)s)
          and (%(after)s::time is null or t.starts_at >= %(after)s)
        order by c.name, t.weekday, t.period
        """,
        {"school": school, "class_id": class_id, "weekday": weekday, "after": starts_after},
    ).fetchall()
    return [Lesson(*row) for row in rows]
