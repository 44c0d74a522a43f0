"""The ``classroom:`` section: the equipment the agent watches and how often.

Each asset names its kind and where its readings come from::

    assets:
      - {tag: PJ-101, kind: projector, source: pjlink,
         pjlink: {host: 10.1.1.20, password_env: PJLINK_PASSWORD}}
      - {tag: PC-101, kind: pc, source: reachability,
         reachability: {host: 10.1.1.30, port: 445}}
      - {tag: ENV-101, kind: sensor, source: iio, iio: {device: "iio:device0"}}
      - {tag: PJ-102, kind: projector, source: simulated, lamp_hours: 1200}

Secrets never sit in the YAML: a PJLink password comes from the environment
variable or the systemd credential the asset names.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from core.configbase import StrictModel
from edge.config.attendance import AttendanceConfig
from edge.config.common import AssetTag

Kind = Literal["projector", "pc", "tv", "sensor"]
Source = Literal["simulated", "pjlink", "reachability", "iio"]
HostName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$")]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]{0,63}$")]
CredentialName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]

SOURCES_OF: dict[str, tuple[str, ...]] = {
    "projector": ("simulated", "pjlink", "reachability"),
    "pc": ("simulated", "reachability"),
    "tv": ("simulated", "reachability"),
    "sensor": ("simulated", "iio"),
}


class PjlinkSourceConfig(StrictModel):
    host: HostName = Field(description="Projector address (IP or DNS name)")
    port: int = Field(default=4352, ge=1, le=65535, description="PJLink TCP port")
    password_env: EnvName | None = Field(
        default=None, description="Environment variable holding the PJLink password, if any"
    )
    password_credential: CredentialName | None = Field(
        default=None,
        description="systemd credential (file in $CREDENTIALS_DIRECTORY) holding the password; "
        "the environment variable wins when both are set",
    )
    timeout_s: float = Field(
        default=3.0, ge=0.1, le=30, description="Connect timeout; a projector off at the mains "
        "is reported unreachable after it"
    )


class ReachabilitySourceConfig(StrictModel):
    host: HostName = Field(description="Address of the PC, TV or other equipment")
    port: int | None = Field(
        default=None, ge=1, le=65535,
        description="TCP port to connect to when ICMP is not permitted or not answered "
        "(445 or 3389 for Windows PCs)",
    )
    method: Literal["auto", "icmp", "tcp"] = Field(
        default="auto", description="auto: ICMP echo, then TCP to the port if set"
    )
    timeout_s: float = Field(default=1.0, ge=0.1, le=10, description="Timeout of one probe")

    @model_validator(mode="after")
    def _tcp_needs_port(self) -> ReachabilitySourceConfig:
        if self.method == "tcp" and self.port is None:
            raise ValueError("method tcp needs a port")
        return self


class IioSourceConfig(StrictModel):
    device: Annotated[str, StringConstraints(pattern=r"^iio:device[0-9]{1,3}$")] = Field(
        default="iio:device0", description="Device under /sys/bus/iio/devices (dht11, bme280...)"
    )


class AssetConfig(StrictModel):
    tag: AssetTag = Field(description="Asset tag, as on the sticker and in the inventory")
    kind: Kind = Field(default="projector", description="Kind of equipment")
    source: Source = Field(
        default="simulated",
        description="Where readings come from: simulated, pjlink (projectors), reachability "
        "(ICMP/TCP), iio (Linux sensor driver)",
    )
    interval_s: int | None = Field(
        default=None, ge=5, le=86_400,
        description="Seconds between readings of this asset (default: telemetry_interval_s)",
    )
    lamp_hours: float = Field(
        default=0.0, ge=0, le=100_000, description="Lamp hours the simulated projector starts at"
    )
    pjlink: PjlinkSourceConfig | None = Field(default=None, description="When source is pjlink")
    reachability: ReachabilitySourceConfig | None = Field(
        default=None, description="When source is reachability"
    )
    iio: IioSourceConfig | None = Field(default=None, description="When source is iio")

    @model_validator(mode="after")
    def _source_fits(self) -> AssetConfig:
        if self.source not in SOURCES_OF[self.kind]:
            raise ValueError(f"a {self.kind} cannot have source {self.source}; "
                             f"use one of {', '.join(SOURCES_OF[self.kind])}")
        sections = {"pjlink": self.pjlink, "reachability": self.reachability, "iio": self.iio}
        if self.source in sections and sections[self.source] is None and self.source != "iio":
            raise ValueError(f"source {self.source} needs a {self.source} section")
        extra = [name for name, value in sections.items()
                 if value is not None and name != self.source]
        if extra:
            raise ValueError(f"source is {self.source} but the asset has a {extra[0]} section")
        return self


class ClassroomConfig(StrictModel):
    telemetry_interval_s: int = Field(
        default=60, ge=5, le=3600,
        description="Default seconds between readings of each asset (the device's own "
        "health rides the heartbeat)",
    )
    assets: list[AssetConfig] = Field(
        default_factory=list, max_length=32, description="Equipment in this room"
    )
    attendance: AttendanceConfig | None = Field(
        default=None,
        description="Take attendance at the room's door (a card reader and/or a camera, as "
        "a gate's); unset: equipment only",
    )

    @model_validator(mode="after")
    def _unique_tags(self) -> ClassroomConfig:
        tags = [asset.tag for asset in self.assets]
        dupes = sorted({tag for tag in tags if tags.count(tag) > 1})
        if dupes:
            raise ValueError(f"asset tags must be unique; repeated: {', '.join(dupes)}")
        return self
