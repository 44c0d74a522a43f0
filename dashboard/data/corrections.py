"""The one thing the registers' pages change: a correction of a pupil's day or lesson.

Corrections go through hub.attendance.corrections.correct and
hub.attendance.lessons.correct_lesson, the functions behind POST
/api/v1/attendance/{student}/{day}/correction and
/api/v1/attendance/lessons/{lesson}/{student}/{day}/correction: the same rule
(``may_correct``: the class's teacher, the school's admin, a district admin), the same
override and the same audit row, with the signed-in account as the one who corrected.
The account is read again from the database (``acting_user``), as the API reads the
token's, so a disabled or deleted account corrects nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, cast
from zoneinfo import ZoneInfo

from dashboard.access import KIOSK_ROLE, Viewer
from hub.accounts.auth import User, get_user
from hub.attendance import corrections, lessons
from hub.attendance.corrections import CorrectionForbiddenError, CorrectionResult
from hub.attendance.lessons import LessonCorrection
from hub.attendance.lessons_rules import LessonStatus
from hub.attendance.reports import NotFoundError
from hub.attendance.rules import Status
from hub.db import Conn

__all__ = ["CorrectionError", "CorrectionResult", "LessonCorrection", "acting_user",
           "correct_day", "correct_in_lesson", "may_correct_class"]

ErrorKind = Literal["session", "forbidden", "not-found", "invalid"]


class CorrectionError(Exception):
    """A correction the hub refused, by why: the page words each kind."""

    def __init__(self, kind: ErrorKind, detail: str = "") -> None:
        super().__init__(detail or kind)
        self.kind: ErrorKind = kind


def acting_user(conn: Conn, viewer: Viewer | None) -> User | None:
    """The hub account the viewer signed in as; None for nobody, the kiosk (not a hub
    account, whatever a hub account of that name may be) or a disabled account."""
    if viewer is None or viewer.role == KIOSK_ROLE:
        return None
    user = get_user(conn, username=viewer.username)
    return None if user is None or user.disabled else user


def may_correct_class(conn: Conn, viewer: Viewer | None, class_id: int) -> bool:
    """Does the hub's rule let this account correct the class's registers? Decides
    whether the page shows the control; the hub checks again on every save."""
    row = conn.execute("select school_id, teacher_username from classes where id = %s",
                       (class_id,)).fetchone()
    user = acting_user(conn, viewer) if row is not None else None
    if row is None or user is None:
        return False
    return corrections.may_correct(user, school_id=str(row[0]), teacher_username=row[1])


def _acting(conn: Conn, viewer: Viewer | None) -> User:
    user = acting_user(conn, viewer)
    if user is None:
        raise CorrectionError("session")
    return user


def correct_day(conn: Conn, viewer: Viewer | None, *, student: str, day: date, status: str,
                reason: str, tz: ZoneInfo, now: datetime) -> CorrectionResult:
    """Correct a pupil's day as the signed-in account. Raises CorrectionError."""
    user = _acting(conn, viewer)
    try:
        return corrections.correct(conn, student_code=student, day=day,
                                   status=cast(Status, status), reason=reason, user=user,
                                   tz=tz, now=now)
    except NotFoundError as exc:
        raise CorrectionError("not-found", str(exc)) from exc
    except CorrectionForbiddenError as exc:
        raise CorrectionError("forbidden", str(exc)) from exc
    except ValueError as exc:  # a status or reason the hub refuses
        raise CorrectionError("invalid", str(exc)) from exc


def correct_in_lesson(conn: Conn, viewer: Viewer | None, *, student: str, lesson_id: int,
                      day: date, status: str, reason: str, tz: ZoneInfo,
                      now: datetime) -> LessonCorrection:
    """Correct a pupil's status in one lesson as the signed-in account. Raises
    CorrectionError."""
    user = _acting(conn, viewer)
    try:
        return lessons.correct_lesson(conn, student_code=student, lesson_id=lesson_id,
                                      day=day, status=cast(LessonStatus, status),
                                      reason=reason, user=user, tz=tz, now=now)
    except NotFoundError as exc:
        raise CorrectionError("not-found", str(exc)) from exc
    except CorrectionForbiddenError as exc:
        raise CorrectionError("forbidden", str(exc)) from exc
    except ValueError as exc:
        raise CorrectionError("invalid", str(exc)) from exc
