"""The ``classroom:`` section: telemetry cadence and the equipment the agent watches."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from edge.config.common import AssetTag
from smartschool.configbase import StrictModel


class AssetConfig(StrictModel):
    tag: AssetTag = Field(description="Asset tag, as on the sticker and in the inventory")
    kind: Literal["projector"] = Field(
        default="projector", description="Kind of equipment (TV, PC, sensors later)"
    )
    source: Literal["simulated"] = Field(
        default="simulated", description="Where readings come from (PJLink later)"
    )
    lamp_hours: float = Field(
        default=0.0, ge=0, le=100_000, description="Lamp hours the simulated projector starts at"
    )


class ClassroomConfig(StrictModel):
    telemetry_interval_s: int = Field(
        default=60, ge=5, le=3600, description="Seconds between readings of the equipment"
    )
    assets: list[AssetConfig] = Field(
        default_factory=list, max_length=32, description="Equipment in this room"
    )

    @model_validator(mode="after")
    def _unique_tags(self) -> ClassroomConfig:
        tags = [asset.tag for asset in self.assets]
        dupes = sorted({tag for tag in tags if tags.count(tag) > 1})
        if dupes:
            raise ValueError(f"asset tags must be unique; repeated: {', '.join(dupes)}")
        return self
