"""The root of a device YAML."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from core.configbase import StrictModel
from edge.config.classroom import ClassroomConfig
from edge.config.gate import GateConfig
from edge.config.mqtt import MqttConfig
from edge.config.outbox import OutboxConfig
from protocol.ids import Identifier


class AgentConfig(StrictModel):
    device: Identifier = Field(description="Device id: MQTT client id, user name and topic segment")
    school: Identifier = Field(description="School id, the topic segment above the device")
    role: Literal["gate", "classroom"] = Field(description="What this device does")
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="Broker connection")
    outbox: OutboxConfig = Field(default_factory=OutboxConfig, description="Local outbox")
    heartbeat_s: int = Field(
        default=60,
        ge=5,
        le=3600,
        description="Seconds between device telemetry, so the hub sees the device alive",
    )
    gate: GateConfig | None = Field(default=None, description="Required when role is gate")
    classroom: ClassroomConfig | None = Field(
        default=None, description="Required when role is classroom"
    )

    @model_validator(mode="after")
    def _sections_match_role(self) -> AgentConfig:
        if self.role == "gate" and self.gate is None:
            raise ValueError("role is gate but there is no gate section")
        if self.role == "classroom" and self.classroom is None:
            raise ValueError("role is classroom but there is no classroom section")
        other = "classroom" if self.role == "gate" else "gate"
        if getattr(self, other) is not None:
            raise ValueError(f"role is {self.role} but the file has a {other} section")
        if self.mqtt.username is not None and self.mqtt.username != self.device:
            raise ValueError(
                f"mqtt.username {self.mqtt.username!r} differs from device {self.device!r}: "
                "the broker ACL lets a device write only under its own id"
            )
        return self

    @property
    def mqtt_username(self) -> str:
        return self.mqtt.username or self.device
