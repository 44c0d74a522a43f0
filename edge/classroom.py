"""The classroom agent: device heartbeat plus readings of the room's equipment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from paho.mqtt.enums import MQTTProtocolVersion

from edge.clock import Clock
from edge.config import AgentConfig, ClassroomConfig
from edge.device import DeviceAgent, HostMetrics, next_due, phase_offset
from edge.netloop import NetLoop
from edge.outbox import Outbox
from edge.projector import ProjectorSource


class ClassroomAgent(DeviceAgent):
    role = "classroom"

    def __init__(
        self,
        config: AgentConfig,
        *,
        clock: Clock,
        outbox: Outbox,
        projectors: Sequence[ProjectorSource],
        password: str | None = None,
        host: HostMetrics | None = None,
        protocol: MQTTProtocolVersion | None = None,
        netloop: NetLoop | None = None,
    ) -> None:
        super().__init__(config, clock=clock, outbox=outbox, password=password, host=host,
                         protocol=protocol, netloop=netloop)
        assert config.classroom is not None  # the config's own validator guarantees it
        self.classroom: ClassroomConfig = config.classroom
        self.projectors = {p.tag: p for p in projectors}
        self._interval = timedelta(seconds=self.classroom.telemetry_interval_s)
        self._next_reading = self.boot + phase_offset(
            config.device + "/assets", self.classroom.telemetry_interval_s
        )

    def tick(self, now: datetime | None = None) -> None:
        now = now or self.clock.now()
        super().tick(now)
        if now >= self._next_reading:
            self.emit_readings(now)
            self._next_reading = next_due(self._next_reading, self._interval, now)

    def emit_readings(self, now: datetime) -> list[int]:
        """One telemetry message per asset; returns their seqs."""
        return [
            self.emit_telemetry(now, source.read(now).metrics(), asset=tag)
            for tag, source in self.projectors.items()
        ]
