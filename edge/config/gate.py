"""The ``gate:`` section: direction, identification mode, anti-passback, card list, relay."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from edge.config.common import resolve_path
from smartschool.configbase import StrictModel


class RelayConfig(StrictModel):
    kind: Literal["noop", "gpio"] = Field(
        default="noop", description="gpio: a relay on a Pi pin (gpiozero); noop: log only"
    )
    pin: int = Field(default=17, ge=2, le=27, description="BCM pin number of the relay")
    active_high: bool = Field(default=True, description="False for relay boards driven low")
    pulse_s: float = Field(
        default=1.0, ge=0.1, le=30.0, description="How long the relay stays closed per opening"
    )


class GateConfig(StrictModel):
    direction: Literal["in", "out"] = Field(
        default="in",
        description="Direction of this gate's reader; a two-reader gate passes the direction "
        "of each tap instead",
    )
    mode: Literal["card"] = Field(
        default="card", description="How people are identified (face and card+face later)"
    )
    reader: Literal["simulated", "keyboard"] = Field(
        default="simulated",
        description="keyboard: a USB reader that types the UID and Enter on stdin; "
        "simulated: taps come from code",
    )
    anti_passback_minutes: int = Field(
        default=5,
        ge=0,
        le=720,
        description="A second passage of one person in one direction within this window is "
        "denied (anti-passback); 0 turns the rule off",
    )
    cards_file: Path | None = Field(
        default=None,
        description="Local card list (YAML or CSV: uid, person, status active/blocked/lost), "
        "relative to this file. Unset: every card is unknown and the hub decides",
    )
    relay: RelayConfig = Field(default_factory=RelayConfig, description="The door relay")

    @field_validator("cards_file")
    @classmethod
    def _resolve_and_check(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        resolved = resolve_path(value, info)
        if resolved is not None and not resolved.is_file():
            raise ValueError(f"card list {resolved} does not exist")
        return resolved
