"""Routing against the device registry: the hub never trusts the payload alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hub.ingest.routing import DEAD_LETTER_PAYLOAD_CAP, DeadLetter, Incoming, Store, route

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
