"""Lesson attendance, pure: one pupil's sightings in a lesson's room -> the lesson's status.

No database, no clock (``now`` is a parameter); tested with tables of cases.

Decisions, written down once:

* A sighting is a classroom device's gate event naming the lesson's room: a granted
  passage, or one refused only as a repeat (``anti-passback``), which still proves the
  pupil was at the door. The hub selects them; this module sees their times.
* The window opens ``early_min`` before the start (pupils come in during the break) and
  ``present`` runs to the start plus ``grace_min``; after that, up to the cutoff (the start
  plus ``cutoff_min``, never past the lesson's end), the pupil is ``late``. A pupil seen
  after the cutoff but before the end is ``late`` too and flagged ``after-cutoff`` (the
  teacher was already told they were missing, as a gate entry after the absent cutoff).
* Nobody seen: ``pending`` until the cutoff, ``absent`` from it on; ``now=None`` means the
  day is over.
* A date the school calendar does not count is ``no-school``.
* Corrections: a teacher's correction of the lesson wins; otherwise a day corrected to
  ``excused`` in the daily register excuses each of its lessons. Times stay as seen.
* "In school, not in class": absent from a lesson while the gate's last passage before
  the cutoff was an entry. A pupil who left through the gate is not in school.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

LessonStatus = Literal["present", "late", "absent", "excused", "pending", "no-school"]
Direction = Literal["in", "out"]

FLAG_AFTER_CUTOFF: Final = "after-cutoff"
FLAG_CORRECTED: Final = "corrected"
FLAG_DAY_EXCUSED: Final = "day-excused"
FLAG_NOT_IN_CLASS: Final = "in-school-not-in-class"
FLAG_NO_GATE_ENTRY: Final = "no-gate-entry"  # in class, never through the gate today

DEFAULT_EARLY_MIN: Final = 10
DEFAULT_GRACE_MIN: Final = 5
DEFAULT_CUTOFF_MIN: Final = 15


@dataclass(frozen=True, slots=True)
class LessonRules:
    early_min: int = DEFAULT_EARLY_MIN
    grace_min: int = DEFAULT_GRACE_MIN
    cutoff_min: int = DEFAULT_CUTOFF_MIN

    def __post_init__(self) -> None:
        if not (self.early_min >= 0 and 0 <= self.grace_min <= self.cutoff_min):
            raise ValueError("need 0 <= early_min and 0 <= grace_min <= cutoff_min")


@dataclass(frozen=True, slots=True)
class LessonTimes:
    """One lesson on one date, as moments in the district's time zone."""

    start: datetime
    end: datetime
    rules: LessonRules = LessonRules()

    @classmethod
    def on(cls, day: date, start: time, end: time, tz: ZoneInfo,
           rules: LessonRules = LessonRules()) -> LessonTimes:
        return cls(datetime.combine(day, start, tz), datetime.combine(day, end, tz), rules)

    @property
    def opens(self) -> datetime:
        return self.start - timedelta(minutes=self.rules.early_min)

    @property
    def late_after(self) -> datetime:
        return self.start + timedelta(minutes=self.rules.grace_min)

    @property
    def cutoff(self) -> datetime:
        return min(self.start + timedelta(minutes=self.rules.cutoff_min), self.end)


@dataclass(frozen=True, slots=True)
class LessonRecord:
    status: LessonStatus
    seen_at: datetime | None = None  # the first sighting in the window
    flags: frozenset[str] = field(default_factory=frozenset)


def derive_lesson(
    sightings: Iterable[datetime],
    *,
    times: LessonTimes,
    school_day: bool,
    now: datetime | None = None,
    override: LessonStatus | None = None,
    day_status: str | None = None,
) -> LessonRecord:
    """``sightings``: when the pupil was seen at the lesson's room door that day.
    ``day_status``: the daily register's correction for the day, if any."""
    inside = sorted(at for at in sightings if times.opens <= at < times.end)
    seen = inside[0] if inside else None
    if override is not None:
        return LessonRecord(override, seen, frozenset({FLAG_CORRECTED}))
    if day_status == "excused":
        return LessonRecord("excused", seen, frozenset({FLAG_DAY_EXCUSED}))
    if not school_day:
        return LessonRecord("no-school", seen)
    if seen is not None:
        if seen <= times.late_after:
            return LessonRecord("present", seen)
        if seen <= times.cutoff:
            return LessonRecord("late", seen)
        return LessonRecord("late", seen, frozenset({FLAG_AFTER_CUTOFF}))
    if now is not None and now < times.cutoff:
        return LessonRecord("pending")
    return LessonRecord("absent")


def in_school(passages: Iterable[tuple[datetime, Direction]], at: datetime) -> bool:
    """Whether the gate's last granted passage at or before ``at`` was an entry."""
    before = [p for p in passages if p[0] <= at]
    if not before:
        return False
    return max(before, key=lambda p: (p[0], p[1] == "out"))[1] == "in"


def not_in_class(record: LessonRecord, *, passages: Iterable[tuple[datetime, Direction]],
                 times: LessonTimes) -> bool:
    """Entered through the gate and not in this lesson by its cutoff."""
    return record.status == "absent" and in_school(passages, times.cutoff)


def with_gate_flags(record: LessonRecord, *, passages: Iterable[tuple[datetime, Direction]],
                    times: LessonTimes) -> LessonRecord:
    """The record with what the gate adds: in school but not in class, or in class without
    a gate entry (the gate was down, or the pupil came in another way)."""
    passages = list(passages)
    flags = set(record.flags)
    if not_in_class(record, passages=passages, times=times):
        flags.add(FLAG_NOT_IN_CLASS)
    if record.seen_at is not None and not any(d == "in" for _, d in passages):
        flags.add(FLAG_NO_GATE_ENTRY)
    if flags == record.flags:
        return record
    return LessonRecord(record.status, record.seen_at, frozenset(flags))
