"""The ``gate.hours:`` section: weekly opening windows and closed dates (holidays).

Outside them a student is denied (``outside-hours``) and staff pass; see
``edge.gate.policy``. No section: the gate keeps no hours.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from core.configbase import StrictModel
from edge.gate.policy import Schedule, Window

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"


class WindowConfig(StrictModel):
    days: list[Day] = Field(
        min_length=1, max_length=7, description="Days of the week this window applies to"
    )
    open: str = Field(pattern=CLOCK_PATTERN, description="Local time the gate opens, 'HH:MM'")
    close: str = Field(
        pattern=CLOCK_PATTERN, description="Local time it closes, 'HH:MM' (24:00: midnight)"
    )

    @field_validator("open", "close", mode="before")
    @classmethod
    def _quoted(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted 7:30 as the base-60 integer 450 (06:30 stays a string).
        if isinstance(value, int):
            raise ValueError("write times in quotes, e.g. '06:30': YAML 1.1 reads 7:30 as a number")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> WindowConfig:
        if _clock(self.open) >= _clock(self.close):
            raise ValueError(f"window opens at {self.open} but closes at {self.close}")
        return self

    def window(self) -> Window:
        return Window(frozenset(DAYS.index(day) for day in self.days),
                      _clock(self.open), _clock(self.close))


def _clock(text: str) -> time:
    if text == "24:00":
        return time.max
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


class HoursConfig(StrictModel):
    windows: list[WindowConfig] = Field(
        default_factory=list, max_length=32,
        description="When students may pass; none at all means never (staff only)",
    )
    closed_dates: list[date] = Field(
        default_factory=list, max_length=400,
        description="Dates the school is closed (holidays, Tết): students are refused all day",
    )

    def schedule(self) -> Schedule:
        return Schedule(tuple(w.window() for w in self.windows), frozenset(self.closed_dates))
