"""The school calendar as pure data: which dates are school days for one school.

A date is a school day when it is a make-up day, or else when it is one of the school's
weekdays and not a holiday. Entries for one school replace district-wide entries of the
same date (a school may keep a district holiday as a make-up day, or the reverse), so
the loader resolves scope first and this module only sees one school's answer per date.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

CalendarKind = Literal["holiday", "makeup"]

# ISO weekdays (1 = Monday). Vietnamese public schools teach Monday to Friday since the
# 2018 programme; a school that keeps Saturday classes overrides its weekdays.
MON_FRI: Final = frozenset({1, 2, 3, 4, 5})


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    day: date
    school_id: str | None  # None: the whole district
    kind: CalendarKind


@dataclass(frozen=True, slots=True)
class SchoolCalendar:
    weekdays: frozenset[int] = MON_FRI
    holidays: frozenset[date] = frozenset()
    makeup_days: frozenset[date] = frozenset()

    def is_school_day(self, day: date) -> bool:
        if day in self.makeup_days:
            return True
        if day in self.holidays:
            return False
        return day.isoweekday() in self.weekdays

    def school_days(self, first: date, last: date) -> Iterator[date]:
        """School days from ``first`` to ``last``, both included."""
        day = first
        while day <= last:
            if self.is_school_day(day):
                yield day
            day += timedelta(days=1)


def build_calendar(
    entries: Iterable[CalendarEntry], *, school_id: str, weekdays: frozenset[int] = MON_FRI
) -> SchoolCalendar:
    """One school's calendar from district-wide and per-school entries."""
    district: dict[date, CalendarKind] = {}
    own: dict[date, CalendarKind] = {}
    for entry in entries:
        if entry.school_id is None:
            district[entry.day] = entry.kind
        elif entry.school_id == school_id:
            own[entry.day] = entry.kind
    resolved = {**district, **own}
    return SchoolCalendar(
        weekdays=weekdays,
        holidays=frozenset(d for d, k in resolved.items() if k == "holiday"),
        makeup_days=frozenset(d for d, k in resolved.items() if k == "makeup"),
    )
