"""The ``gate:`` section: direction, identification mode, anti-passback, card list, relay,
feedback, opening hours, the face pipeline and the sync from the hub."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator

from core.configbase import StrictModel
from edge.config.common import resolve_path
from edge.config.face import FaceConfig
from edge.config.hours import HoursConfig

GateMode = Literal["card", "face", "card-or-face", "card-and-face"]
FACE_MODES: frozenset[str] = frozenset({"face", "card-or-face", "card-and-face"})


class RelayConfig(StrictModel):
    kind: Literal["noop", "gpio"] = Field(
        default="noop", description="gpio: a relay on a Pi pin (gpiozero); noop: log only"
    )
    pin: int = Field(default=17, ge=2, le=27, description="BCM pin number of the relay")
    active_high: bool = Field(default=True, description="False for relay boards driven low")
    pulse_s: float = Field(
        default=1.0, ge=0.1, le=30.0, description="How long the relay stays closed per opening"
    )


class FeedbackConfig(StrictModel):
    kind: Literal["noop", "gpio"] = Field(
        default="noop", description="gpio: buzzer and LEDs on Pi pins (gpiozero); noop: log only"
    )
    buzzer_pin: int | None = Field(default=None, ge=2, le=27, description="BCM pin of the buzzer")
    green_pin: int | None = Field(default=None, ge=2, le=27, description="BCM pin of the green LED")
    red_pin: int | None = Field(default=None, ge=2, le=27, description="BCM pin of the red LED")

    @model_validator(mode="after")
    def _distinct_pins(self) -> FeedbackConfig:
        pins = [p for p in (self.buzzer_pin, self.green_pin, self.red_pin) if p is not None]
        if len(pins) != len(set(pins)):
            raise ValueError("feedback pins must differ")
        return self


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SyncConfig(StrictModel):
    hub_url: str = Field(
        min_length=1,
        max_length=512,
        description="Base URL of the hub's API, e.g. https://hub.duongkinh.example.vn; "
        "sync-gallery GETs /api/v1/device/sync below it. https is required except to a "
        "loopback address: the answer holds face encodings (sensitive personal data) and "
        "the request carries the device token",
    )
    token_env: str = Field(
        default="SMARTSCHOOL_DEVICE_TOKEN",
        pattern=r"^[A-Z_][A-Z0-9_]{0,127}$",
        description="Environment variable holding the device token "
        "(`smartschool devices token DEVICE` on the hub issues it); read at every sync",
    )
    token_credential: str = Field(
        default="device_token",
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
        description="systemd credential holding the token when the variable is unset "
        "(LoadCredential=device_token:/etc/smartschool/device_token)",
    )
    timeout: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="Seconds to wait for the hub; the command's reply waits as long, the "
        "gate's decisions do not",
    )

    @field_validator("hub_url")
    @classmethod
    def _https_unless_loopback(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s)://host[:port][/prefix] URL")
        if parts.query or parts.fragment or parts.username or parts.password:
            # A user:password@ would end up in logs; the token travels in a header instead.
            raise ValueError("hub_url takes no credentials, query or fragment")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError("hub_url must be https:// (plain http only to a loopback address)")
        return value.rstrip("/")


class GateConfig(StrictModel):
    direction: Literal["in", "out"] = Field(
        default="in",
        description="Direction of this gate's reader; a two-reader gate passes the direction "
        "of each tap instead",
    )
    mode: GateMode = Field(
        default="card",
        description="How people are identified. card; face (camera only); card-or-face "
        "(either opens); card-and-face (the card must grant and the face verify against its "
        "holder). Face modes need the face section",
    )
    reader: Literal["simulated", "keyboard", "evdev", "serial"] = Field(
        default="simulated",
        description="keyboard: a USB reader that types the UID and Enter on stdin; evdev: "
        "the same reader read (and grabbed) as a Linux input device; serial: a serial "
        "reader (EM 125 kHz STX/ETX frames or one line per card); simulated: taps come "
        "from code",
    )
    reader_device: str | None = Field(
        default=None,
        max_length=256,
        description="evdev: /dev/input/by-id/...-event-kbd; serial: /dev/ttyUSB0 or /dev/serial0",
    )
    reader_baud: int = Field(default=9600, ge=1200, le=921_600,
                             description="Serial readers: baud rate")
    uid_format: Literal["hex", "decimal"] = Field(
        default="hex", description="How the reader prints a UID: hex, or a decimal number"
    )
    uid_byte_order: Literal["msb-first", "lsb-first"] = Field(
        default="msb-first",
        description="lsb-first: the reader sends the UID's bytes reversed; it is stored "
        "most significant byte first, as the card and the records number it",
    )
    anti_passback_minutes: int = Field(
        default=5,
        ge=0,
        le=720,
        description="A second passage of one person in one direction within this window is "
        "denied (anti-passback); 0 turns the rule off",
    )
    # Before cards_file: its validator needs to know whether the hub will write it.
    sync: SyncConfig | None = Field(
        default=None,
        description="Fetch the card list and the gallery from the hub on sync-gallery "
        "(the hub sends it whenever the school's records change) and write them to "
        "cards_file and face.gallery_file. Unset: sync-gallery re-reads those files",
    )
    cards_file: Path | None = Field(
        default=None,
        description="Local card list (YAML or CSV: uid, person, status active/blocked/lost), "
        "relative to this file. Unset: every card is unknown and the hub decides",
    )
    relay: RelayConfig = Field(default_factory=RelayConfig, description="The door relay")
    feedback: FeedbackConfig = Field(
        default_factory=FeedbackConfig,
        description="Buzzer and LEDs: granted = short beep + green, denied = long beep + red",
    )
    hours: HoursConfig | None = Field(
        default=None,
        description="Opening windows and closed dates; outside them students are refused "
        "(outside-hours) and staff pass. Unset: no hours",
    )
    face: FaceConfig | None = Field(
        default=None, description="Camera, gallery and thresholds; required by the face modes"
    )
    face_fresh_s: float = Field(
        default=3.0,
        gt=0,
        le=30,
        description="card-and-face: a face seen at most this many seconds before the tap "
        "verifies it; the tap never waits for a frame to be encoded",
    )

    @field_validator("cards_file")
    @classmethod
    def _resolve_and_check(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        resolved = resolve_path(value, info)
        # A gate that syncs from the hub writes its card list on the first sync-gallery;
        # any other gate must have one now (a typo must not start a gate knowing nobody).
        synced = info.data.get("sync") is not None
        if resolved is not None and not synced and not resolved.is_file():
            raise ValueError(f"card list {resolved} does not exist")
        return resolved

    @model_validator(mode="after")
    def _face_section_matches_mode(self) -> GateConfig:
        if self.mode in FACE_MODES and self.face is None:
            raise ValueError(f"mode {self.mode} needs a face section (camera, gallery_file)")
        if self.mode == "card" and self.face is not None:
            raise ValueError("mode is card but there is a face section: remove it or pick a "
                             "face mode")
        return self

    @model_validator(mode="after")
    def _device_for_hardware_readers(self) -> GateConfig:
        if self.reader in ("evdev", "serial") and not self.reader_device:
            raise ValueError(f"reader {self.reader} needs reader_device (the device path)")
        return self

    @model_validator(mode="after")
    def _sync_has_files_to_write(self) -> GateConfig:
        if self.sync is None:
            return self
        if self.mode != "face" and self.cards_file is None:
            raise ValueError("sync needs cards_file: the card list is written there")
        if self.face is not None and self.face.gallery_file is None:
            raise ValueError("sync needs face.gallery_file: the gallery is written there")
        return self

    @property
    def uses_face(self) -> bool:
        return self.mode in FACE_MODES
