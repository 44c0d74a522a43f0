"""The sync document: what ``GET /api/v1/device/sync`` answers a gate.

The hub builds it (hub/devices/sync.py), the gate parses it (edge/gate/sync.py); both take
the models from here, so the two cannot drift apart. Unknown fields are ignored, as in the
MQTT payloads: a newer hub may add some and an older gate must keep syncing.

Face encodings travel as base64 of 128 little-endian float32: JSON has no bytes, and the
fixed size lets either side refuse a truncated or padded encoding before using it.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from protocol.ids import CardUid

SYNC_PATH: Final = "/api/v1/device/sync"
ENCODING_DIM: Final = 128
ENCODING_BYTES: Final = ENCODING_DIM * 4  # float32, little-endian
MAX_ENCODINGS_PER_PERSON: Final = 64

CardStatus = Literal["active", "blocked", "lost"]
PersonKind = Literal["student", "staff"]


class SyncError(Exception):
    """The sync did not happen; the message says why. The gate keeps what it has."""


class _Wire(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


class SyncCard(_Wire):
    uid: CardUid = Field(description="Card UID, upper-case hex, most significant byte first")
    person: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="Person code of the holder")
    status: CardStatus = Field(description="active opens; blocked and lost are denied")
    kind: PersonKind = Field(description="student or staff (staff pass outside hours)")


class SyncFace(_Wire):
    person: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="Person code")
    consent: Annotated[str, StringConstraints(min_length=1, max_length=500)] = Field(
        description="The recorded consents the encodings rest on (ids, roles, dates)")
    encodings: list[str] = Field(
        min_length=1, max_length=MAX_ENCODINGS_PER_PERSON,
        description="Each base64 of 128 float32, little-endian")


class SyncDocument(_Wire):
    school: str = Field(description="The device's school")
    device: str = Field(description="The device the token belongs to")
    version: int = Field(ge=0, description="The school's sync version this state had or "
                         "followed; a later one means the hub has newer records")
    generated_at: AwareDatetime = Field(description="When the hub read the records")
    cards: list[SyncCard] = Field(description="Every card of the school's persons")
    gallery: list[SyncFace] | None = Field(
        default=None, description="Enrolled persons with active consent; null when the "
        "gate did not ask for faces (a card-only gate never receives biometric data)")


def encode_encoding(data: bytes) -> str:
    if len(data) != ENCODING_BYTES:
        raise ValueError(f"an encoding is {ENCODING_BYTES} bytes, got {len(data)}")
    return base64.b64encode(data).decode("ascii")


def decode_encoding(text: str) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SyncError("an encoding is not base64") from None
    if len(data) != ENCODING_BYTES:
        raise SyncError(f"an encoding is {len(data)} bytes, not {ENCODING_BYTES}")
    return data
