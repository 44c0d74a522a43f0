"""The ``outbox:`` section: the local SQLite queue that survives the broker and reboots."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from core.configbase import StrictModel
from edge.config.common import resolve_path


class OutboxConfig(StrictModel):
    path: Path | None = Field(
        default=None,
        description="SQLite file of the outbox. Default: <data_dir>/outbox/<device>.sqlite3",
    )
    max_rows: int = Field(
        default=200_000,
        ge=100,
        le=10_000_000,
        description="Bound on queued messages; when full, the oldest telemetry goes first, "
        "gate events never",
    )
    synchronous: Literal["full", "normal"] = Field(
        default="full",
        description="SQLite synchronous mode. full: a committed event survives a power cut "
        "(one fsync per message); normal: survives a crash of the agent only (simulator)",
    )

    @field_validator("path")
    @classmethod
    def _resolve(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return resolve_path(value, info)
