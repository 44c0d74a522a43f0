"""The attendance rule engine: one student's gate events of one day -> a DayRecord.

Pure: no database, no clock (``now`` is a parameter), so it is tested with tables.

Decisions, written down once:

* Only ``granted`` passages count; a denied or unknown decision did not let anyone in.
* A device without clock sync (``clock_synced is False``) is timed by the hub's receive
  time, as the ingest rollup does; the record is flagged ``clock-unsynced``.
* Taps in the same direction within ``DUPLICATE_WINDOW`` of the previous kept tap are one
  passage (a child holding the card on the reader); ``duplicates`` counts the collapsed.
* A pass at another school's gate is flagged ``other-school`` and never counts for this
  school's register: the child was not here.
* An exit with no entry before it (tailgating in, or a missed read) is flagged
  ``out-without-in``. The child was in school, so the day is ``present`` (arrival time
  unknown, never ``late``); the flag asks the teacher to check.
* Status: ``present`` when the first entry is at or before the late cutoff (start time +
  ``late_after_min``), ``late`` after it. An entry after the absent cutoff is still
  ``late`` (the child came) and flagged ``after-absent-cutoff`` (the parent was already
  told of an absence). No entry: ``pending`` while ``now`` is before the absent cutoff,
  ``absent`` from the cutoff on; ``now=None`` means the day is over.
* A day that is not a school day is ``no-school`` whatever the gates saw.
* A teacher's correction (``override``) wins over everything derived; times and flags
  stay as the gates saw them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from hub.attendance.calendar import SchoolCalendar
from hub.schools import Level, is_level

Direction = Literal["in", "out"]
Decision = Literal["granted", "denied", "unknown"]
Status = Literal["present", "late", "absent", "excused", "pending", "no-school"]
# What a correction may set: the derived states a teacher can assert.
CORRECTABLE: Final[frozenset[str]] = frozenset({"present", "late", "absent", "excused"})

FLAG_OTHER_SCHOOL: Final = "other-school"
FLAG_OUT_WITHOUT_IN: Final = "out-without-in"
FLAG_CLOCK_UNSYNCED: Final = "clock-unsynced"
FLAG_DUPLICATES: Final = "duplicate-taps"
FLAG_AFTER_ABSENT: Final = "after-absent-cutoff"
FLAG_CORRECTED: Final = "corrected"

# Two taps of one direction closer than this are one passage.
DUPLICATE_WINDOW: Final = timedelta(seconds=60)

DEFAULT_LATE_AFTER_MIN: Final = 0
DEFAULT_ABSENT_AFTER_MIN: Final = 15


@dataclass(frozen=True, slots=True)
class GateEvent:
    ts: datetime  # the device's clock
    direction: Direction
    decision: Decision
    school_id: str  # the school of the gate
    clock_synced: bool | None = None  # None: the device did not say (old firmware)
    received_at: datetime | None = None  # the hub's clock

    @property
    def at(self) -> datetime:
        if self.clock_synced is False and self.received_at is not None:
            return self.received_at
        return self.ts


@dataclass(frozen=True, slots=True)
class Rules:
    start_time: time
    late_after_min: int = DEFAULT_LATE_AFTER_MIN
    absent_after_min: int = DEFAULT_ABSENT_AFTER_MIN

    def __post_init__(self) -> None:
        if not 0 <= self.late_after_min <= self.absent_after_min:
            raise ValueError("need 0 <= late_after_min <= absent_after_min")

    def _at(self, day: date, tz: ZoneInfo, minutes: int) -> datetime:
        return datetime.combine(day, self.start_time, tz) + timedelta(minutes=minutes)

    def late_cutoff(self, day: date, tz: ZoneInfo) -> datetime:
        return self._at(day, tz, self.late_after_min)

    def absent_cutoff(self, day: date, tz: ZoneInfo) -> datetime:
        return self._at(day, tz, self.absent_after_min)


# Per school level; a school's own columns override these.
LEVEL_RULES: Final[dict[Level, Rules]] = {
    "mam_non": Rules(time(7, 30), late_after_min=0, absent_after_min=30),
    "tieu_hoc": Rules(time(7, 0)),
    "thcs": Rules(time(7, 0)),
    "th_thcs": Rules(time(7, 0)),
}


def rules_for(
    level: str,
    *,
    start_time: time | None = None,
    late_after_min: int | None = None,
    absent_after_min: int | None = None,
) -> Rules:
    """The level's defaults with the school's overrides (None keeps the default)."""
    base = LEVEL_RULES[level] if is_level(level) else Rules(time(7, 0))
    return Rules(
        start_time=start_time if start_time is not None else base.start_time,
        late_after_min=late_after_min if late_after_min is not None else base.late_after_min,
        absent_after_min=(
            absent_after_min if absent_after_min is not None else base.absent_after_min
        ),
    )


@dataclass(frozen=True, slots=True)
class DayRecord:
    day: date
    status: Status
    first_in: datetime | None = None
    last_out: datetime | None = None
    flags: frozenset[str] = field(default_factory=frozenset)
    passages: int = 0  # counted passages at this school after collapsing duplicates
    duplicates: int = 0


def _collapse(events: list[GateEvent]) -> tuple[list[GateEvent], int]:
    kept: list[GateEvent] = []
    last: dict[str, datetime] = {}
    dropped = 0
    for e in events:
        prev = last.get(e.direction)
        if prev is not None and e.at - prev < DUPLICATE_WINDOW:
            dropped += 1
            continue
        kept.append(e)
        last[e.direction] = e.at
    return kept, dropped


def derive_day(
    events: Iterable[GateEvent],
    *,
    day: date,
    school_id: str,
    rules: Rules,
    calendar: SchoolCalendar,
    tz: ZoneInfo,
    now: datetime | None = None,
    override: Status | None = None,
) -> DayRecord:
    granted = sorted((e for e in events if e.decision == "granted"), key=lambda e: e.at)
    # Only passages whose effective time falls on this day belong to it (an unsynced
    # clock may say yesterday while the hub received it today).
    granted = [e for e in granted if e.at.astimezone(tz).date() == day]
    flags: set[str] = set()
    if any(e.clock_synced is False for e in granted):
        flags.add(FLAG_CLOCK_UNSYNCED)
    here = [e for e in granted if e.school_id == school_id]
    if len(here) < len(granted):
        flags.add(FLAG_OTHER_SCHOOL)
    kept, dropped = _collapse(here)
    if dropped:
        flags.add(FLAG_DUPLICATES)
    first_in = next((e.at for e in kept if e.direction == "in"), None)
    outs = [e.at for e in kept if e.direction == "out"]
    last_out = outs[-1] if outs else None
    if outs and (first_in is None or outs[0] < first_in):
        flags.add(FLAG_OUT_WITHOUT_IN)

    status: Status
    if override is not None:
        status = override
        flags.add(FLAG_CORRECTED)
    elif not calendar.is_school_day(day):
        status = "no-school"
    elif first_in is not None:
        status = "late" if first_in > rules.late_cutoff(day, tz) else "present"
        if first_in > rules.absent_cutoff(day, tz):
            flags.add(FLAG_AFTER_ABSENT)
    elif outs:
        status = "present"
    elif now is not None and now < rules.absent_cutoff(day, tz):
        status = "pending"
    else:
        status = "absent"
    return DayRecord(
        day=day,
        status=status,
        first_in=first_in,
        last_out=last_out,
        flags=frozenset(flags),
        passages=len(kept),
        duplicates=dropped,
    )
