"""Teachers' corrections of a day record: permission, the override, and the audit trail.

The audit row keeps the record as the register showed it before and after, so a
later question ("who marked An excused on the 5th, and what did the gates say?") has
one answer. Audit rows are only ever inserted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

from hub.accounts.auth import User
from hub.attendance.reports import NotFoundError
from hub.attendance.rules import CORRECTABLE, DayRecord, Status
from hub.attendance.service import derive_students, load_setups
from hub.db import Conn


class CorrectionForbiddenError(PermissionError):
    """The caller may not correct this student's record."""


@dataclass(frozen=True, slots=True)
class CorrectionResult:
    id: int
    student: str
    day: date
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str
    corrected_by: str
    corrected_at: datetime


def _snapshot(record: DayRecord) -> dict[str, Any]:
    return {
        "status": record.status,
        "first_in": record.first_in.isoformat() if record.first_in else None,
        "last_out": record.last_out.isoformat() if record.last_out else None,
        "flags": sorted(record.flags),
    }


def may_correct(user: User, *, school_id: str, teacher_username: str | None) -> bool:
    if user.role == "district_admin":
        return True
    if user.school_id != school_id:
        return False
    if user.role == "school_admin":
        return True
    return user.role == "teacher" and teacher_username == user.username


def correct(
    conn: Conn,
    *,
    student_code: str,
    day: date,
    status: Status,
    reason: str,
    user: User,
    tz: ZoneInfo,
    now: datetime,
) -> CorrectionResult:
    if status not in CORRECTABLE:
        raise ValueError(f"status must be one of {', '.join(sorted(CORRECTABLE))}")
    reason = reason.strip()
    if not reason:
        raise ValueError("a correction needs a reason")
    with conn.transaction():
        row = conn.execute(
            """
            select st.id, st.school_id, c.teacher_username
            from students st left join classes c on c.id = st.class_id
            where st.code = %s
            for update of st
            """,  # the row lock serialises two corrections of one student
            (student_code,),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"student {student_code} not found")
        student_id, school_id, teacher = row
        if not may_correct(user, school_id=school_id, teacher_username=teacher):
            raise CorrectionForbiddenError("only the class's teacher or a school admin")
        setups = load_setups(conn, first=day, last=day, school=school_id)
        students = [(student_id, school_id)]
        before = derive_students(conn, students=students, day=day, setups=setups, tz=tz,
                                 now=now)[student_id]
        conn.execute(
            """
            insert into attendance_overrides (student_id, day, status, reason, corrected_by,
                                              corrected_at)
            values (%s, %s, %s, %s, %s, %s)
            on conflict (student_id, day) do update
                set status = excluded.status, reason = excluded.reason,
                    corrected_by = excluded.corrected_by, corrected_at = excluded.corrected_at
            """,
            (student_id, day, status, reason, user.username, now),
        )
        after = derive_students(conn, students=students, day=day, setups=setups, tz=tz,
                                now=now)[student_id]
        audit = conn.execute(
            """
            insert into attendance_corrections (student_id, day, before, after, reason,
                                                corrected_by, corrected_at)
            values (%s, %s, %s, %s, %s, %s, %s) returning id
            """,
            (student_id, day, Jsonb(_snapshot(before)), Jsonb(_snapshot(after)), reason,
             user.username, now),
        ).fetchone()
    assert audit is not None
    return CorrectionResult(
        id=int(audit[0]), student=student_code, day=day, before=_snapshot(before),
        after=_snapshot(after), reason=reason, corrected_by=user.username, corrected_at=now,
    )


def list_corrections(
    conn: Conn, *, student_code: str, day: date
) -> tuple[str, list[CorrectionResult]]:
    """(the student's school, the day's corrections oldest first)."""
    row = conn.execute("select id, school_id from students where code = %s",
                       (student_code,)).fetchone()
    if row is None:
        raise NotFoundError(f"student {student_code} not found")
    rows = conn.execute(
        """
        select id, before, after, reason, corrected_by, corrected_at
        from attendance_corrections where student_id = %s and day = %s order by id
        """,
        (row[0], day),
    ).fetchall()
    return row[1], [
        CorrectionResult(id=i, student=student_code, day=day, before=b, after=a, reason=r,
                         corrected_by=by, corrected_at=at)
        for i, b, a, r, by, at in rows
    ]
