"""Projector sources: what a classroom agent reads about its projector.

Metric values follow PJLink's vocabulary (POWR and ERST), so the PJLink source
(``edge.projector.client.PjlinkProjector``) and the simulated one look the same to
the hub.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from edge.metrics import MetricValue

Power = Literal["off", "on", "cooling", "warming"]
Fault = Literal["fan", "lamp", "temp", "cover", "filter", "other"]
FAULTS: tuple[Fault, ...] = ("fan", "lamp", "temp", "cover", "filter", "other")  # ERST order
Severity = Literal[0, 1, 2]  # PJLink ERST: 0 ok, 1 warning, 2 error


@dataclass(frozen=True, slots=True)
class ProjectorReading:
    """One look at a projector. ``None`` is "not known this time" and is not published.

    An unreachable projector (switched off at the mains, unplugged network) is a
    normal reading with ``reachable=False``, not an error.
    """

    power: Power | None
    lamp_hours: int | None
    error: str | None  # "ok" or the failing component
    reachable: bool = True
    lamp_on: bool | None = None
    errors: Mapping[Fault, Severity] = field(default_factory=dict)
    input: str | None = None
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None

    @classmethod
    def unreachable(cls) -> ProjectorReading:
        return cls(None, None, None, reachable=False)

    def metrics(self) -> dict[str, MetricValue]:
        """What the projector said, by docs/protocol.md metric name; unknowns left out."""
        out: dict[str, MetricValue] = {}
        optional: dict[str, MetricValue | None] = {
            "projector.power": self.power,
            "projector.lamp_hours": self.lamp_hours,
            "projector.error": self.error,
            "projector.lamp_on": self.lamp_on,
            "projector.input": self.input,
            "projector.name": self.name,
            "projector.manufacturer": self.manufacturer,
            "projector.model": self.model,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        out.update({f"projector.error.{part}": level for part, level in self.errors.items()})
        return out

    def telemetry(self) -> dict[str, MetricValue]:
        """What is published: reachability first, and lamp on/off derived from the
        power state when the source does not report the lamp itself."""
        out: dict[str, MetricValue] = {"projector.reachable": self.reachable, **self.metrics()}
        if self.lamp_on is None and self.power is not None:
            out["projector.lamp_on"] = self.power in ("on", "warming")
        return out


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
