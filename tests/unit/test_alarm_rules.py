"""The pure alarm engine, as tables of cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.equipment.rules import (
    DEVICE_OFFLINE,
    LAMP_LIFE,
    NO_DATA,
    PROJECTOR_ERROR,
    ROOM_TEMP_HIGH,
    DeviceView,
    Engine,
    Reading,
    RuleSet,
    ThresholdRule,
    Value,
)

T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
ROOM_RULE = ThresholdRule(ROOM_TEMP_HIGH, "env.temp_c", 35.0, 33.0, 60.0)


def reading(metric: str, value: Value, at_s: float, subject: str = "r1") -> Reading:
    at = T0 + timedelta(seconds=at_s)
    return Reading(subject, "r1", metric, at, at, value)


def run(engine: Engine, steps: list[tuple[str, Value, float]]) -> list[str]:
    """Feed (metric, value, seconds) steps; return 'raise:type@s' / 'clear:type@s'."""
    out = []
    for metric, value, at in steps:
        for t in engine.feed(reading(metric, value, at)):
            out.append(f"{t.kind}:{t.alarm_type}@{(t.at - T0).total_seconds():g}")
    return out


THRESHOLD_CASES = [
    pytest.param([("env.temp_c", 30.0, 0)], [], id="below"),
    pytest.param([("env.temp_c", 36.0, 0), ("env.temp_c", 36.0, 30)], [],
                 id="above-but-not-long-enough"),
    pytest.param([("env.temp_c", 36.0, 0), ("env.temp_c", 36.5, 60)],
                 [f"raise:{ROOM_TEMP_HIGH}@60"], id="above-for-the-duration"),
    pytest.param([("env.temp_c", 36.0, 0), ("env.temp_c", 34.0, 30), ("env.temp_c", 36.0, 60)],
                 [], id="dip-restarts-the-duration"),
    pytest.param([("env.temp_c", 36.0, 0), ("env.temp_c", 36.0, 60), ("env.temp_c", 34.0, 70)],
                 [f"raise:{ROOM_TEMP_HIGH}@60"], id="hysteresis-holds-between-limits"),
    pytest.param([("env.temp_c", 36.0, 0), ("env.temp_c", 36.0, 60), ("env.temp_c", 32.9, 70)],
                 [f"raise:{ROOM_TEMP_HIGH}@60", f"clear:{ROOM_TEMP_HIGH}@70"],
                 id="clears-below-clear-level"),
    pytest.param([("env.temp_c", 36.0, 0), ("env.temp_c", 36.0, 60), ("env.temp_c", 37.0, 90)],
                 [f"raise:{ROOM_TEMP_HIGH}@60"], id="raised-once"),
    pytest.param([("env.temp_c", "n/a", 0)], [], id="text-ignored"),
    pytest.param([("cpu.temp_c", 99.0, 0)], [], id="other-metric"),
]


@pytest.mark.parametrize(("steps", "expected"), THRESHOLD_CASES)
def test_threshold(steps: list[tuple[str, Value, float]], expected: list[str]) -> None:
    engine = Engine(RuleSet(thresholds=(ROOM_RULE,)))
    assert run(engine, steps) == expected


def test_zero_duration_raises_on_first_reading() -> None:
    engine = Engine(RuleSet(thresholds=(ThresholdRule("threshold:x", "x", 1.0, 0.5),)))
    assert run(engine, [("x", 2.0, 0)]) == ["raise:threshold:x@0"]


def test_rule_refuses_clear_above_raise() -> None:
    with pytest.raises(ValueError, match="clear_below"):
        ThresholdRule("t", "m", 10.0, 11.0)


LAMP_CASES = [
    pytest.param([("projector.lamp_hours", 3500, 0)], [], id="under-90pct"),
    pytest.param([("projector.lamp_hours", 3600, 0)], [f"raise:{LAMP_LIFE}@0"], id="at-90pct"),
    pytest.param([("projector.lamp_hours", 3700, 0), ("projector.lamp_hours", 3710, 10)],
                 [f"raise:{LAMP_LIFE}@0"], id="once"),
    pytest.param([("projector.lamp_hours", 3700, 0), ("projector.lamp_hours", 0, 10)],
                 [f"raise:{LAMP_LIFE}@0", f"clear:{LAMP_LIFE}@10"], id="lamp-replaced"),
]


@pytest.mark.parametrize(("steps", "expected"), LAMP_CASES)
def test_lamp_life(steps: list[tuple[str, Value, float]], expected: list[str]) -> None:
    engine = Engine(rated_lamp_hours={"r1": 4000})
    assert run(engine, steps) == expected


def test_lamp_without_rated_life_never_alarms() -> None:
    assert run(Engine(), [("projector.lamp_hours", 99999, 0)]) == []


ERROR_CASES = [
    pytest.param([("projector.error", "ok", 0)], [], id="ok"),
    pytest.param([("projector.error", "lamp", 0)], [f"raise:{PROJECTOR_ERROR}@0"], id="lamp"),
    pytest.param([("projector.error", "fan", 0), ("projector.error", "temp", 5)],
                 [f"raise:{PROJECTOR_ERROR}@0"], id="one-open-alarm-per-type"),
    pytest.param([("projector.error", "fan", 0), ("projector.error", "OK", 5)],
                 [f"raise:{PROJECTOR_ERROR}@0", f"clear:{PROJECTOR_ERROR}@5"], id="recovers"),
]


@pytest.mark.parametrize(("steps", "expected"), ERROR_CASES)
def test_projector_error(steps: list[tuple[str, Value, float]], expected: list[str]) -> None:
    assert run(Engine(), steps) == expected


def test_error_message_names_component() -> None:
    [t] = Engine().feed(reading("projector.error", "filter", 0))
    assert t.value == "filter" and "filter" in t.message and t.severity == "major"


SEVERITY_CASES = [
    pytest.param(1, "minor", "projector warning: filter", id="erst-warning"),
    pytest.param(2, "major", "projector error: filter", id="erst-error"),
    pytest.param(None, "major", "projector error: filter", id="level-unknown"),
]


@pytest.mark.parametrize(("level", "severity", "message"), SEVERITY_CASES)
def test_a_warning_is_minor_an_error_major(level: int | None, severity: str,
                                           message: str) -> None:
    engine = Engine()
    if level is not None:
        assert engine.feed(reading("projector.error.filter", level, 0)) == []
    [t] = engine.feed(reading("projector.error", "filter", 0))
    assert (t.severity, t.message) == (severity, message)


OFFLINE_CASES = [
    pytest.param("online", 10, [], id="recent"),
    pytest.param("online", 601, ["raise"], id="silent-past-timeout"),
    pytest.param("offline", 1, ["raise"], id="last-will"),
    pytest.param("unknown", None, [], id="never-seen"),
]


@pytest.mark.parametrize(("state", "silent_s", "expected"), OFFLINE_CASES)
def test_device_offline(state: str, silent_s: float | None, expected: list[str]) -> None:
    now = T0 + timedelta(hours=1)
    seen = None if silent_s is None else now - timedelta(seconds=silent_s)
    out = Engine().tick(now, [DeviceView("r1", state, seen, 600)])
    assert [t.kind for t in out] == expected
    assert all(t.alarm_type == DEVICE_OFFLINE and t.subject == "r1" for t in out)


def test_offline_raises_once_and_clears_when_back() -> None:
    engine = Engine()
    now = T0 + timedelta(hours=1)
    view = DeviceView("r1", "offline", now, 600)
    assert len(engine.tick(now, [view])) == 1
    assert engine.tick(now + timedelta(seconds=1), [view]) == []
    back = DeviceView("r1", "online", now + timedelta(seconds=2), 600)
    [t] = engine.tick(now + timedelta(seconds=3), [back])
    assert t.kind == "clear"


def test_no_data_for_an_asset_then_back() -> None:
    engine = Engine(RuleSet(no_data_after_s=60))
    engine.feed(reading("projector.power", "on", 0, subject="PJ-1"))
    assert engine.tick(T0 + timedelta(seconds=59)) == []
    [t] = engine.tick(T0 + timedelta(seconds=61))
    assert (t.kind, t.alarm_type, t.subject) == ("raise", NO_DATA, "PJ-1")
    assert engine.tick(T0 + timedelta(seconds=70)) == []
    [back] = engine.feed(reading("projector.power", "on", 80, subject="PJ-1"))
    assert (back.kind, back.alarm_type) == ("clear", NO_DATA)


def test_no_data_not_raised_for_the_device_itself() -> None:
    engine = Engine(RuleSet(no_data_after_s=60))
    engine.feed(reading("cpu.temp_c", 50.0, 0, subject="r1"))
    assert engine.tick(T0 + timedelta(seconds=600)) == []


def test_mark_active_lets_a_restart_see_the_clear() -> None:
    engine = Engine()
    engine.mark_active("r1", PROJECTOR_ERROR)
    [t] = engine.feed(reading("projector.error", "ok", 0))
    assert t.kind == "clear"
