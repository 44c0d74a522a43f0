"""Protocol v1: topics and payload validation as tables of cases, plus property tests."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import Accepted, Channel, GatePayload, Reason, Rejected, Topic, TopicError, decode
from protocol.ids import ID_PATTERN
from protocol.schema import payload_schema
from protocol.topics import subscription

TOPIC = "ss/v1/th-hai-thanh/th-hai-thanh-gate-1/event"
TS = "2026-11-30T07:01:02.345+07:00"


def gate(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "v": 1, "type": "gate", "device": "th-hai-thanh-gate-1", "seq": 7, "ts": TS,
        "direction": "in", "method": "card", "card_uid": "04A1B2C3D4", "person": None,
        "distance": None, "decision": "granted", "reason": None,
    }
    base.update(over)
    return base


def telemetry(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "v": 1, "type": "telemetry", "device": "d1", "seq": 1, "ts": TS, "asset": "PJ-1",
        "metrics": {"projector.power": True, "projector.lamp_hours": 1234, "cpu.temp_c": 51.5,
                    "projector.error": "lamp"},
    }
    base.update(over)
    return base


def raw(obj: Any) -> bytes:
    return json.dumps(obj).encode()


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("ss/v1/s1/d1/event", Topic("s1", "d1", Channel.EVENT)),
        ("ss/v1/th-hai-thanh/g-2/status", Topic("th-hai-thanh", "g-2", Channel.STATUS)),
        ("ss/v1/0/0/cmd", Topic("0", "0", Channel.CMD)),
    ],
)
def test_topic_parse_valid(topic: str, expected: Topic) -> None:
    assert Topic.parse(topic) == expected
    assert str(expected) == topic


@pytest.mark.parametrize(
    "topic",
    [
        "ss/v2/s1/d1/event",  # unknown version segment
        "ss/v1/s1/d1/events",  # unknown channel
        "ss/v1/S1/d1/event",  # upper case id
        "ss/v1/-s1/d1/event",  # id must start with a letter or digit
        "ss/v1/s1/d1",  # too short
        "ss/v1/s1/d1/event/x",  # too long
        "xx/v1/s1/d1/event",
        "ss/v1//d1/event",
        "ss/v1/" + "a" * 65 + "/d1/event",  # id longer than 64
        "ss/v1/s_1/d1/event",
    ],
)
def test_topic_parse_invalid(topic: str) -> None:
    with pytest.raises(TopicError):
        Topic.parse(topic)


def test_subscription_filters() -> None:
    assert subscription(Channel.EVENT) == "ss/v1/+/+/event"
    assert subscription(Channel.EVENT, share_group="hub") == "$share/hub/ss/v1/+/+/event"
    assert subscription(Channel.CMD, school="s1", device="d1") == "ss/v1/s1/d1/cmd"


VALID = [
    (TOPIC, gate()),
    (TOPIC, gate(method="face", card_uid=None, person="th-hai-thanh-00012", distance=0.41)),
    (TOPIC, gate(decision="denied", reason="unknown-card", clock_synced=False)),
    (TOPIC, gate(extra_field_from_newer_device=1)),  # v1 grows by optional fields
    (TOPIC, gate(seq=0)),
    ("ss/v1/s1/d1/telemetry", telemetry()),
    ("ss/v1/s1/d1/telemetry", telemetry(asset=None, metrics={"net.reachable": False})),
    ("ss/v1/s1/d1/status", {"v": 1, "type": "status", "device": "d1", "seq": 3, "ts": TS,
                            "state": "offline", "fw": "0.1.0", "role": "gate", "ip": None,
                            "boot": TS}),
    ("ss/v1/s1/d1/reply", {"v": 1, "type": "reply", "device": "d1", "seq": 4, "ts": TS,
                           "id": "6f1c1c1e-8d52-4c1e-9f0e-0e7e6d1a2b3c", "ok": True,
                           "detail": "pong"}),
    ("ss/v1/s1/d1/cmd", {"v": 1, "type": "cmd", "device": "d1", "seq": 1, "ts": TS,
                         "id": "6f1c1c1e-8d52-4c1e-9f0e-0e7e6d1a2b3c", "name": "open-gate",
                         "args": {"seconds": 3}}),
    # end-to-end delivery (issue #11): the outbox incarnation, and the hub's ack
    (TOPIC, gate(inc="0123456789abcdef")),
    (TOPIC, gate(inc=None)),
    ("ss/v1/s1/d1/ack", {"v": 1, "type": "ack", "device": "d1", "seq": 41, "ts": TS,
                         "inc": "0123456789abcdef", "upto": 41,
                         "session": "fedcba9876543210"}),
    ("ss/v1/s1/d1/ack", {"v": 1, "type": "ack", "device": "d1", "seq": 7, "ts": TS,
                         "inc": None, "upto": 7, "session": "fedcba9876543210"}),
]


@pytest.mark.parametrize(("topic", "obj"), VALID)
def test_valid_payloads(topic: str, obj: dict[str, Any]) -> None:
    result = decode(topic, raw(obj))
    assert isinstance(result, Accepted), result
    assert result.payload.type == obj["type"]
    assert result.payload.seq == obj["seq"]


INVALID = [
    ("bad/topic", raw(gate()), Reason.BAD_TOPIC),
    (TOPIC, b"x" * (64 * 1024 + 1), Reason.TOO_LARGE),
    (TOPIC, b"\xff\xfe{}", Reason.NOT_UTF8),
    (TOPIC, b"{not json", Reason.NOT_JSON),
    (TOPIC, b"[1, 2]", Reason.NOT_OBJECT),
    (TOPIC, raw(gate(v=2)), Reason.UNKNOWN_VERSION),
    (TOPIC, raw(gate(v="1")), Reason.UNKNOWN_VERSION),
    (TOPIC, raw(gate(v=True)), Reason.UNKNOWN_VERSION),
    (TOPIC, raw({k: v for k, v in gate().items() if k != "v"}), Reason.UNKNOWN_VERSION),
    (TOPIC, raw(gate(type="door")), Reason.UNKNOWN_TYPE),
    (TOPIC, raw(telemetry(device="th-hai-thanh-gate-1")), Reason.WRONG_CHANNEL),
    (TOPIC, raw(gate(device="someone-else")), Reason.DEVICE_MISMATCH),
    (TOPIC, raw(gate(seq=-1)), Reason.INVALID),
    (TOPIC, raw(gate(seq="7")), Reason.INVALID),
    (TOPIC, raw(gate(seq=True)), Reason.INVALID),
    (TOPIC, raw(gate(seq=2**63)), Reason.INVALID),
    (TOPIC, raw(gate(ts="2026-11-30T07:01:02")), Reason.INVALID),  # no offset
    (TOPIC, raw(gate(ts="yesterday")), Reason.INVALID),
    (TOPIC, raw(gate(ts=1764460862)), Reason.INVALID),
    (TOPIC, raw(gate(direction="sideways")), Reason.INVALID),
    (TOPIC, raw(gate(method="retina")), Reason.INVALID),
    (TOPIC, raw(gate(card_uid="04a1b2c3")), Reason.INVALID),  # lower-case hex
    (TOPIC, raw(gate(card_uid="XYZ")), Reason.INVALID),
    (TOPIC, raw(gate(decision="maybe")), Reason.INVALID),
    (TOPIC, raw(gate(distance=-0.1)), Reason.INVALID),
    (TOPIC, raw({k: v for k, v in gate().items() if k != "decision"}), Reason.INVALID),
    ("ss/v1/s1/d1/telemetry", raw(telemetry(metrics={})), Reason.INVALID),
    ("ss/v1/s1/d1/telemetry", raw(telemetry(metrics={"CPU.Temp": 1})), Reason.INVALID),
    ("ss/v1/s1/d1/telemetry", raw(telemetry(metrics={"a": [1, 2]})), Reason.INVALID),
    ("ss/v1/s1/d1/telemetry", raw(telemetry(metrics={"a": "x" * 129})), Reason.INVALID),
    ("ss/v1/s1/d1/status", raw({"v": 1, "type": "status", "device": "d1", "seq": 1, "ts": TS,
                                "state": "asleep", "fw": "1", "role": "gate", "boot": TS}),
     Reason.INVALID),
    ("ss/v1/s1/d1/reply", raw({"v": 1, "type": "reply", "device": "d1", "seq": 1, "ts": TS,
                               "id": "not-a-uuid", "ok": True}), Reason.INVALID),
    ("ss/v1/s1/d1/event", raw({"v": 1, "type": "cmd", "device": "d1", "seq": 1, "ts": TS,
                               "id": "6f1c1c1e-8d52-4c1e-9f0e-0e7e6d1a2b3c", "name": "ping"}),
     Reason.WRONG_CHANNEL),
    (TOPIC, raw(gate(inc="0123")), Reason.INVALID),  # too short to be an identity
    (TOPIC, raw(gate(inc="0123456789ABCDEF")), Reason.INVALID),  # lower-case hex only
    (TOPIC, raw(gate(inc=7)), Reason.INVALID),
    # a device cannot pass an ack off as its own message, nor the hub a gate event as ack
    (TOPIC, raw({"v": 1, "type": "ack", "device": "th-hai-thanh-gate-1", "seq": 1, "ts": TS,
                 "upto": 1, "session": "fedcba9876543210"}), Reason.WRONG_CHANNEL),
    ("ss/v1/s1/d1/ack", raw(gate(device="d1")), Reason.WRONG_CHANNEL),
    ("ss/v1/s1/d1/ack", raw({"v": 1, "type": "ack", "device": "d1", "seq": 1, "ts": TS,
                             "upto": -1, "session": "fedcba9876543210"}), Reason.INVALID),
]


@pytest.mark.parametrize(("topic", "payload", "reason"), INVALID)
def test_invalid_payloads(topic: str, payload: bytes, reason: Reason) -> None:
    result = decode(topic, payload)
    assert isinstance(result, Rejected), result
    assert result.reason == reason, result.detail
    assert result.detail


def test_invalid_detail_names_the_field() -> None:
    result = decode(TOPIC, raw(gate(direction="sideways")))
    assert isinstance(result, Rejected)
    assert result.detail.startswith("direction:")


def test_round_trip_through_model() -> None:
    result = decode(TOPIC, raw(gate()))
    assert isinstance(result, Accepted)
    assert isinstance(result.payload, GatePayload)
    again = decode(TOPIC, result.payload.model_dump_json().encode())
    assert isinstance(again, Accepted)
    assert again.payload == result.payload


def test_schema_covers_every_type() -> None:
    schema = payload_schema()
    text = json.dumps(schema)
    for kind in ("GatePayload", "TelemetryPayload", "StatusPayload", "CmdPayload",
                 "ReplyPayload", "AckPayload"):
        assert kind in text
    # the optional outbox incarnation is in every envelope
    assert all("inc" in d["properties"] for d in schema["$defs"].values())
    assert schema["discriminator"]["propertyName"] == "type"


@given(st.text(max_size=80))
def test_parse_never_raises_anything_but_topic_error(topic: str) -> None:
    try:
        parsed = Topic.parse(topic)
    except TopicError:
        return
    assert str(parsed) == topic


@given(st.binary(max_size=512))
def test_decode_never_raises_on_bytes(payload: bytes) -> None:
    assert isinstance(decode(TOPIC, payload), Accepted | Rejected)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.sampled_from(list(gate())), json_values, max_size=12))
def test_decode_never_raises_on_json_objects(obj: dict[str, Any]) -> None:
    result = decode(TOPIC, raw(gate() | obj))
    assert isinstance(result, Accepted | Rejected)
    if isinstance(result, Accepted):
        assert isinstance(result.payload, GatePayload)
        assert result.payload.device == "th-hai-thanh-gate-1"


@given(
    st.builds(
        Topic,
        school=st.from_regex(ID_PATTERN, fullmatch=True),
        device=st.from_regex(ID_PATTERN, fullmatch=True),
        channel=st.sampled_from(Channel),
    )
)
def test_topic_round_trip(topic: Topic) -> None:
    assert Topic.parse(str(topic)) == topic
