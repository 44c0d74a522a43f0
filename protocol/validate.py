"""Decode raw MQTT messages into typed payloads, or a named reason to dead-letter them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from protocol.messages import PROTOCOL_VERSION, TYPE_NAMES, Payload
from protocol.topics import Channel, Topic, TopicError

MAX_PAYLOAD_BYTES = 64 * 1024

# Which payload type each channel carries.
CHANNEL_TYPES: dict[Channel, tuple[str, ...]] = {
    Channel.EVENT: ("gate",),
    Channel.TELEMETRY: ("telemetry",),
    Channel.STATUS: ("status",),
    Channel.REPLY: ("reply",),
    Channel.CMD: ("cmd",),
    Channel.ACK: ("ack",),
}


class Reason(StrEnum):
    """Why a message was dead-lettered. Values are stored and shown to operators."""

    BAD_TOPIC = "bad-topic"
    TOO_LARGE = "too-large"
    NOT_UTF8 = "not-utf8"
    NOT_JSON = "not-json"
    NOT_OBJECT = "not-object"
    UNKNOWN_VERSION = "unknown-version"
    UNKNOWN_TYPE = "unknown-type"
    WRONG_CHANNEL = "wrong-channel"
    DEVICE_MISMATCH = "device-mismatch"
    INVALID = "invalid"
    # Decided by the hub against its records, not by the payload alone.
    UNREGISTERED_DEVICE = "unregistered-device"
    SCHOOL_MISMATCH = "school-mismatch"
    # A registered device sending a type its role may not (a classroom Pi's `gate` event).
    WRONG_ROLE = "wrong-role"


@dataclass(frozen=True, slots=True)
class Accepted:
    topic: Topic
    payload: Payload


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: Reason
    detail: str
    topic: Topic | None = None


_ADAPTER: TypeAdapter[Payload] = TypeAdapter(Payload)
# pydantic lets JSON ``true`` through ``Literal[1]``; ``decode_stepwise`` calls that an
# unknown version. Such a payload (or one whose keys hide behind \u escapes) takes the
# stepwise path, which is the authority. Two scans, not one alternation: a pattern that
# starts with a literal is searched for that literal first, several times faster per message.
_MAYBE_BOOL_VERSION = re.compile(rb'"v"\s*:\s*true')
_ESCAPE = b"\\u"


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"][1:]) or "payload"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


@lru_cache(maxsize=65536)
def _topic(topic: str) -> Topic | None:
    # A district has a few thousand topics that repeat all day: parse each once.
    try:
        return Topic.parse(topic)
    except TopicError:
        return None


def decode(topic: str, raw: bytes) -> Accepted | Rejected:
    """Validate one message as it came off the wire. Never raises.

    The outcome is ``decode_stepwise``'s, cheaper for the common good message: that one
    parses twice (``json.loads`` to name the reason of a bad message, then pydantic); a
    good message passes every one of its checks, so one pydantic ``validate_json`` plus
    the checks it cannot make (size, channel, topic device) accept it. Anything else goes
    through ``decode_stepwise`` to get the exact reason.
    """
    parsed = _topic(topic)
    if (parsed is not None and len(raw) <= MAX_PAYLOAD_BYTES
            and _ESCAPE not in raw and not _MAYBE_BOOL_VERSION.search(raw)):
        try:
            payload = _ADAPTER.validate_json(raw)
        except ValidationError:
            pass
        else:
            if (payload.device == parsed.device
                    and payload.type in CHANNEL_TYPES[parsed.channel]):
                return Accepted(parsed, payload)
    return decode_stepwise(topic, raw)


def decode_stepwise(topic: str, raw: bytes) -> Accepted | Rejected:
    """The authority: each check in turn, so a bad message is rejected with its reason."""
    try:
        parsed_topic = Topic.parse(topic)
    except TopicError as exc:
        return Rejected(Reason.BAD_TOPIC, str(exc))
    if len(raw) > MAX_PAYLOAD_BYTES:
        return Rejected(
            Reason.TOO_LARGE, f"{len(raw)} bytes > {MAX_PAYLOAD_BYTES}", parsed_topic
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejected(Reason.NOT_UTF8, str(exc), parsed_topic)
    try:
        obj: Any = json.loads(text)
    except ValueError as exc:
        return Rejected(Reason.NOT_JSON, str(exc), parsed_topic)
    if not isinstance(obj, dict):
        return Rejected(Reason.NOT_OBJECT, f"top level is {type(obj).__name__}", parsed_topic)
    version = obj.get("v")
    if version != PROTOCOL_VERSION or isinstance(version, bool):
        return Rejected(Reason.UNKNOWN_VERSION, f"v={version!r}", parsed_topic)
    kind = obj.get("type")
    if kind not in TYPE_NAMES:
        return Rejected(Reason.UNKNOWN_TYPE, f"type={kind!r}", parsed_topic)
    if kind not in CHANNEL_TYPES[parsed_topic.channel]:
        return Rejected(
            Reason.WRONG_CHANNEL,
            f"type {kind!r} on channel {parsed_topic.channel.value!r}",
            parsed_topic,
        )
    if obj.get("device") != parsed_topic.device:
        return Rejected(
            Reason.DEVICE_MISMATCH,
            f"payload device {obj.get('device')!r} != topic device {parsed_topic.device!r}",
            parsed_topic,
        )
    try:
        payload = _ADAPTER.validate_json(raw)
    except ValidationError as exc:
        return Rejected(Reason.INVALID, _describe(exc), parsed_topic)
    return Accepted(parsed_topic, payload)
