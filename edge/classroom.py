"""The classroom agent: device heartbeat plus readings of the room's equipment.

Projectors (PJLink or simulated), PCs and TVs (reachability) and room sensors
are collectors polled by a ``CollectorScheduler`` from ``tick``, each on its
own interval; each reading is one telemetry message with the asset tag. The
device's own health (edge.metrics, as on a gate) rides the heartbeat. A collector that raises is
reported as ``collector.<name>.ok = false`` and the others carry on.

With an ``attendance`` section the agent also takes attendance at the room's door
(edge/room.py): card taps and faces decided by the gate's code, sent as ``gate`` events
that name the room. Its ``sync-gallery`` command then refreshes the door's card list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from paho.mqtt.enums import MQTTProtocolVersion

from edge.cards.cardlist import load_cards
from edge.clock import Clock
from edge.collectors.base import Collector, CollectorScheduler, run_collector
from edge.collectors.build import asset_collectors, guarded, projector_sources
from edge.commands import CommandResult
from edge.config import AgentConfig, ClassroomConfig
from edge.device import DeviceAgent, HostMetrics
from edge.link import SharedLoop
from edge.metrics import host_metrics
from edge.outbox import Outbox
from edge.projector.source import ProjectorSource
from edge.room import RoomDoor
from protocol.messages import CmdPayload
from protocol.sync import SyncError


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
        door: Callable[[ClassroomAgent], RoomDoor] | None = None,
    ) -> None:
        """``projectors`` replaces the projectors of the config (the simulator's, tests');
        ``collectors`` are polled in addition to those the config describes; ``door``
        builds the attendance role from the agent (edge.agent.build_agent does)."""
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
        self.door: RoomDoor | None = door(self) if door is not None else None
        if self.door is not None:
            self.commands.register("sync-gallery", self._sync_gallery_command)

    def start(self) -> None:
        super().start()
        if self.door is not None:
            self.door.start()

    def stop(self) -> None:
        if self.door is not None:
            self.door.stop()
        super().stop()

    def poll(self, timeout: float) -> None:
        if self.door is None or not self.door.poll(timeout):
            super().poll(timeout)

    def tick(self, now: datetime | None = None) -> None:
        now = now or self.clock.now()
        super().tick(now)
        for reading in self.scheduler.run_due(now):
            self.emit_telemetry(now, reading.metrics, asset=reading.asset)
        if self.door is not None:
            self.door.tick(now)

    def emit_readings(self, now: datetime) -> list[int]:
        """Poll every collector now, whatever is due; returns the seqs of the messages."""
        return [
            self.emit_telemetry(now, reading.metrics, asset=reading.asset)
            for reading in (run_collector(c, now) for c in self.scheduler.collectors)
        ]


    def _sync_gallery_command(self, _cmd: CmdPayload) -> CommandResult:
        """The door's card list and gallery, from the hub (with a sync section) or re-read
        from their files, swapped in only when both loaded."""
        assert self.door is not None
        attendance = self.door.config
        face = attendance.face
        gallery_file = face.gallery_file if face is not None and self.door.pipeline else None
        detail: dict[str, Any] = {}
        try:
            if attendance.sync is not None:
                from edge.gate.sync import pull

                pulled = pull(attendance.sync, device=self.device, school=self.config.school,
                              cards_file=attendance.cards_file if attendance.mode != "face"
                              else None, gallery_file=gallery_file)
                detail["version"] = pulled.version
            cards = load_cards(attendance.cards_file) if attendance.cards_file else None
            gallery = None
            if gallery_file is not None:
                from faces.gallery import Gallery

                gallery = Gallery.load(gallery_file)
        except (SyncError, OSError, ValueError) as exc:
            return CommandResult(False, f"sync failed, the door keeps its cards and gallery: "
                                        f"{exc}")
        if cards is not None:
            self.door.replace_cards(cards)
            detail["cards"] = len(cards)
        if gallery is not None and self.door.pipeline is not None:
            self.door.pipeline.gallery = gallery
            detail["gallery_persons"] = len(gallery)
        return CommandResult(True, detail)
