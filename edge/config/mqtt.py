"""The ``mqtt:`` section. The password is never here: see ``edge.secrets``."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from core.configbase import StrictModel
from core.mqtt import BrokerAddress

SECRETS_ADVICE = (
    "secrets never live in the device YAML: set the environment variable "
    "SMARTSCHOOL_MQTT_PASSWORD or the systemd credential mqtt-password (LoadCredential=)"
)


class MqttConfig(StrictModel):
    url: str = Field(
        default="mqtt://127.0.0.1:1883",
        min_length=1,
        max_length=256,
        description="Broker URL: mqtt://host:1883 or mqtts://host:8883 (TLS)",
    )
    username: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Broker user name. Default: the device id, which the broker ACL keys on",
    )
    keepalive_s: int = Field(
        default=30,
        ge=5,
        le=600,
        description="MQTT keepalive; the broker fires the Last Will after 1.5x this silence",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_password(cls, data: Any) -> Any:
        if isinstance(data, dict) and "password" in data:
            raise ValueError(SECRETS_ADVICE)
        return data

    @field_validator("url")
    @classmethod
    def _parseable(cls, value: str) -> str:
        BrokerAddress.parse(value)
        return value

    @property
    def address(self) -> BrokerAddress:
        return BrokerAddress.parse(self.url)
