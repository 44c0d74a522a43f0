"""``smartschool edge simulate``: one gate's real agent code, fed by simulated inputs.

The agent is the one a Pi runs (``build_agent`` -> ``GateAgent``); only the
sources are swapped: card taps come from a list, frames from a folder of images,
a video file, or one photo held up to the camera (``FolderCamera``; the photo gets
a camera's sensor noise, as the liveness attack it stands for), the relay and the
buzzer only log. Events go
to the broker of the config (or ``mqtt_url``) through a throw-away outbox, so a
simulation never writes into a real gate's queue.
"""

from __future__ import annotations

import csv
import json
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.agent import build_agent
from edge.cards.readers import SimulatedCardReader
from edge.config import AgentConfig
from edge.gate.agent import GateAgent, GateOutcome
from edge.hardware.feedback import LogFeedback
from edge.hardware.relay import NoopRelay

CONNECT_TIMEOUT_S = 10.0  # not connected by then: events stay in the outbox, reported
DRAIN_TIMEOUT_S = 15.0
FACE_TIMEOUT_S = 600.0  # a video longer than this is cut short
# Sensor noise on a simulated photo (grey levels, sigma): about a cheap webcam's in
# daylight. Without it every frame would be identical, which no camera delivers.
PHOTO_NOISE = 2.5


class SimulationError(ValueError):
    """The options do not fit the config (images for a card-only gate, ...)."""


@dataclass(frozen=True, slots=True)
class SimulationResult:
    outcomes: list[GateOutcome]
    connected: bool
    pending: int  # events still in the outbox at the end (broker unreachable)
    signals: list[str] = field(default_factory=list)  # what the person heard and saw


def read_taps(path: Path) -> list[str]:
    """UIDs from a text file (one per line) or a CSV (the first column, or ``uid``).

    Blank lines and ``#`` comments are skipped; so is a header row.
    """
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    taps: list[str] = []
    column = 0
    for index, row in enumerate(rows):
        cells = [cell.strip() for cell in row]
        if not cells or not cells[0] or cells[0].startswith("#"):
            continue
        if index == 0 and "uid" in [c.lower() for c in cells]:
            column = [c.lower() for c in cells].index("uid")
            continue
        if column < len(cells) and cells[column]:
            taps.append(cells[column])
    return taps


def outcome_record(outcome: GateOutcome) -> dict[str, Any]:
    decision = outcome.decision
    return {
        "seq": outcome.seq,
        "ts": outcome.at.isoformat(timespec="milliseconds"),
        "direction": outcome.direction,
        "method": decision.method,
        "card_uid": outcome.uid,
        "person": decision.person,
        "distance": None if decision.distance is None else round(decision.distance, 4),
        "decision": decision.decision,
        "reason": decision.reason.value if decision.reason else None,
    }


def simulate(
    config: AgentConfig,
    *,
    config_path: Path | None = None,
    images: Path | None = None,
    video: Path | None = None,
    photo: Path | None = None,
    taps: Sequence[str] = (),
    mqtt_url: str | None = None,
    outbox: Path | None = None,
    fps: float = 5.0,
    hold: int = 10,
    tap_interval_s: float = 0.2,
    password: str | None = None,
    on_decision: Callable[[GateOutcome], None] | None = None,
) -> SimulationResult:
    """Run the gate until the taps are done and the frames are used up, then stop.

    ``photo``: one picture held in front of the camera for ``hold`` frames, with sensor
    noise: what a face gate's liveness check must refuse.
    """
    if config.gate is None:
        raise SimulationError("simulate drives a gate; this config is a classroom's")
    given = [s for s in (images, video, photo) if s is not None]
    if len(given) > 1:
        raise SimulationError("give --images, --video or a photo: one source, not both")
    source = given[0] if given else None
    if source is not None and not config.gate.uses_face:
        raise SimulationError(f"frames need a face mode; this gate's mode is {config.gate.mode}")
    updates: dict[str, Any] = {}
    if mqtt_url is not None:
        updates["mqtt"] = config.mqtt.model_copy(update={"url": mqtt_url})
    with tempfile.TemporaryDirectory(prefix="ss-simulate-") as scratch:
        path = outbox or Path(scratch) / f"{config.device}.sqlite3"
        updates["outbox"] = config.outbox.model_copy(update={"path": path,
                                                             "synchronous": "normal"})
        config = config.model_copy(update=updates)
        config.mqtt.address  # noqa: B018 - parse --mqtt-url now, with its error
        camera = None
        if source is not None:
            from edge.face.camera import FolderCamera

            camera = FolderCamera(source, fps=fps, hold=hold,
                                  noise=PHOTO_NOISE if photo is not None else 0.0)
        outcomes: list[GateOutcome] = []

        def record(outcome: GateOutcome) -> None:
            outcomes.append(outcome)
            if on_decision is not None:
                on_decision(outcome)

        feedback = LogFeedback(config.device)
        agent = build_agent(
            config, card_reader=SimulatedCardReader(), relay=NoopRelay(config.device),
            feedback=feedback, camera=camera, config_path=config_path,
            on_decision=record, password=password,
        )
        assert isinstance(agent, GateAgent)
        agent.start()
        try:
            connected = agent.link.wait_connected(CONNECT_TIMEOUT_S)
            for uid in taps:
                agent.handle_tap(uid)
                agent.tick()
                time.sleep(tap_interval_s)
            if agent.gate.uses_face:
                deadline = time.monotonic() + FACE_TIMEOUT_S
                while not agent.face_done.wait(0.2) and time.monotonic() < deadline:
                    agent.tick()
            if connected:
                agent.link.wait_stored(DRAIN_TIMEOUT_S)  # the hub confirmed it, or the broker
            pending = len(agent.outbox)
        finally:
            agent.stop()
    return SimulationResult(outcomes, connected, pending, feedback.signals)


def print_outcomes(echo: Callable[[str], None]) -> Callable[[GateOutcome], None]:
    def show(outcome: GateOutcome) -> None:
        echo(json.dumps(outcome_record(outcome), ensure_ascii=False))

    return show


def all_taps(tap: Iterable[str], taps_file: Path | None) -> list[str]:
    found = read_taps(taps_file) if taps_file is not None else []
    return [*found, *tap]
