"""The lesson register: a class's lessons of one date, each pupil's status in each.

Loads what the pure rules (hub/attendance/lessons_rules.py) need: the class's timetable
for the date's weekday (hub/timetable), the school calendar (hub/attendance/service.py),
the pupils' sightings at the lesson rooms' doors (gate events of classroom devices, which
name a room) and their passages at the school's gates (events without a room), the
lesson corrections and the daily register's corrections. Also the lesson corrections
themselves, permitted and audited as the daily register's (hub/attendance/corrections.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

from hub.accounts.auth import User
from hub.attendance.corrections import CorrectionForbiddenError, may_correct
from hub.attendance.lessons_rules import (
    Direction,
    LessonRecord,
    LessonStatus,
    LessonTimes,
    derive_lesson,
    with_gate_flags,
)
from hub.attendance.reports import CorrectionInfo, NotFoundError
from hub.attendance.rules import CORRECTABLE
from hub.attendance.service import effective_now, load_setups
from hub.db import Conn
from hub.models import ApiModel
from hub.timetable.importer import Lesson, load_lessons

# An unsynced device may date a sighting on the wrong side of midnight (rules.py).
_MARGIN = timedelta(hours=12)


class LessonPupil(ApiModel):
    student: str
    full_name: str
    status: str
    seen_at: datetime | None
    flags: list[str]
    correction: CorrectionInfo | None


class LessonEntry(ApiModel):
    lesson_id: int
    period: int
    start: time
    end: time
    cutoff: datetime
    subject: str
    teacher: str | None
    room: str
    present: int
    late: int
    absent: int
    excused: int
    pending: int
    not_in_class: int  # absent while the gate says they are in school
    students: list[LessonPupil]


class LessonRegister(ApiModel):
    date: date
    school: str
    class_id: int
    class_name: str
    school_day: bool
    lessons: list[LessonEntry]


@dataclass(frozen=True, slots=True)
class Seen:
    """What the hub saw of some pupils on one day."""

    rooms: dict[int, dict[str, list[datetime]]]  # student id -> room (folded) -> times
    gates: dict[int, list[tuple[datetime, Direction]]]  # student id -> granted passages


def load_seen(conn: Conn, *, students: list[int], day: date, tz: ZoneInfo) -> Seen:
    lo = datetime.combine(day, time(0), tz) - _MARGIN
    hi = datetime.combine(day + timedelta(days=1), time(0), tz) + _MARGIN
    rooms: dict[int, dict[str, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    gates: dict[int, list[tuple[datetime, Direction]]] = defaultdict(list)
    rows = conn.execute(
        """
        select e.student_id, e.room, e.direction,
               case when e.clock_synced is false then e.received_at else e.ts end
        from gate_events e join students st on st.id = e.student_id
        where e.student_id = any(%s) and e.ts >= %s and e.ts < %s
          and e.school_id = st.school_id
          and (e.decision = 'granted' or (e.room is not null and e.reason = 'anti-passback'))
        """,
        (students, lo, hi),
    ).fetchall()
    for sid, room, direction, at in rows:
        if at.astimezone(tz).date() != day:
            continue
        if room is None:
            gates[sid].append((at, direction))
        else:
            rooms[sid][str(room).casefold()].append(at)
    return Seen(rooms=rooms, gates=gates)


def lessons_on(conn: Conn, *, class_id: int, day: date) -> list[Lesson]:
    return load_lessons(conn, class_id=class_id, weekday=day.isoweekday())


def lesson_register(conn: Conn, *, class_id: int, day: date, tz: ZoneInfo,
                    now: datetime) -> LessonRegister:
    row = conn.execute("select school_id, name from classes where id = %s",
                       (class_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"class {class_id} not found")
    school, class_name = row
    return lesson_registers(conn, school=school, classes=[(class_id, class_name)], day=day,
                            tz=tz, now=now)[0]


def lesson_registers(conn: Conn, *, school: str, classes: list[tuple[int, str]], day: date,
                     tz: ZoneInfo, now: datetime) -> list[LessonRegister]:
    """The registers of several classes of one school: one query each for the lessons,
    the pupils, their sightings and the corrections, whatever the number of classes (the
    school page and the notifier's sweep read many at once)."""
    setup = load_setups(conn, first=day, last=day, school=school)[school]
    school_day = setup.calendar.is_school_day(day)
    ids = [cid for cid, _ in classes]
    by_class: dict[int, list[Lesson]] = defaultdict(list)
    for lesson in load_lessons(conn, school=school, weekday=day.isoweekday()):
        if lesson.class_id in ids:
            by_class[lesson.class_id].append(lesson)
    pupils: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for sid, code, name, cid in conn.execute(
            "select id, code, full_name, class_id from students where class_id = any(%s)"
            " and (active or left_on > %s) order by full_name collate \"C\", code",
            (ids, day)).fetchall():
        pupils[cid].append((sid, code, name))
    students = [p[0] for group in pupils.values() for p in group]
    seen = load_seen(conn, students=students, day=day, tz=tz)
    day_status = dict(conn.execute(
        "select student_id, status from attendance_overrides where day = %s"
        " and student_id = any(%s)", (day, students)).fetchall())
    overrides: dict[tuple[int, int], CorrectionInfo] = {
        (sid, lid): CorrectionInfo(status=st, reason=reason, corrected_by=by, corrected_at=at)
        for sid, lid, st, reason, by, at in conn.execute(
            "select student_id, lesson_id, status, reason, corrected_by, corrected_at"
            " from lesson_overrides where day = %s and student_id = any(%s)",
            (day, students)).fetchall()
    }
    at_now = effective_now(day, tz, now)
    registers = []
    for class_id, class_name in classes:
        entries = []
        for lesson in by_class[class_id]:
            times = LessonTimes.on(day, lesson.start, lesson.end, tz)
            rows: list[LessonPupil] = []
            for sid, code, name in pupils[class_id]:
                correction = overrides.get((sid, lesson.id))
                record = pupil_record(
                    seen, sid, lesson, times, school_day=school_day, now=at_now,
                    override=correction.status if correction else None,  # type: ignore[arg-type]
                    day_status=day_status.get(sid))
                rows.append(LessonPupil(student=code, full_name=name, status=record.status,
                                        seen_at=record.seen_at, flags=sorted(record.flags),
                                        correction=correction))
            counts = {s: sum(1 for r in rows if r.status == s)
                      for s in ("present", "late", "absent", "excused", "pending")}
            entries.append(LessonEntry(
                lesson_id=lesson.id, period=lesson.period, start=lesson.start, end=lesson.end,
                cutoff=times.cutoff, subject=lesson.subject, teacher=lesson.teacher,
                room=lesson.room, **counts,
                not_in_class=sum(1 for r in rows if "in-school-not-in-class" in r.flags),
                students=rows))
        registers.append(LessonRegister(date=day, school=school, class_id=class_id,
                                        class_name=class_name, school_day=school_day,
                                        lessons=entries))
    return registers


def pupil_record(seen: Seen, student_id: int, lesson: Lesson, times: LessonTimes, *,
                 school_day: bool, now: datetime | None, override: LessonStatus | None,
                 day_status: str | None) -> LessonRecord:
    record = derive_lesson(seen.rooms.get(student_id, {}).get(lesson.room.casefold(), []),
                           times=times, school_day=school_day, now=now, override=override,
                           day_status=day_status)
    return with_gate_flags(record, passages=seen.gates.get(student_id, []), times=times)


# -- exports ------------------------------------------------------------------------------

LESSON_COLUMNS: tuple[str, ...] = ("period", "subject", "room", "student", "full_name",
                                   "status", "seen_at", "flags", "correction_reason",
                                   "corrected_by")


def lesson_table(register: LessonRegister, tz: ZoneInfo) -> tuple[list[str], list[list[Any]]]:
    """The register as one row per lesson and pupil, times in the district's wall time;
    one definition for the API's ``?format=`` and the dashboard's buttons."""
    rows = [
        [lesson.period, lesson.subject, lesson.room, p.student, p.full_name, p.status,
         p.seen_at.astimezone(tz) if p.seen_at else None, p.flags,
         p.correction.reason if p.correction else None,
         p.correction.corrected_by if p.correction else None]
        for lesson in register.lessons for p in lesson.students
    ]
    return list(LESSON_COLUMNS), rows


# -- corrections --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LessonCorrection:
    id: int
    student: str
    day: date
    lesson_id: int
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str
    corrected_by: str
    corrected_at: datetime


def _snapshot(record: LessonRecord) -> dict[str, Any]:
    return {"status": record.status,
            "seen_at": record.seen_at.isoformat() if record.seen_at else None,
            "flags": sorted(record.flags)}


def correct_lesson(conn: Conn, *, student_code: str, lesson_id: int, day: date,
                   status: LessonStatus, reason: str, user: User, tz: ZoneInfo,
                   now: datetime) -> LessonCorrection:
    """Set one pupil's status in one lesson; the same people may as for the daily register
    (the class's teacher, the school's admin, a district admin), with a reason, audited."""
    if status not in CORRECTABLE:
        raise ValueError(f"status must be one of {', '.join(sorted(CORRECTABLE))}")
    reason = reason.strip()
    if not reason:
        raise ValueError("a correction needs a reason")
    with conn.transaction():
        row = conn.execute(
            """
            select st.id, st.school_id, c.teacher_username, st.class_id
            from students st left join classes c on c.id = st.class_id
            where st.code = %s for update of st
            """, (student_code,)).fetchone()
        if row is None:
            raise NotFoundError(f"student {student_code} not found")
        student_id, school, teacher, class_id = row
        if not may_correct(user, school_id=school, teacher_username=teacher):
            raise CorrectionForbiddenError("only the class's teacher or a school admin")
        lesson = next((x for x in lessons_on(conn, class_id=class_id, day=day)
                       if x.id == lesson_id), None) if class_id is not None else None
        if lesson is None:
            raise NotFoundError(f"lesson {lesson_id} is not one of the pupil's lessons on {day}")
        setup = load_setups(conn, first=day, last=day, school=school)[school]
        times = LessonTimes.on(day, lesson.start, lesson.end, tz)
        seen = load_seen(conn, students=[student_id], day=day, tz=tz)

        def record(override: LessonStatus | None) -> LessonRecord:
            day_row = conn.execute("select status from attendance_overrides where student_id"
                                   " = %s and day = %s", (student_id, day)).fetchone()
            return pupil_record(seen, student_id, lesson, times,
                                school_day=setup.calendar.is_school_day(day),
                                now=effective_now(day, tz, now), override=override,
                                day_status=day_row[0] if day_row else None)

        old = conn.execute("select status from lesson_overrides where student_id = %s and"
                           " day = %s and lesson_id = %s",
                           (student_id, day, lesson_id)).fetchone()
        before = record(old[0] if old else None)
        conn.execute(
            """
            insert into lesson_overrides (student_id, day, lesson_id, status, reason,
                                          corrected_by, corrected_at)
            values (%s, %s, %s, %s, %s, %s, %s)
            on conflict (student_id, day, lesson_id) do update
                set status = excluded.status, reason = excluded.reason,
                    corrected_by = excluded.corrected_by, corrected_at = excluded.corrected_at
            """, (student_id, day, lesson_id, status, reason, user.username, now))
        after = record(status)
        audit = conn.execute(
            """
            insert into lesson_corrections (student_id, day, lesson_id, before, after, reason,
                                            corrected_by, corrected_at)
            values (%s, %s, %s, %s, %s, %s, %s, %s) returning id
            """, (student_id, day, lesson_id, Jsonb(_snapshot(before)), Jsonb(_snapshot(after)),
                  reason, user.username, now)).fetchone()
    assert audit is not None
    return LessonCorrection(int(audit[0]), student_code, day, lesson_id, _snapshot(before),
                            _snapshot(after), reason, user.username, now)


# -- the school's "in school, not in class" list ------------------------------------------

class NotInClassRow(ApiModel):
    student: str
    full_name: str
    class_id: int
    class_name: str
    lesson_id: int
    period: int
    subject: str
    room: str
    cutoff: datetime
    entered_at: datetime | None  # the gate entry that put them in school


def not_in_class(conn: Conn, *, school: str, day: date, tz: ZoneInfo,
                 now: datetime) -> list[NotInClassRow]:
    """Every pupil of ``school`` flagged in a lesson of ``day`` so far, by lesson time."""
    classes = [(int(cid), str(name)) for cid, name in conn.execute(
        "select distinct c.id, c.name from timetable_lessons t join classes c on c.id ="
        " t.class_id where t.school_id = %s and t.weekday = %s order by c.name",
        (school, day.isoweekday())).fetchall()]
    registers = lesson_registers(conn, school=school, classes=classes, day=day, tz=tz,
                                 now=now) if classes else []
    flagged = [(register, lesson, p) for register in registers for lesson in register.lessons
               for p in lesson.students if "in-school-not-in-class" in p.flags]
    entered = _first_entries(conn, codes=sorted({p.student for _, _, p in flagged}), day=day,
                             tz=tz) if flagged else {}
    out = [NotInClassRow(student=p.student, full_name=p.full_name,
                         class_id=register.class_id, class_name=register.class_name,
                         lesson_id=lesson.lesson_id, period=lesson.period,
                         subject=lesson.subject, room=lesson.room, cutoff=lesson.cutoff,
                         entered_at=entered.get(p.student))
           for register, lesson, p in flagged]
    return sorted(out, key=lambda r: (r.cutoff, r.class_name, r.full_name))


def _first_entries(conn: Conn, *, codes: list[str], day: date,
                   tz: ZoneInfo) -> dict[str, datetime]:
    lo = datetime.combine(day, time(0), tz)
    rows = conn.execute(
        """
        select st.code, min(case when e.clock_synced is false then e.received_at else e.ts end)
        from gate_events e join students st on st.id = e.student_id
        where st.code = any(%s) and e.room is null and e.direction = 'in'
          and e.decision = 'granted' and e.ts >= %s and e.ts < %s
        group by st.code
        """, (codes, lo, lo + timedelta(days=1))).fetchall()
    return {str(code): at for code, at in rows}
