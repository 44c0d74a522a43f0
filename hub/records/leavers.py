"""People leave: a pupil who leaves the school, or moves to another school of the district.

What a departure undoes, in one transaction:

- the pupil is no longer ``active``: their cards stay in the records (someone may still
  collect them) but every gate gets them as ``blocked`` at its next sync, and the hub's
  sync version for the school moves at once (hub.devices.sync), so the publisher tells
  the school's gates to fetch within seconds;
- their face encodings are deleted and the school's gallery version bumped (the consent
  records stay: they are the proof of what was agreed, not biometric data);
- their registers stay: ``attendance_daily`` keeps the school of each day, gate events
  keep their own retention, corrections their audit.

A transfer moves the pupil (and their cards) to the other school, without a class (the
receiving school places them) and without encodings (the receiving school enrolls again,
under the consents it holds). Both schools' gates resync. Only a district admin
transfers: it writes into a school the sending school's admin does not manage, and a
receiving school's admin must not be able to pull another school's pupil over.

Sections: rules (pure, tested as tables), then SQL.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

from hub.access import may_manage
from hub.db import Conn
from hub.devices.sync import sync_versions
from hub.records.consent import bump_gallery

MoveKind = Literal["leave", "transfer"]

MAX_REASON_LEN: Final = 200
# A leaving date is recorded after the fact, sometimes weeks late; a decade back is a typo.
MAX_DAYS_BACK: Final = 3660
# Who may transfer a pupil between schools (see the module docstring).
TRANSFER_ROLES: Final[frozenset[str]] = frozenset(("district_admin",))


# --- rules (pure) ------------------------------------------------------------------------


def leave_problems(*, day: date, today: date, reason: str | None) -> list[str]:
    """Why a leave (or transfer) with this date and reason cannot be recorded."""
    problems = []
    if day > today:
        # The cards stop now: a date in the future would say the pupil was still there.
        problems.append(f"date {day.isoformat()} is in the future (today is "
                        f"{today.isoformat()}); record the leave on or after the day")
    elif day < today - timedelta(days=MAX_DAYS_BACK):
        problems.append(f"date {day.isoformat()} is more than ten years ago")
    if reason is not None and len(reason.strip()) > MAX_REASON_LEN:
        problems.append(f"reason is longer than {MAX_REASON_LEN} characters")
    if reason is not None and "\x00" in reason:
        problems.append("reason contains a NUL character")
    return problems


def may_record_leave(role: str, user_school: str | None, school: str) -> bool:
    """A district admin anywhere, a school admin for a pupil of their own school."""
    return may_manage(role, user_school, school)


def may_transfer(role: str) -> bool:
    return role in TRANSFER_ROLES


def missing_from_roster(active: Collection[int], seen: Collection[int]) -> list[int]:
    """Active pupils of the school that a full roster did not name, in id order."""
    present = set(seen)
    return sorted(i for i in active if i not in present)


# --- SQL ---------------------------------------------------------------------------------


class MoveError(Exception):
    """The pupil cannot be moved: ``not_found`` (no such pupil), ``invalid`` (no such
    receiving school), else a conflict with what the records hold (already left)."""

    def __init__(self, message: str, *, not_found: bool = False,
                 invalid: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found
        self.invalid = invalid


@dataclass(frozen=True, slots=True)
class Pupil:
    id: int
    code: str
    school_id: str
    active: bool


@dataclass(frozen=True, slots=True)
class Move:
    code: str
    kind: MoveKind
    day: date
    from_school: str
    to_school: str | None
    cards: int  # cards the pupil holds: refused at the old school's gates from now on
    encodings_deleted: int
    sync_versions: dict[str, int]  # the schools whose gates resync, at their new version


_PUPIL: Final = "select id, code, school_id, active from students where code = %s"
_PUPIL_FOR_UPDATE: Final = _PUPIL + " for update"


def find_pupil(conn: Conn, code: str, *, lock: bool = False) -> Pupil | None:
    if "\x00" in code:  # PostgreSQL refuses NUL in text; no code holds one
        return None
    query = _PUPIL_FOR_UPDATE if lock else _PUPIL
    row = conn.execute(query, (code,)).fetchone()
    return Pupil(int(row[0]), str(row[1]), str(row[2]), bool(row[3])) if row else None


def _forget_face(conn: Conn, pupil: Pupil) -> int:
    deleted = conn.execute("delete from face_enrollments where student_id = %s",
                           (pupil.id,)).rowcount
    if deleted:
        bump_gallery(conn, pupil.school_id, f"left: {pupil.code}")
    return deleted


def _cards(conn: Conn, pupil: Pupil) -> int:
    row = conn.execute("select count(*) from cards where student_id = %s",
                       (pupil.id,)).fetchone()
    return int(row[0]) if row else 0


def _record(conn: Conn, pupil: Pupil, kind: MoveKind, day: date, to_school: str | None,
            reason: str | None, by: str) -> None:
    conn.execute(
        "insert into student_moves (student_id, kind, day, from_school, to_school, reason,"
        " moved_by) values (%s, %s, %s, %s, %s, %s, %s)",
        (pupil.id, kind, day, pupil.school_id, to_school, reason, by),
    )


def _clean(reason: str | None) -> str | None:
    return reason.strip() or None if reason is not None else None


def leave(conn: Conn, code: str, *, day: date, reason: str | None, by: str) -> Move:
    """Record that pupil ``code`` left on ``day``; their cards stop at the next sync.

    Leaving twice is refused (MoveError), so the first date and reason stay.
    """
    reason = _clean(reason)
    with conn.transaction():
        pupil = find_pupil(conn, code, lock=True)
        if pupil is None:
            raise MoveError(f"no pupil {code!r}", not_found=True)
        if not pupil.active:
            raise MoveError(f"{code} has already left")
        conn.execute("update students set active = false, left_on = %s, left_reason = %s"
                     " where id = %s", (day, reason, pupil.id))
        _record(conn, pupil, "leave", day, None, reason, by)
        deleted = _forget_face(conn, pupil)
        cards = _cards(conn, pupil)
    versions = sync_versions(conn, pupil.school_id)
    return Move(pupil.code, "leave", day, pupil.school_id, None, cards, deleted,
                {pupil.school_id: versions.get(pupil.school_id, 0)})


def transfer(conn: Conn, code: str, *, to_school: str, day: date, reason: str | None,
             by: str) -> Move:
    """Move pupil ``code`` to ``to_school`` (no class there yet, no encodings)."""
    reason = _clean(reason)
    with conn.transaction():
        pupil = find_pupil(conn, code, lock=True)
        if pupil is None:
            raise MoveError(f"no pupil {code!r}", not_found=True)
        if not pupil.active:
            raise MoveError(f"{code} has left; import them at the new school instead")
        if pupil.school_id == to_school:
            raise MoveError(f"{code} is already at school {to_school}")
        if conn.execute("select 1 from schools where id = %s", (to_school,)).fetchone() is None:
            raise MoveError(f"school {to_school!r} does not exist", invalid=True)
        _record(conn, pupil, "transfer", day, to_school, reason, by)
        deleted = _forget_face(conn, pupil)
        conn.execute("update students set school_id = %s, class_id = null where id = %s",
                     (to_school, pupil.id))
        cards = _cards(conn, pupil)
    versions = sync_versions(conn)
    return Move(pupil.code, "transfer", day, pupil.school_id, to_school, cards, deleted,
                {s: versions.get(s, 0) for s in (pupil.school_id, to_school)})


def active_pupils(conn: Conn, school: str) -> dict[int, str]:
    return {int(i): str(c) for i, c in conn.execute(
        "select id, code from students where school_id = %s and active", (school,))}


def mark_left(conn: Conn, school: str, ids: Collection[int], *, day: date, reason: str,
              by: str) -> int:
    """Mark the given pupils of ``school`` as left, inside the caller's transaction
    (the full-roster import); returns how many were marked."""
    marked = 0
    for ident in sorted(ids):
        row = conn.execute("select id, code, school_id, active from students where id = %s"
                           " and school_id = %s and active for update",
                           (ident, school)).fetchone()
        if row is None:
            continue
        pupil = Pupil(int(row[0]), str(row[1]), str(row[2]), bool(row[3]))
        conn.execute("update students set active = false, left_on = %s, left_reason = %s"
                     " where id = %s", (day, reason, pupil.id))
        _record(conn, pupil, "leave", day, None, reason, by)
        _forget_face(conn, pupil)
        marked += 1
    return marked
