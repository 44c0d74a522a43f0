"""The one strict base for every configuration model (YAML files and settings alike)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo in a device's YAML must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
