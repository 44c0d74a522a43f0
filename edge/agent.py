"""Building agents from their config, and running one until SIGINT/SIGTERM."""

from __future__ import annotations

import hashlib
import json
import logging
import resource
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Final

from paho.mqtt.enums import MQTTProtocolVersion

from core.sdnotify import heartbeat
from core.settings import get_settings
from edge.cards.cardlist import load_cards
from edge.cards.readers import CardReader, KeyboardWedgeReader, SimulatedCardReader
from edge.classroom import ClassroomAgent
from edge.clock import Clock, SystemClock
from edge.config import AgentConfig, GateConfig, load_config
from edge.device import HostMetrics
from edge.gate.agent import GateAgent, GateOutcome
from edge.gate.policy import CardEntry
from edge.hardware.feedback import Feedback, GpioFeedback, LogFeedback
from edge.hardware.relay import GpioRelay, NoopRelay, Relay
from edge.link import SharedLoop
from edge.outbox import Outbox
from edge.projector.source import ProjectorSource
from edge.room import RoomDoor
from edge.secrets import mqtt_password
from edge.textfile import TextfileExporter

if TYPE_CHECKING:  # the face extra is imported only by gates that use a camera
    from edge.config.face import FaceConfig
    from edge.face.camera import Camera
    from edge.face.pipeline import FacePipeline
    from edge.face.snapshots import SnapshotStore
    from faces.gallery import Gallery

log = logging.getLogger(__name__)

TICK_S = 0.2  # how long the run loop waits for a card before checking what else is due

Agent = GateAgent | ClassroomAgent


def outbox_path(config: AgentConfig, data_dir: Path | None = None) -> Path:
    if config.outbox.path is not None:
        return config.outbox.path
    base = data_dir if data_dir is not None else get_settings().data_dir
    return base / "outbox" / f"{config.device}.sqlite3"


def _relay(gate: GateConfig, device: str) -> Relay:
    if gate.relay.kind == "gpio":
        return GpioRelay(gate.relay.pin, active_high=gate.relay.active_high)
    return NoopRelay(device)


def _reader(gate: GateConfig) -> CardReader:
    if gate.reader == "keyboard":
        return KeyboardWedgeReader()
    if gate.reader in ("evdev", "serial"):
        from edge.hardware.card_readers import EvdevCardReader, SerialCardReader

        assert gate.reader_device is not None  # the config's validator guarantees it
        if gate.reader == "evdev":
            return EvdevCardReader(gate.reader_device, fmt=gate.uid_format,
                                   order=gate.uid_byte_order)
        return SerialCardReader(gate.reader_device, baud=gate.reader_baud,
                                fmt=gate.uid_format, order=gate.uid_byte_order)
    return SimulatedCardReader()


def _first_boot(path: Path, synced: bool, device: str) -> bool:
    """A gate that syncs from the hub may start before its first card list or gallery
    exists: it starts empty and the hub's retained sync-gallery fills it on connect.
    Without a sync section a missing file stays an error (a typo must not open a gate
    with nobody in it)."""
    if not synced or path.exists():
        return False
    log.info("%s: %s does not exist yet; starting empty until the hub's sync-gallery",
             device, path)
    return True


def _feedback(gate: GateConfig, device: str) -> Feedback:
    if gate.feedback.kind == "gpio":
        return GpioFeedback(buzzer_pin=gate.feedback.buzzer_pin,
                            green_pin=gate.feedback.green_pin, red_pin=gate.feedback.red_pin)
    return LogFeedback(device)


def face_parts(
    face: FaceConfig,
    device: str,
    *,
    camera: Camera | None = None,
    gallery: Gallery | None = None,
    synced: bool = False,
) -> tuple[Camera, FacePipeline, SnapshotStore]:
    """Camera, pipeline (models loaded now, not on the first pupil) and snapshot store."""
    from edge.face.camera import open_camera
    from edge.face.pipeline import FacePipeline
    from edge.face.snapshots import SnapshotStore
    from faces.gallery import Gallery

    if gallery is None:
        gallery = (Gallery.load(face.gallery_file)
                   if face.gallery_file and not _first_boot(face.gallery_file, synced, device)
                   else Gallery())
    if len(gallery) == 0:
        log.warning("%s: empty face gallery: every face is unknown until sync-gallery", device)
    pipeline = FacePipeline.from_config(face, gallery)
    pipeline.models.load()
    if camera is None:
        camera = open_camera(face.camera.source, width=face.camera.width,
                             height=face.camera.height, fps=face.camera.fps)
    snapshots = SnapshotStore(
        face.snapshots.directory, enabled=face.snapshots.enabled,
        max_age=timedelta(hours=face.snapshots.max_age_hours),
        max_count=face.snapshots.max_count,
    )
    return camera, pipeline, snapshots


def _door(
    config: AgentConfig,
    *,
    cards: Mapping[str, CardEntry] | None,
    card_reader: CardReader | None,
    camera: Camera | None,
    gallery: Gallery | None,
    on_decision: Callable[[GateOutcome], None] | None,
) -> Callable[[ClassroomAgent], RoomDoor] | None:
    """A classroom's attendance role (edge/room.py) from its config: the gate's reader, card
    list and face pipeline; None for an equipment-only room."""
    attendance = config.classroom.attendance if config.classroom is not None else None
    if attendance is None:
        return None
    synced = attendance.sync is not None
    if cards is None:
        cards = (load_cards(attendance.cards_file) if attendance.cards_file
                 and not _first_boot(attendance.cards_file, synced, config.device) else {})
    parts = None
    if attendance.uses_face:
        assert attendance.face is not None
        parts = face_parts(attendance.face, config.device, camera=camera, gallery=gallery,
                           synced=synced)
    reader = card_reader or (_reader(attendance) if attendance.mode != "face" else None)
    door_cards = cards

    def build(agent: ClassroomAgent) -> RoomDoor:
        return RoomDoor(attendance, device=config.device, clock=agent.clock, emit=agent.emit,
                        cards=door_cards, reader=reader, camera=parts[0] if parts else None,
                        pipeline=parts[1] if parts else None, on_decision=on_decision)

    return build


def build_agent(
    config: AgentConfig,
    *,
    clock: Clock | None = None,
    card_reader: CardReader | None = None,
    relay: Relay | None = None,
    cards: Mapping[str, CardEntry] | None = None,
    projectors: Sequence[ProjectorSource] | None = None,
    data_dir: Path | None = None,
    password: str | None = None,
    host_metrics: HostMetrics | None = None,
    protocol: MQTTProtocolVersion | None = None,
    netloop: SharedLoop | None = None,
    feedback: Feedback | None = None,
    camera: Camera | None = None,
    gallery: Gallery | None = None,
    config_path: Path | None = None,
    on_decision: Callable[[GateOutcome], None] | None = None,
) -> Agent:
    """An agent ready to ``start()``. Every keyword overrides what the config would build.

    The simulator passes ``clock`` (a CompressedClock), ``cards`` (one table
    shared by a school's gates) and ``data_dir`` (one directory for all outboxes).
    ``password`` defaults to the environment / systemd credential. Many agents in
    one process must share a ``netloop`` (a ``SharedLoop``, see ``edge.link``). A face gate gets
    its camera and gallery from the config unless ``camera`` / ``gallery`` are
    given (``edge simulate``, tests); ``config_path`` enables reload-config.
    """
    clock = clock or SystemClock()
    password = password if password is not None else mqtt_password()
    outbox = Outbox(
        outbox_path(config, data_dir),
        max_rows=config.outbox.max_rows,
        synchronous=config.outbox.synchronous,
    )
    try:
        if config.gate is not None:
            synced = config.gate.sync is not None
            cards_file = config.gate.cards_file
            if cards is None:
                cards = (load_cards(cards_file) if cards_file
                         and not _first_boot(cards_file, synced, config.device) else {})
            parts = None
            if config.gate.uses_face:
                assert config.gate.face is not None
                parts = face_parts(config.gate.face, config.device, camera=camera,
                                   gallery=gallery, synced=synced)
            agent: Agent = GateAgent(
                config, clock=clock, outbox=outbox,
                relay=relay or _relay(config.gate, config.device),
                cards=cards, reader=card_reader or _reader(config.gate),
                feedback=feedback or _feedback(config.gate, config.device),
                camera=parts[0] if parts else None,
                pipeline=parts[1] if parts else None,
                snapshots=parts[2] if parts else None,
                config_path=config_path, on_decision=on_decision,
                password=password, host=host_metrics, protocol=protocol, netloop=netloop,
            )
        else:
            assert config.classroom is not None  # projectors None: built from the config
            agent = ClassroomAgent(
                config, clock=clock, outbox=outbox, projectors=projectors,
                password=password, host=host_metrics, protocol=protocol, netloop=netloop,
                door=_door(config, cards=cards, card_reader=card_reader, camera=camera,
                           gallery=gallery, on_decision=on_decision),
            )
    except BaseException:
        outbox.close()
        raise
    # Read at each status, so a gate's reload-config shows at its next connection.
    agent.link.config_version = lambda: config_fingerprint(agent.config)
    return agent


_IDENTITY: Final[dict[str, Any]] = {"device": True, "school": True, "mqtt": {"username"},
                                    "outbox": {"path"}}


def config_fingerprint(config: AgentConfig) -> str:
    """The configuration version a device reports in ``status`` (issue #13, the fleet
    view): the first 12 hex digits of the SHA-256 of the validated settings without the
    device's own identity (id, school, broker user name, outbox file), so devices set up
    alike agree, whatever the YAML's layout or comments, and one left behind stands out."""
    settings = config.model_dump(mode="json", exclude=_IDENTITY)
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


def raise_open_files_limit() -> int:
    """Lift the soft fd limit to the hard one; returns the new soft limit.

    Each agent holds about six descriptors (socket, paho's wake-up pair, SQLite
    db/wal/shm); the usual soft limit of 1024 stops a district at ~150 agents.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


def stop_agents(agents: Sequence[Agent], *, workers: int = 32) -> None:
    """Stop many agents at once: each waits up to a few seconds for its last acks."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="agent-stop") as pool:
        for future in [pool.submit(agent.stop) for agent in agents]:
            future.result()


def run(config_path: str | Path, *, stop: threading.Event | None = None) -> None:
    """Run one agent until SIGINT/SIGTERM (or ``stop``), then go offline cleanly."""
    config = load_config(config_path)
    agent = build_agent(config, config_path=Path(config_path))
    stop = stop or threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: signal %d, stopping", config.device, signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
    log.info("%s: %s agent starting, broker %s, outbox %s", config.device, config.role,
             config.mqtt.address, agent.outbox.path)
    # Observability (issue #16): node_exporter's textfile collector, when a file is named.
    metrics_file = get_settings().edge_metrics_file
    exporter = TextfileExporter(metrics_file) if metrics_file is not None else None
    agent.start()
    try:
        while not stop.is_set():
            agent.poll(TICK_S)
            agent.tick()
            heartbeat()  # from the loop itself: a hung tick stops it and systemd restarts us
            if exporter is not None and exporter.due(agent.link.connected):
                exporter.write(agent.textfile_figures())
    finally:
        agent.stop()
        log.info("%s: stopped", config.device)
