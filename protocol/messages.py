"""Typed payloads of protocol v1. Strict: no silent coercion of wire types.

Unknown extra fields are ignored rather than refused: docs/protocol.md lets v1 grow
optional fields, and an older hub must keep accepting a newer device.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from protocol.ids import CardUid, Identifier

PROTOCOL_VERSION: Final = 1

# A gate event's field values, named: the gate's policy decides in these terms.
Direction = Literal["in", "out"]
Method = Literal["card", "face", "card+face", "manual"]
Verdict = Literal["granted", "denied", "unknown"]

MetricName = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$", max_length=64)
]
ShortText = Annotated[str, StringConstraints(max_length=128)]
MetricValue = Annotated[bool, Field(strict=True)] | int | float | ShortText
Seq = Annotated[int, Field(ge=0, le=2**63 - 1)]
# End-to-end delivery (docs/protocol.md, "Delivery acknowledgements and outbox identity"):
# the id of one outbox's life, random, made with the outbox; absent = the legacy identity.
Incarnation = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16,32}$")]


class Envelope(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    v: Literal[1] = Field(description="Protocol version")
    device: Identifier = Field(description="Must equal the {device} segment of the topic")
    seq: Seq = Field(description="Per-device sequence number, kept across reboots")
    ts: AwareDatetime = Field(description="RFC 3339 with offset, the device clock")
    clock_synced: bool | None = Field(
        default=None, description="False when the device clock has no NTP sync"
    )
    inc: Incarnation | None = Field(
        default=None,
        description="Outbox incarnation: seq counts within it; absent on v1 devices without it",
    )


class GatePayload(Envelope):
    type: Literal["gate"]
    direction: Direction
    method: Method
    card_uid: CardUid | None = None
    person: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    distance: Annotated[float, Field(ge=0)] | None = None
    decision: Verdict
    reason: Annotated[str, StringConstraints(max_length=64)] | None = None
    # Classroom attendance (issue 14): a v1-compatible extension an older hub ignores.
    room: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None,
        description="The room whose door a classroom device watches (its timetable name); "
                    "absent or null at a school gate")


class TelemetryPayload(Envelope):
    type: Literal["telemetry"]
    asset: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    metrics: Annotated[dict[MetricName, MetricValue], Field(min_length=1, max_length=256)]


class StatusPayload(Envelope):
    type: Literal["status"]
    state: Literal["online", "offline"]
    fw: ShortText
    role: Literal["gate", "classroom"]
    ip: ShortText | None = None
    boot: AwareDatetime
    # The fleet view (issue #13): v1-compatible extensions an older device omits and an
    # older hub ignores. A Last Will leaves them out: its figures would be as old as the
    # connection. The envelope's ``clock_synced`` says whether the clock has NTP sync.
    config_version: ShortText | None = Field(
        default=None, description="A fingerprint of the configuration the agent runs")
    backlog: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = Field(
        default=None, description="Outbox rows the hub has not yet confirmed stored")


class CmdPayload(Envelope):
    type: Literal["cmd"]
    id: uuid.UUID
    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,63}$")]
    args: dict[str, Any] = Field(default_factory=dict)
    # Commands to devices (issue #13): a v1-compatible extension an older device ignores.
    expires: AwareDatetime | None = Field(
        default=None,
        description="Run only before this moment (device clock); later the device refuses "
                    "it with ok=false and detail.refused='expired'. Absent: no expiry")


class ReplyPayload(Envelope):
    type: Literal["reply"]
    id: uuid.UUID
    ok: bool
    detail: str | dict[str, Any] | None = None


class AckPayload(Envelope):
    """Hub -> device, retained on the ``ack`` channel: how far this device's outbox
    messages (event, telemetry, reply) of incarnation ``inc`` are committed."""

    type: Literal["ack"]
    upto: Seq = Field(description="Highest seq of incarnation inc committed by the hub; "
                                  "every outbox message up to it is stored")
    session: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16,32}$")] = Field(
        description="The hub's subscription session. A new value means the broker had lost "
                    "the hub's subscriptions, so what was published meanwhile may be gone: "
                    "resend everything not yet confirmed")


Payload = Annotated[
    GatePayload | TelemetryPayload | StatusPayload | CmdPayload | ReplyPayload | AckPayload,
    Field(discriminator="type"),
]

TYPE_NAMES: tuple[str, ...] = ("gate", "telemetry", "status", "reply", "cmd", "ack")


def to_json(payload: BaseModel) -> bytes:
    """Serialise a payload for the wire (no nulls dropped: the fields are the contract)."""
    return payload.model_dump_json().encode()
