"""Pure routing of decoded messages: store, or dead-letter with a reason.

The hub never trusts a payload alone: the topic's device must be registered, and
registered to the school named in the topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from protocol import Accepted, Reason, Rejected, decode

DEAD_LETTER_PAYLOAD_CAP = 4096


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message as it came off the wire, with the hub's receive time."""

    topic: str
    payload: bytes
    received_at: datetime
    mid: int = 0
    qos: int = 1
    # Which broker connection delivered it: a packet id is only meaningful on that one.
    session: int = 0


@dataclass(frozen=True, slots=True)
class Store:
    message: Incoming
    accepted: Accepted


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message: Incoming
    reason: str
    detail: str

    @property
    def capped_payload(self) -> bytes:
        return self.message.payload[:DEAD_LETTER_PAYLOAD_CAP]


def route(message: Incoming, registry: Mapping[str, str]) -> Store | DeadLetter:
    """``registry`` maps each registered device id to its school id."""
    result = decode(message.topic, message.payload)
    if isinstance(result, Rejected):
        return DeadLetter(message, result.reason.value, result.detail)
    topic = result.topic
    school = registry.get(topic.device)
    if school is None:
        return DeadLetter(
            message, Reason.UNREGISTERED_DEVICE.value, f"device {topic.device!r} is not registered"
        )
    if school != topic.school:
        return DeadLetter(
            message,
            Reason.SCHOOL_MISMATCH.value,
            f"device {topic.device!r} is registered to {school!r}, not {topic.school!r}",
        )
    return Store(message, result)
