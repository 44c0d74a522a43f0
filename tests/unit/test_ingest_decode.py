"""``protocol.decode``'s fast path must agree with the stepwise checks on every input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protocol import Accepted, decode
from protocol.validate import decode_stepwise

GATE: dict[str, Any] = {"v": 1, "type": "gate", "device": "g1", "seq": 7,
                        "ts": "2026-11-30T07:00:00+07:00", "direction": "in",
                        "method": "card", "card_uid": "AB12", "decision": "granted"}
TELE: dict[str, Any] = {"v": 1, "type": "telemetry", "device": "c1", "seq": 1,
                        "ts": "2026-11-30T07:00:00+07:00", "metrics": {"env.temp_c": 21.5}}


def raw(doc: Any) -> bytes:
    return json.dumps(doc).encode()


CASES: list[tuple[str, str, bytes]] = [
    ("good gate", "ss/v1/s1/g1/event", raw(GATE)),
    ("good telemetry", "ss/v1/s1/c1/telemetry", raw(TELE)),
    ("extra field", "ss/v1/s1/g1/event", raw(GATE | {"future": 1})),
    ("device mismatch", "ss/v1/s1/g2/event", raw(GATE)),
    ("wrong channel", "ss/v1/s1/g1/telemetry", raw(GATE)),
    ("cmd on a device channel", "ss/v1/s1/g1/event",
     raw(GATE | {"type": "cmd", "id": "6f1c1b7e-8a7b-4a43-9c55-0f0c8a9e8f10", "name": "ping"})),
    ("unknown version", "ss/v1/s1/g1/event", raw(GATE | {"v": 2})),
    ("version as float", "ss/v1/s1/g1/event", raw(GATE | {"v": 1.0})),
    ("version as bool", "ss/v1/s1/g1/event", raw(GATE | {"v": True})),
    ("unknown type", "ss/v1/s1/g1/event", raw(GATE | {"type": "door"})),
    ("invalid field", "ss/v1/s1/g1/event", raw(GATE | {"direction": "up"})),
    ("seq as string", "ss/v1/s1/g1/event", raw(GATE | {"seq": "7"})),
    ("naive ts", "ss/v1/s1/g1/event", raw(GATE | {"ts": "2026-11-30T07:00:00"})),
    ("not json", "ss/v1/s1/g1/event", b"{nope"),
    ("not utf-8", "ss/v1/s1/g1/event", b"\xff\xfe{}"),
    ("not an object", "ss/v1/s1/g1/event", b"[1, 2]"),
    ("too large", "ss/v1/s1/g1/event", raw(GATE | {"reason": "x" * 70_000})),
    ("bad topic", "ss/v2/s1/g1/event", raw(GATE)),
    ("bad topic id", "ss/v1/S1/g1/event", raw(GATE)),
    ("empty", "ss/v1/s1/g1/event", b""),
]


@pytest.mark.parametrize(("name", "topic", "payload"), CASES, ids=[c[0] for c in CASES])
def test_fast_path_agrees_with_stepwise(name: str, topic: str, payload: bytes) -> None:
    fast, slow = decode(topic, payload), decode_stepwise(topic, payload)
    assert type(fast) is type(slow), name
    if isinstance(fast, Accepted):
        assert isinstance(slow, Accepted)
        assert fast.payload == slow.payload
        assert fast.topic == slow.topic
    else:
        assert fast == slow


def test_escaped_keys_take_the_authoritative_path() -> None:
    payload = raw(GATE).replace(b'"v": 1', b'"\\u0076": true')
    fast = decode("ss/v1/s1/g1/event", payload)
    slow = decode_stepwise("ss/v1/s1/g1/event", payload)
    assert fast == slow
    assert not isinstance(fast, Accepted)
