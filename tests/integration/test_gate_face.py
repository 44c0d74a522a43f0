"""Face gates on real parts: the firmware example config, dlib, the fixture photos, Mosquitto.

The gallery is enrolled from tests/fixtures/faces/train *without* alex_lacamoire, so his
photo is a stranger to the gate: it must come out unknown, never as someone else.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.agent import build_agent
from edge.cards.readers import SimulatedCardReader
from edge.clock import DISTRICT_TZ, ManualClock
from edge.config import load_config
from edge.face.camera import FolderCamera
from edge.gate.agent import GateAgent
from edge.hardware.feedback import LogFeedback
from edge.hardware.relay import NoopRelay
from faces.enroll import enroll_folder
from faces.gallery import Gallery
from faces.keys import KEY_ENV, new_key
from faces.models import FaceModels
from protocol import GatePayload
from tests.conftest import FACES, Broker
from tests.integration.test_edge_link import Subscriber, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
MONDAY_7 = datetime(2025, 9, 8, 7, 0, tzinfo=DISTRICT_TZ)  # inside the example's hours
STRANGER = "alex_lacamoire"


@pytest.fixture(scope="module")
def gallery() -> Gallery:
    enrolled, _ = enroll_folder(FaceModels().load(), FACES / "train",
                                consent="test-consent-2025")
    return enrolled.without(STRANGER)


@pytest.fixture
def gallery_file(gallery: Gallery, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    key = new_key()
    monkeypatch.setenv(KEY_ENV, key.decode())
    path = tmp_path / "gallery.bin"
    gallery.save(path)
    return path


@pytest.fixture
def frames(tmp_path: Path) -> Path:
    """obama, then the stranger, as a folder camera shows them (name order)."""
    folder = tmp_path / "frames"
    folder.mkdir()
    shutil.copy(FACES / "test" / "obama1.jpg", folder / "1-obama1.jpg")
    shutil.copy(FACES / "test" / "alex_lacamoire1.jpg", folder / "2-stranger.jpg")
    return folder


@pytest.fixture
def subscriber(broker: Broker) -> Iterator[Subscriber]:
    sub = Subscriber(broker, "face-sub")
    yield sub
    sub.close()


def test_face_gate_from_the_firmware_example_identifies_the_shared_photos(
    broker: Broker, tmp_path: Path, gallery_file: Path, frames: Path, subscriber: Subscriber
) -> None:
    example = load_config(ROOT / "firmware_configs" / "gate-face.example.yaml")
    assert example.gate is not None and example.gate.face is not None
    face = example.gate.face.model_copy(update={"gallery_file": gallery_file})
    config = example.model_copy(update={
        "mqtt": example.mqtt.model_copy(update={"url": broker.url}),
        "outbox": example.outbox.model_copy(update={"path": tmp_path / "outbox.sqlite3"}),
        "gate": example.gate.model_copy(update={"mode": "face", "face": face}),
    })
    feedback = LogFeedback()
    agent = build_agent(
        config, clock=ManualClock(MONDAY_7), relay=NoopRelay(), feedback=feedback,
        card_reader=SimulatedCardReader(), password="",
        camera=FolderCamera(frames, fps=5, hold=20),
    )
    assert isinstance(agent, GateAgent)
    assert agent.pipeline is not None and len(agent.pipeline.gallery) == 4
    agent.start()
    try:
        assert agent.link.wait_connected(10)
        assert agent.face_done.wait(60), "the folder camera did not finish"
        assert agent.link.wait_drained(10)
        events = wait_until(lambda: len(e := subscriber.of(GatePayload)) >= 2 and e,
                            what="two gate events")
    finally:
        agent.stop()
    assert [(e.method, e.person, e.decision, e.reason) for e in events] == [
        ("face", "obama", "granted", None),
        ("face", None, "unknown", "no-face-match"),
    ]
    assert events[0].distance is not None and events[0].distance < 0.45
    assert events[1].distance is not None and events[1].distance > 0.6  # nobody close
    assert isinstance(agent.relay, NoopRelay) and agent.relay.pulses == 1
    assert feedback.signals == ["granted", "denied"]
    # snapshots are off in the example: no face image was written anywhere
    assert sorted(p.name for p in tmp_path.rglob("*.jpg")) == ["1-obama1.jpg", "2-stranger.jpg"]


def test_simulate_cli_prints_each_decision(
    broker: Broker, tmp_path: Path, gallery_file: Path, frames: Path, subscriber: Subscriber
) -> None:
    from smartschool.cli import app

    cards = tmp_path / "cards.csv"
    cards.write_text("uid,person,status,kind\n04A1B2C3,obama,active,\n04A1B2C4,biden,lost,\n")
    config = tmp_path / "gate.yaml"
    config.write_text(
        "device: th-sim-gate-1\nschool: th-sim\nrole: gate\n"
        "mqtt: {url: 'mqtt://127.0.0.1:1'}\n"  # replaced by --mqtt-url
        "gate:\n  mode: card-or-face\n  anti_passback_minutes: 0\n  cards_file: cards.csv\n"
        f"  face: {{gallery_file: '{gallery_file}'}}\n"
    )
    result = CliRunner().invoke(app, [
        "edge", "simulate", "--config", str(config), "--images", str(frames),
        "--mqtt-url", broker.url, "--tap", "04:a1:b2:c3", "--tap", "04A1B2C4",
        "--fps", "5", "--hold", "20",
    ])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    got = [(r["method"], r["card_uid"], r["person"], r["decision"], r["reason"]) for r in lines]
    assert got[:2] == [
        ("card", "04A1B2C3", "obama", "granted", None),
        ("card", "04A1B2C4", "biden", "denied", "card-lost"),
    ]
    # obama tapped a moment ago: his face is the same passage; the stranger is recorded
    assert got[2:] == [("face", None, None, "unknown", "no-face-match")]
    published = wait_until(lambda: len(e := subscriber.of(GatePayload)) >= 3 and e,
                           what="the simulated events on the broker")
    assert [e.seq for e in published] == [r["seq"] for r in lines]


def test_simulate_from_a_video_file(
    broker: Broker, tmp_path: Path, gallery_file: Path, subscriber: Subscriber
) -> None:
    import cv2

    from edge.config import AgentConfig, GateConfig, MqttConfig
    from edge.config.face import FaceConfig
    from edge.gate.simulate import simulate
    from faces.imaging import letterbox, load_bgr

    frame = letterbox(load_bgr(FACES / "test" / "obama1.jpg"), 640, 360)
    video = tmp_path / "gate.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 5.0, (640, 360))
    for _ in range(15):
        writer.write(frame)
    writer.release()
    config = AgentConfig(
        device="th-sim-gate-2", school="th-sim", role="gate", mqtt=MqttConfig(url=broker.url),
        gate=GateConfig(mode="face", face=FaceConfig(gallery_file=gallery_file, min_face_px=40)),
    )
    result = simulate(config, video=video, fps=5, hold=1, password="")
    assert result.connected and result.pending == 0
    assert [(o.decision.method, o.decision.person, o.decision.decision)
            for o in result.outcomes] == [("face", "obama", "granted")]
    wait_until(lambda: subscriber.of(GatePayload, "th-sim-gate-2"), what="the event published")
