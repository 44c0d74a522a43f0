"""Projector sources: what a classroom agent reads about its projector.

Metric values follow PJLink's vocabulary (POWR and ERST), so a real PJLink
source can replace the simulated one without the hub noticing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

Power = Literal["off", "on", "cooling", "warming"]
Fault = Literal["fan", "lamp", "temp", "cover", "filter", "other"]


@dataclass(frozen=True, slots=True)
class ProjectorReading:
    power: Power
    lamp_hours: int
    error: str  # "ok" or the failing component

    def metrics(self) -> dict[str, str | int]:
        return {
            "projector.power": self.power,
            "projector.lamp_hours": self.lamp_hours,
            "projector.error": self.error,
        }


class ProjectorSource(Protocol):
    tag: str

    def read(self, now: datetime) -> ProjectorReading: ...


class SimulatedProjector:
    """Power, lamp hours that advance with the (possibly compressed) clock, settable faults."""

    def __init__(self, tag: str, *, lamp_hours: float = 0.0, power: Power = "off") -> None:
        self.tag = tag
        self._lamp_hours = lamp_hours
        self._power: Power = power
        self._fault: Fault | None = None
        self._since: datetime | None = None

    def _advance(self, now: datetime) -> None:
        if self._since is not None and self._power == "on" and now > self._since:
            self._lamp_hours += (now - self._since).total_seconds() / 3600
        self._since = now

    def set_power(self, on: bool, now: datetime) -> None:
        self._advance(now)
        self._power = "on" if on else "off"

    def set_fault(self, fault: Fault | None, now: datetime) -> None:
        """A lamp or temperature fault switches the projector off, as real ones do."""
        self._advance(now)
        self._fault = fault
        if fault in ("lamp", "temp", "fan"):
            self._power = "off"

    @property
    def power(self) -> Power:
        return self._power

    def read(self, now: datetime) -> ProjectorReading:
        self._advance(now)
        return ProjectorReading(self._power, int(self._lamp_hours), self._fault or "ok")
