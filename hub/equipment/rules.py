"""The alarm rule engine: pure, no database and no MQTT, fed readings and clock ticks.

The engine keeps, per (subject, alarm type), whether a condition is pending (waiting out
its duration) or active, and answers each reading or tick with the transitions to
persist: ``raise`` or ``clear``. The caller (hub.equipment.evaluator) stores them; the
alarm lifecycle (acknowledge, clear by a person) lives in hub.equipment.alarms.

Clocks: threshold durations run on the reading's own timestamp (the device's clock, the
series the chart shows); silence (no data, offline) runs on the hub's clock, because a
device that stopped talking has no clock to ask.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal

Severity = Literal["critical", "major", "minor", "warning"]
Kind = Literal["raise", "clear"]
Value = float | bool | str | None

LAMP_LIFE: Final = "lamp_life"
PROJECTOR_ERROR: Final = "projector_error"
ERROR_PART_PREFIX: Final = "projector.error."
ROOM_TEMP_HIGH: Final = "room_temp_high"
NO_DATA: Final = "no_data"
DEVICE_OFFLINE: Final = "device_offline"

# Defaults, named so tests and deployments can see and change them.
LAMP_LIFE_SHARE: Final = 0.9  # lamp hours at 90 % of the rated life
ROOM_TEMP_HIGH_C: Final = 35.0
ROOM_TEMP_CLEAR_C: Final = 33.0  # hysteresis: 2 degrees below the raise level
ROOM_TEMP_FOR_S: Final = 120.0
NO_DATA_AFTER_S: Final = 300.0


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    """Raise when ``metric`` stays above ``above`` for ``for_s`` seconds; clear below
    ``clear_below`` (at most ``above``), so a value hovering at the limit does not flap."""

    alarm_type: str
    metric: str
    above: float
    clear_below: float
    for_s: float = 0.0
    severity: Severity = "major"

    def __post_init__(self) -> None:
        if self.clear_below > self.above:
            raise ValueError(f"{self.alarm_type}: clear_below must be <= above")
        if self.for_s < 0:
            raise ValueError(f"{self.alarm_type}: for_s must be >= 0")


DEFAULT_THRESHOLDS: Final = (
    ThresholdRule(ROOM_TEMP_HIGH, "env.temp_c", ROOM_TEMP_HIGH_C, ROOM_TEMP_CLEAR_C,
                  ROOM_TEMP_FOR_S, "major"),
    ThresholdRule("threshold:cpu.temp_c", "cpu.temp_c", 80.0, 75.0, 60.0, "minor"),
)


@dataclass(frozen=True, slots=True)
class RuleSet:
    thresholds: tuple[ThresholdRule, ...] = DEFAULT_THRESHOLDS
    lamp_life_share: float = LAMP_LIFE_SHARE
    no_data_after_s: float = NO_DATA_AFTER_S
    lamp_severity: Severity = "minor"
    error_severity: Severity = "major"
    # ERST level 1: the projector still works (a filter to clean, a cover ajar)
    warning_severity: Severity = "minor"
    offline_severity: Severity = "major"
    no_data_severity: Severity = "minor"


@dataclass(frozen=True, slots=True)
class Reading:
    subject: str  # asset tag, or the device id for the device's own metrics
    device: str
    metric: str
    ts: datetime  # device clock
    received_at: datetime  # hub clock
    value: Value


@dataclass(frozen=True, slots=True)
class DeviceView:
    """A device as the registry sees it on a tick."""

    device: str
    state: str  # online / offline / unknown (status and Last Will)
    last_seen: datetime | None
    offline_after_s: float


@dataclass(frozen=True, slots=True)
class Transition:
    kind: Kind
    subject: str
    device: str
    alarm_type: str
    at: datetime  # hub clock
    severity: Severity = "minor"
    message: str = ""
    value: str | None = None


@dataclass(slots=True)
class _Condition:
    pending_since: datetime | None = None
    active: bool = False


@dataclass(slots=True)
class Engine:
    """Alarm state per (subject, type). Not thread-safe: one evaluator thread owns it."""

    rules: RuleSet = field(default_factory=RuleSet)
    rated_lamp_hours: dict[str, int] = field(default_factory=dict)  # asset tag -> hours
    _conditions: dict[tuple[str, str], _Condition] = field(default_factory=dict)
    _last_heard: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    # subject -> component -> ERST level (1 warning, 2 error) from projector.error.<part>
    _error_levels: dict[str, dict[str, int]] = field(default_factory=dict)

    def set_rated(self, rated: Mapping[str, int]) -> None:
        self.rated_lamp_hours = dict(rated)

    def mark_active(self, subject: str, alarm_type: str) -> None:
        """An alarm open in the database (after a restart): its clearing must be seen."""
        self._conditions.setdefault((subject, alarm_type), _Condition()).active = True

    def heard(self, subject: str, device: str, at: datetime) -> None:
        """Seed the no-data clock of a subject (say from the registry after a restart)."""
        known = self._last_heard.get(subject)
        if known is None or known[1] < at:
            self._last_heard[subject] = (device, at)

    def active(self) -> set[tuple[str, str]]:
        return {key for key, c in self._conditions.items() if c.active}

    # -- readings ---------------------------------------------------------------------

    def feed(self, reading: Reading) -> list[Transition]:
        out: list[Transition] = []
        self.heard(reading.subject, reading.device, reading.received_at)
        out += self._set(reading, NO_DATA, False)
        for rule in self.rules.thresholds:
            if rule.metric == reading.metric:
                out += self._threshold(rule, reading)
        if reading.metric == "projector.lamp_hours":
            out += self._lamp(reading)
        elif reading.metric == "projector.error":
            out += self._error(reading)
        elif reading.metric.startswith(ERROR_PART_PREFIX) and not isinstance(reading.value, str):
            level = int(reading.value) if reading.value is not None else 0
            self._error_levels.setdefault(reading.subject, {})[
                reading.metric.removeprefix(ERROR_PART_PREFIX)] = level
        return out

    def _set(
        self,
        reading: Reading,
        alarm_type: str,
        on: bool,
        *,
        severity: Severity = "minor",
        message: str = "",
    ) -> list[Transition]:
        """Move a condition without duration: on raises once, off clears once."""
        key = (reading.subject, alarm_type)
        cond = self._conditions.get(key)
        if on and (cond is None or not cond.active):
            self._conditions[key] = _Condition(active=True)
            return [Transition("raise", reading.subject, reading.device, alarm_type,
                               reading.received_at, severity, message, _text(reading.value))]
        if not on and cond is not None and cond.active:
            del self._conditions[key]
            return [Transition("clear", reading.subject, reading.device, alarm_type,
                               reading.received_at, value=_text(reading.value))]
        return []

    def _threshold(self, rule: ThresholdRule, reading: Reading) -> list[Transition]:
        value = _number(reading.value)
        if value is None:
            return []
        key = (reading.subject, rule.alarm_type)
        cond = self._conditions.setdefault(key, _Condition())
        if cond.active:
            if value < rule.clear_below:
                del self._conditions[key]
                return [Transition("clear", reading.subject, reading.device, rule.alarm_type,
                                   reading.received_at, value=_text(value))]
            return []
        if value <= rule.above:
            cond.pending_since = None
            return []
        if cond.pending_since is None or cond.pending_since > reading.ts:
            cond.pending_since = reading.ts
        if reading.ts - cond.pending_since < timedelta(seconds=rule.for_s):
            return []
        cond.active, cond.pending_since = True, None
        message = f"{rule.metric} = {value:g} > {rule.above:g}"
        if rule.for_s:
            message += f" for {rule.for_s:g} s"
        return [Transition("raise", reading.subject, reading.device, rule.alarm_type,
                           reading.received_at, rule.severity, message, _text(value))]

    def _lamp(self, reading: Reading) -> list[Transition]:
        rated = self.rated_lamp_hours.get(reading.subject)
        hours = _number(reading.value)
        if not rated or hours is None:
            return []
        share = hours / rated
        return self._set(
            reading, LAMP_LIFE, share >= self.rules.lamp_life_share,
            severity=self.rules.lamp_severity,
            message=f"lamp {hours:g} h of {rated} h rated ({share:.0%})",
        )

    def _error(self, reading: Reading) -> list[Transition]:
        """``projector.error`` names the worst component; its ERST level, reported as
        ``projector.error.<part>`` in the same message (the evaluator feeds those
        first), tells a warning (minor) from an error (major). Unknown level: major."""
        text = _text(reading.value)
        failing = text is not None and text.strip().lower() not in ("ok", "")
        level = self._error_levels.get(reading.subject, {}).get((text or "").strip().lower())
        warning = level == 1
        return self._set(reading, PROJECTOR_ERROR, failing,
                         severity=self.rules.warning_severity if warning
                         else self.rules.error_severity,
                         message=f"projector {'warning' if warning else 'error'}: {text}")

    # -- the clock --------------------------------------------------------------------

    def tick(self, now: datetime, devices: Iterable[DeviceView] = ()) -> list[Transition]:
        out: list[Transition] = []
        for view in devices:
            offline = view.state == "offline" or (
                view.last_seen is not None
                and (now - view.last_seen).total_seconds() > view.offline_after_s
            )
            probe = Reading(view.device, view.device, "", now, now,
                            view.last_seen.isoformat() if view.last_seen else None)
            out += self._set(probe, DEVICE_OFFLINE, offline,
                             severity=self.rules.offline_severity,
                             message=f"device {view.device} offline")
        limit = timedelta(seconds=self.rules.no_data_after_s)
        for subject, (device, heard) in self._last_heard.items():
            # A device's own silence is the offline alarm; no-data is for its assets.
            if subject != device and now - heard > limit:
                probe = Reading(subject, device, "", now, now, heard.isoformat())
                out += self._set(probe, NO_DATA, True, severity=self.rules.no_data_severity,
                                 message=f"no telemetry since {heard.isoformat()}")
        return out


def _number(value: Value) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    return None


def _text(value: Value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
