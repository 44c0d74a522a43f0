"""The collector interface and the scheduler that polls collectors on their intervals."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from edge.device import next_due, phase_offset
from edge.metrics import MetricValue

log = logging.getLogger(__name__)

ERROR_TEXT_MAX = 120  # protocol ShortText is 128
_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


class Collector(Protocol):
    name: str  # metric-safe: the ``<name>`` of ``collector.<name>.ok``
    asset: str | None  # the telemetry ``asset``; None for the device itself
    interval_s: float

    def collect(self, now: datetime) -> Mapping[str, MetricValue]: ...


@dataclass(frozen=True, slots=True)
class Reading:
    asset: str | None
    metrics: Mapping[str, MetricValue]


def error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) <= ERROR_TEXT_MAX else text[: ERROR_TEXT_MAX - 3] + "..."


def failure_metrics(name: str, exc: BaseException) -> dict[str, MetricValue]:
    return {f"collector.{name}.ok": False, f"collector.{name}.error": error_text(exc)}


def run_collector(collector: Collector, now: datetime) -> Reading:
    """One poll. Whatever the collector raises becomes failure metrics of its asset."""
    try:
        metrics = dict(collector.collect(now))
    except Exception as exc:  # a broken collector must not stop the others
        log.warning("collector %s (%s) failed: %s", collector.name, collector.asset,
                    error_text(exc))
        return Reading(collector.asset, failure_metrics(collector.name, exc))
    metrics[f"collector.{collector.name}.ok"] = True
    return Reading(collector.asset, metrics)


class CollectorScheduler:
    """Polls each collector on its own interval, from the caller's ``tick``.

    Each collector starts at a stable phase inside its interval (so a district's
    rooms do not all poll in the same second), and one that fell behind skips to
    the next slot rather than bursting. Collectors run one after another in the
    caller's thread; their own timeouts bound a tick.
    """

    def __init__(self, collectors: Sequence[Collector], *, start: datetime, key: str) -> None:
        for collector in collectors:
            if not _NAME.match(collector.name):
                raise ValueError(f"collector name {collector.name!r} is not a metric segment")
            if collector.interval_s <= 0:
                raise ValueError(f"collector {collector.name} needs a positive interval")
        self.collectors = list(collectors)
        self._due = [
            start + phase_offset(f"{key}/{c.name}/{c.asset}", c.interval_s)
            for c in self.collectors
        ]

    def due(self, now: datetime) -> list[int]:
        return [i for i, due in enumerate(self._due) if now >= due]

    def run_due(self, now: datetime) -> list[Reading]:
        readings = []
        for i in self.due(now):
            collector = self.collectors[i]
            readings.append(run_collector(collector, now))
            self._due[i] = next_due(self._due[i], timedelta(seconds=collector.interval_s), now)
        return readings
