"""What gate and classroom agents share: outbox, link, heartbeat, command replies."""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from paho.mqtt.enums import MQTTProtocolVersion
from pydantic import BaseModel

from edge.clock import Clock
from edge.commands import CommandResult, CommandTable
from edge.config import AgentConfig
from edge.link import Link, SharedLoop
from edge.metrics import MetricValue, host_metrics
from edge.outbox import Outbox
from edge.textfile import EdgeFigures
from protocol.messages import PROTOCOL_VERSION, CmdPayload, ReplyPayload, TelemetryPayload, to_json
from protocol.topics import Channel

log = logging.getLogger(__name__)

HostMetrics = Callable[[], Mapping[str, MetricValue]]


def phase_offset(device: str, period_s: float) -> timedelta:
    """A stable per-device delay so a district's agents do not all report in the same second."""
    return timedelta(seconds=(zlib.crc32(device.encode()) % 1000) / 1000 * period_s)


def next_due(due: datetime, period: timedelta, now: datetime) -> datetime:
    """The next deadline after ``now`` on the grid; a caller that fell behind skips, not bursts."""
    due += period
    if due <= now:
        due = now + period
    return due


class DeviceAgent:
    """Base of the agents. Thread model: the owner calls ``tick``; commands arrive
    on paho's network thread and only touch the outbox (locked) and the relay."""

    role: Literal["gate", "classroom"]

    def __init__(
        self,
        config: AgentConfig,
        *,
        clock: Clock,
        outbox: Outbox,
        password: str | None = None,
        host: HostMetrics | None = None,
        protocol: MQTTProtocolVersion | None = None,
        netloop: SharedLoop | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.outbox = outbox
        self.boot = clock.now()
        self._host = host or (lambda: host_metrics(outbox.path.parent))
        # Run ids kept in the outbox's file: no command runs twice, also after a restart.
        self.commands = CommandTable(outbox, now=clock.now)
        self.commands.register("ping", self._ping)
        self.link = Link(
            school=config.school,
            device=config.device,
            role=config.role,
            address=config.mqtt.address,
            outbox=outbox,
            clock=clock,
            boot=self.boot,
            on_command=self._on_command,
            username=config.mqtt_username,
            password=password,
            keepalive_s=config.mqtt.keepalive_s,
            protocol=protocol,
            netloop=netloop,
        )
        self._heartbeat = timedelta(seconds=config.heartbeat_s)
        self._next_heartbeat = self.boot + phase_offset(config.device, config.heartbeat_s)

    @property
    def device(self) -> str:
        return self.config.device

    def start(self) -> None:
        self.link.start()

    def stop(self) -> None:
        """Offline status, disconnect, close the outbox. The agent cannot be restarted."""
        self.link.stop()
        self.outbox.close()

    def tick(self, now: datetime | None = None) -> None:
        """Do whatever is due at ``now`` (default: the agent's clock). Cheap when nothing is."""
        now = now or self.clock.now()
        if now >= self._next_heartbeat:
            self.emit_heartbeat(now)
            self._next_heartbeat = next_due(self._next_heartbeat, self._heartbeat, now)

    def poll(self, timeout: float) -> None:
        """Wait up to ``timeout`` s for input (a card tap); the base has none."""
        time.sleep(timeout)

    # -- messages ----------------------------------------------------------------------

    def emit(self, channel: Channel, build: Callable[[int], BaseModel]) -> int:
        """Queue a payload built for its seq, and start sending it. Returns the seq."""
        inc = self.outbox.incarnation  # the outbox's identity travels with every message
        seq = self.outbox.enqueue(
            channel, lambda s: to_json(build(s).model_copy(update={"inc": inc})))
        self.link.flush()
        return seq

    def emit_telemetry(self, now: datetime, metrics: Mapping[str, MetricValue],
                       asset: str | None = None) -> int:
        return self.emit(
            Channel.TELEMETRY,
            lambda seq: TelemetryPayload(
                v=PROTOCOL_VERSION, type="telemetry", device=self.device, seq=seq, ts=now,
                asset=asset, metrics=dict(metrics),
            ),
        )

    def device_metrics(self, now: datetime) -> dict[str, MetricValue]:
        metrics: dict[str, MetricValue] = dict(self._host())
        metrics["net.reachable"] = self.link.connected
        metrics["outbox.pending"] = len(self.outbox)
        metrics["agent.uptime_s"] = int((now - self.boot).total_seconds())
        return metrics

    def textfile_figures(self) -> EdgeFigures:
        """The outbox's backlog and the link's health, for node_exporter (issue #16)."""
        return EdgeFigures(
            device=self.device, role=self.role, outbox_rows=len(self.outbox),
            outbox_unsent=self.outbox.unsent(), puback_age_s=self.link.puback_age_s,
            connected=self.link.connected, connects=self.link.connects,
            resent=self.link.resent)

    def emit_heartbeat(self, now: datetime) -> int:
        return self.emit_telemetry(now, self.device_metrics(now))

    # -- commands (network thread) -----------------------------------------------------

    def _on_command(self, cmd: CmdPayload) -> None:
        result = self.commands.handle(cmd)
        now = self.clock.now()
        self.emit(
            Channel.REPLY,
            lambda seq: ReplyPayload(
                v=PROTOCOL_VERSION, type="reply", device=self.device, seq=seq, ts=now,
                id=cmd.id, ok=result.ok, detail=result.detail,
            ),
        )

    def _ping(self, _cmd: CmdPayload) -> CommandResult:
        detail: dict[str, Any] = {
            "role": self.role,
            "pending": len(self.outbox),
            "boot": self.boot.isoformat(timespec="seconds"),
        }
        return CommandResult(True, detail)
