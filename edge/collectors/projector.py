"""Projectors as collectors: any ``ProjectorSource`` (PJLink or simulated)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from edge.metrics import MetricValue
from edge.projector.source import ProjectorSource


class ProjectorCollector:
    name = "projector"

    def __init__(self, source: ProjectorSource, *, interval_s: float = 60) -> None:
        self.source = source
        self.asset: str | None = source.tag
        self.interval_s = interval_s

    def collect(self, now: datetime) -> Mapping[str, MetricValue]:
        return self.source.read(now).telemetry()
