"""The classroom agent: device heartbeat plus readings of the room's equipment.

Projectors (PJLink or simulated), PCs and TVs (reachability) and room sensors
are collectors polled by a ``CollectorScheduler`` from ``tick``, each on its
own interval; each reading is one telemetry message with the asset tag. The
device's own health (edge.metrics, as on a gate) rides the heartbeat. A collector that raises is
reported as ``collector.<name>.ok = false`` and the others carry on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from paho.mqtt.enums import MQTTProtocolVersion

from edge.clock import Clock
from edge.collectors.base import Collector, CollectorScheduler, run_collector
from edge.collectors.build import asset_collectors, guarded, projector_sources
from edge.config import AgentConfig, ClassroomConfig
from edge.device import DeviceAgent, HostMetrics
from edge.link import SharedLoop
from edge.metrics import host_metrics
from edge.outbox import Outbox
from edge.projector.source import ProjectorSource


class ClassroomAgent(DeviceAgent):
    role = "classroom"

    def __init__(
        self,
        config: AgentConfig,
        *,
        clock: Clock,
        outbox: Outbox,
        projectors: Sequence[ProjectorSource] | None = None,
        collectors: Sequence[Collector] = (),
        password: str | None = None,
        host: HostMetrics | None = None,
        protocol: MQTTProtocolVersion | None = None,
        netloop: SharedLoop | None = None,
    ) -> None:
        """``projectors`` replaces the projectors of the config (the simulator's, tests');
        ``collectors`` are polled in addition to those the config describes."""
        data_dir = outbox.path.parent
        host = guarded("host", host or (lambda: host_metrics(data_dir)))
        super().__init__(config, clock=clock, outbox=outbox, password=password, host=host,
                         protocol=protocol, netloop=netloop)
        assert config.classroom is not None  # the config's own validator guarantees it
        self.classroom: ClassroomConfig = config.classroom
        if projectors is None:
            projectors = projector_sources(self.classroom)
        self.projectors = {p.tag: p for p in projectors}
        self.scheduler = CollectorScheduler(
            [*asset_collectors(self.classroom, self.projectors), *collectors],
            start=self.boot, key=config.device,
        )

    def tick(self, now: datetime | None = None) -> None:
        now = now or self.clock.now()
        super().tick(now)
        for reading in self.scheduler.run_due(now):
            self.emit_telemetry(now, reading.metrics, asset=reading.asset)

    def emit_readings(self, now: datetime) -> list[int]:
        """Poll every collector now, whatever is due; returns the seqs of the messages."""
        return [
            self.emit_telemetry(now, reading.metrics, asset=reading.asset)
            for reading in (run_collector(c, now) for c in self.scheduler.collectors)
        ]

