"""From the ``classroom:`` config to projector sources and collectors."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from edge.collectors.base import Collector, failure_metrics
from edge.collectors.environment import EnvCollector, EnvDriver, IioEnvDriver, SimulatedEnvDriver
from edge.collectors.projector import ProjectorCollector
from edge.collectors.reachability import ReachabilityCollector, SimulatedReachability
from edge.config.classroom import AssetConfig, ClassroomConfig, PjlinkSourceConfig
from edge.metrics import MetricValue
from edge.projector.source import ProjectorSource, SimulatedProjector


def secret(env: str | None, credential: str | None) -> str | None:
    """The environment variable wins, then the systemd credential file (as for MQTT)."""
    if env and (value := os.environ.get(env)):
        return value
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if credential and directory:
        path = Path(directory) / credential
        if path.is_file():
            return path.read_text(encoding="utf-8").rstrip("\r\n")
    return None


def pjlink_password(source: PjlinkSourceConfig) -> str | None:
    return secret(source.password_env, source.password_credential)


def is_projector_source(asset: AssetConfig) -> bool:
    return asset.kind == "projector" and asset.source in ("simulated", "pjlink")


def projector_sources(classroom: ClassroomConfig) -> list[ProjectorSource]:
    from edge.projector.client import PjlinkProjector

    sources: list[ProjectorSource] = []
    for asset in classroom.assets:
        if not is_projector_source(asset):
            continue
        if asset.source == "pjlink":
            assert asset.pjlink is not None  # the asset's validator guarantees it
            sources.append(PjlinkProjector(asset.tag, asset.pjlink.host, asset.pjlink.port,
                                           pjlink_password(asset.pjlink),
                                           connect_timeout=asset.pjlink.timeout_s))
        else:
            sources.append(SimulatedProjector(asset.tag, lamp_hours=asset.lamp_hours))
    return sources


def interval_of(classroom: ClassroomConfig, tag: str) -> int:
    for asset in classroom.assets:
        if asset.tag == tag and asset.interval_s is not None:
            return asset.interval_s
    return classroom.telemetry_interval_s


def asset_collectors(classroom: ClassroomConfig,
                     projectors: Mapping[str, ProjectorSource]) -> list[Collector]:
    """A projector collector per source given, then the config's other assets."""
    collectors: list[Collector] = [
        ProjectorCollector(source, interval_s=interval_of(classroom, tag))
        for tag, source in projectors.items()
    ]
    for asset in classroom.assets:
        interval = asset.interval_s or classroom.telemetry_interval_s
        if is_projector_source(asset):
            continue
        if asset.source == "reachability":
            reach = asset.reachability
            assert reach is not None
            collectors.append(ReachabilityCollector(
                asset.tag, reach.host, port=reach.port, method=reach.method,
                timeout=reach.timeout_s, interval_s=interval))
        elif asset.kind == "sensor":
            driver: EnvDriver = (IioEnvDriver(asset.iio.device if asset.iio else "iio:device0")
                                 if asset.source == "iio" else SimulatedEnvDriver(asset.tag))
            collectors.append(EnvCollector(asset.tag, driver, interval_s=interval))
        else:  # a simulated PC or TV
            collectors.append(SimulatedReachability(asset.tag, interval_s=interval))
    return collectors


def guarded(name: str, read: Callable[[], Mapping[str, MetricValue]]
            ) -> Callable[[], Mapping[str, MetricValue]]:
    """A reading function that reports its failure as metrics instead of raising."""

    def call() -> Mapping[str, MetricValue]:
        try:
            return read()
        except Exception as exc:  # the heartbeat must go out regardless
            return failure_metrics(name, exc)

    return call
