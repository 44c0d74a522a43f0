"""Pure routing of decoded messages: store, or dead-letter with a reason.

The hub never trusts a payload alone: the topic's device must be registered,
registered to the school named in the topic, and its role must allow the payload's
type (a classroom Pi's credentials cannot mark attendance with a `gate` event).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from protocol import Accepted, Reason, Rejected, decode

DEAD_LETTER_PAYLOAD_CAP = 4096

# What each registered role may send. Written here, against the registry, not in
# protocol/: the wire accepts any type on its channel, the hub decides who may use it.
ROLE_TYPES: Final[Mapping[str, frozenset[str]]] = {
    "gate": frozenset({"gate", "telemetry", "status", "reply"}),
    "classroom": frozenset({"gate", "telemetry", "status", "reply"}),
}
# Classroom attendance (issue 14): which roles send a gate event naming a room (a sighting
# at a room door) and which one without (a passage at a school gate). Neither stands in
# for the other: a room sighting counts for lessons, a gate passage for the school.
ROOM_EVENTS: Final[Mapping[str, bool]] = {"gate": False, "classroom": True}


@dataclass(frozen=True, slots=True)
class Registered:
    """What the hub's registry holds about one device."""

    school: str
    role: str


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


def route(message: Incoming, registry: Mapping[str, Registered | str]) -> Store | DeadLetter:
    """``registry`` maps each registered device id to its school and role
    (``hub.ingest.store.load_registry``). A bare school id is a registry without
    roles (tests that only care about schools): the role check is then skipped."""
    result = decode(message.topic, message.payload)
    if isinstance(result, Rejected):
        return DeadLetter(message, result.reason.value, result.detail)
    topic = result.topic
    entry = registry.get(topic.device)
    if entry is None:
        return DeadLetter(
            message, Reason.UNREGISTERED_DEVICE.value, f"device {topic.device!r} is not registered"
        )
    school = entry if isinstance(entry, str) else entry.school
    if school != topic.school:
        return DeadLetter(
            message,
            Reason.SCHOOL_MISMATCH.value,
            f"device {topic.device!r} is registered to {school!r}, not {topic.school!r}",
        )
    if isinstance(entry, Registered):
        kind = result.payload.type
        if kind not in ROLE_TYPES.get(entry.role, frozenset()):
            return DeadLetter(
                message,
                Reason.WRONG_ROLE.value,
                f"device {topic.device!r} is registered as {entry.role}, which may not "
                f"send {kind!r} messages",
            )
        room = getattr(result.payload, "room", None) if kind == "gate" else None
        if kind == "gate" and ROOM_EVENTS.get(entry.role) is not (room is not None):
            return DeadLetter(
                message,
                Reason.WRONG_ROLE.value,
                f"device {topic.device!r} is registered as {entry.role}, whose gate events "
                + ("name a room" if ROOM_EVENTS.get(entry.role) else "name no room"),
            )
    return Store(message, result)
