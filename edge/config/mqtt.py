"""The ``mqtt:`` section. The password is never here: see ``edge.secrets``.

Plain ``mqtt://`` is for a broker on the device itself (loopback); to anything else the
YAML must use ``mqtts://`` (with ``ca_file``: the district CA) or say ``allow_plaintext:
true`` explicitly (``core.mqtt.transport_problem``).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from core.configbase import StrictModel
from core.mqtt import BrokerAddress, TlsFiles, transport_problem

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
    ca_file: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="CA certificate (PEM) the mqtts:// broker is verified against, e.g. "
        "/etc/smartschool/district-ca.crt. Unset: the system trust store",
    )
    cert_file: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="Client certificate (PEM) presented to an mqtts:// broker (optional)",
    )
    key_file: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="Private key (PEM) of cert_file (optional: omit if cert_file holds it)",
    )
    allow_plaintext: bool = Field(
        default=False,
        description="Allow mqtt:// (no TLS) to a broker that is not on this device. Off by "
        "default: the device password, card UIDs and person codes would cross the "
        "school network in clear. Set it only for a lab or a broker reached through a "
        "tunnel you trust",
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

    @model_validator(mode="after")
    def _transport(self) -> MqttConfig:
        problem = transport_problem(self.address, allow_plaintext=self.allow_plaintext,
                                    how_to_allow="set allow_plaintext: true")
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def address(self) -> BrokerAddress:
        return BrokerAddress.parse(
            self.url, TlsFiles(self.ca_file, self.cert_file, self.key_file))
