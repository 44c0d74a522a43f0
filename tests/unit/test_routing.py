"""Routing against the device registry: the hub never trusts the payload alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hub.ingest.routing import (
    DEAD_LETTER_PAYLOAD_CAP,
    ROLE_TYPES,
    ROOM_EVENTS,
    DeadLetter,
    Incoming,
    Registered,
    Store,
    route,
)

REGISTRY = {"g1": "s1", "c1": "s1", "g2": "s2"}
NOW = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


def msg(topic: str, device: str, **extra: object) -> Incoming:
    body = {"v": 1, "type": "gate", "device": device, "seq": 1,
            "ts": "2026-11-30T07:00:00+07:00", "direction": "in", "method": "card",
            "card_uid": "AB12", "decision": "granted", **extra}
    return Incoming(topic, json.dumps(body).encode(), NOW)


@pytest.mark.parametrize(
    ("message", "outcome"),
    [
        (msg("ss/v1/s1/g1/event", "g1"), "store"),
        (msg("ss/v1/s2/g2/event", "g2"), "store"),
        (msg("ss/v1/s1/g9/event", "g9"), "unregistered-device"),
        (msg("ss/v1/s2/g1/event", "g1"), "school-mismatch"),
        (msg("ss/v1/s1/g1/event", "g2"), "device-mismatch"),
        (msg("ss/v1/s1/g1/event", "g1", direction="up"), "invalid"),
        (Incoming("ss/v1/s1/g1/event", b"\x00garbage", NOW), "not-json"),
        (Incoming("nonsense", b"{}", NOW), "bad-topic"),
    ],
)
def test_route(message: Incoming, outcome: str) -> None:
    result = route(message, REGISTRY)
    if outcome == "store":
        assert isinstance(result, Store)
        assert result.accepted.topic.device == result.accepted.payload.device
    else:
        assert isinstance(result, DeadLetter)
        assert result.reason == outcome
        assert result.detail


def test_dead_letter_payload_is_capped() -> None:
    big = Incoming("ss/v1/s1/g1/event", b"x" * 100_000, NOW)
    result = route(big, REGISTRY)
    assert isinstance(result, DeadLetter)
    assert result.reason == "too-large"
    assert len(result.capped_payload) == DEAD_LETTER_PAYLOAD_CAP


# The registry as the hub loads it: each device's school and role.
ROLES = {"g1": Registered("s1", "gate"), "c1": Registered("s1", "classroom"),
         "g2": Registered("s2", "gate"), "x1": Registered("s1", "printer")}


def typed(topic: str, device: str, kind: str, room: str | None = None) -> Incoming:
    bodies: dict[str, dict[str, object]] = {
        "gate": {"direction": "in", "method": "card", "card_uid": "AB12",
                 "decision": "granted"},
        "telemetry": {"metrics": {"cpu.temp_c": 51.5}},
        "status": {"state": "online", "fw": "1.0", "role": "gate",
                   "boot": "2026-11-30T06:00:00+07:00"},
        "reply": {"id": "7f0c1f64-7b8a-4d5e-9c57-2d1d3c1d2e3f", "ok": True},
    }
    body = {"v": 1, "type": kind, "device": device, "seq": 1,
            "ts": "2026-11-30T07:00:00+07:00", **bodies[kind]}
    if room is not None:
        body["room"] = room
    return Incoming(topic, json.dumps(body).encode(), NOW)


@pytest.mark.parametrize(
    ("message", "outcome"),
    [
        (typed("ss/v1/s1/g1/event", "g1", "gate"), "store"),
        (typed("ss/v1/s1/g1/telemetry", "g1", "telemetry"), "store"),
        (typed("ss/v1/s1/g1/status", "g1", "status"), "store"),
        (typed("ss/v1/s1/g1/reply", "g1", "reply"), "store"),
        # a classroom's gate events are sightings at its room's door: they name the room
        (typed("ss/v1/s1/c1/event", "c1", "gate"), "wrong-role"),
        (typed("ss/v1/s1/c1/event", "c1", "gate", room="P101"), "store"),
        (typed("ss/v1/s1/g1/event", "g1", "gate", room="P101"), "wrong-role"),
        (typed("ss/v1/s1/c1/telemetry", "c1", "telemetry"), "store"),
        (typed("ss/v1/s1/c1/status", "c1", "status"), "store"),
        (typed("ss/v1/s1/c1/reply", "c1", "reply"), "store"),
        # a role the hub does not know may send nothing
        (typed("ss/v1/s1/x1/telemetry", "x1", "telemetry"), "wrong-role"),
        # the checks before the role still come first
        (typed("ss/v1/s2/c1/event", "c1", "gate"), "school-mismatch"),
        (typed("ss/v1/s1/c9/event", "c9", "gate"), "unregistered-device"),
        (typed("ss/v1/s1/c1/telemetry", "c1", "gate"), "wrong-channel"),
    ],
)
def test_route_by_role(message: Incoming, outcome: str) -> None:
    result = route(message, ROLES)
    if outcome == "store":
        assert isinstance(result, Store), result
    else:
        assert isinstance(result, DeadLetter)
        assert result.reason == outcome
        assert result.detail
    if outcome == "wrong-role":
        assert isinstance(result, DeadLetter)
        assert "may not send" in result.detail or "gate events name" in result.detail


def test_only_classrooms_send_room_events() -> None:
    assert "gate" in ROLE_TYPES["gate"]
    assert ROOM_EVENTS == {"gate": False, "classroom": True}
    # no role may send the hub's own commands
    assert all("cmd" not in types for types in ROLE_TYPES.values())
