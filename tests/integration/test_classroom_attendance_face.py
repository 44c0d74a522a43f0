"""A classroom door with a camera (attendance mode face) on real parts: dlib, the fixture
photos, the gate's face pipeline and agreement, Mosquitto. The gallery is enrolled
without alex_lacamoire, so his photo must come out unknown, never as someone else; every
event names the room."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from edge.agent import build_agent
from edge.classroom import ClassroomAgent
from edge.clock import DISTRICT_TZ, ManualClock
from edge.config import AgentConfig, ClassroomConfig, MqttConfig, OutboxConfig
from edge.config.attendance import AttendanceConfig
from edge.config.face import FaceConfig
from edge.face.camera import FolderCamera
from protocol import GatePayload
from tests.conftest import FACES, Broker
from tests.integration.test_edge_link import Subscriber, wait_until
from tests.integration.test_gate_face import gallery, gallery_file  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture
def frames(tmp_path: Path) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    shutil.copy(FACES / "test" / "obama1.jpg", folder / "1-obama1.jpg")
    shutil.copy(FACES / "test" / "alex_lacamoire1.jpg", folder / "2-stranger.jpg")
    return folder


@pytest.fixture
def subscriber(broker: Broker) -> Iterator[Subscriber]:
    sub = Subscriber(broker, "room-face-sub")
    yield sub
    sub.close()


def test_a_camera_at_the_room_door(broker: Broker, tmp_path: Path, gallery_file: Path,  # noqa: F811
                                   frames: Path, subscriber: Subscriber) -> None:
    config = AgentConfig(
        device="thcs-lop-r202", school="thcs-lop", role="classroom",
        mqtt=MqttConfig(url=broker.url), outbox=OutboxConfig(path=tmp_path / "o.sqlite3"),
        heartbeat_s=3600,
        classroom=ClassroomConfig(attendance=AttendanceConfig(
            room="P.202", mode="face", face=FaceConfig(gallery_file=gallery_file))))
    agent = build_agent(config, clock=ManualClock(datetime(2025, 9, 8, 7, 50,
                                                           tzinfo=DISTRICT_TZ)),
                        password="", camera=FolderCamera(frames, fps=5, hold=20))
    assert isinstance(agent, ClassroomAgent) and agent.door is not None
    assert agent.door.reader is None  # face only: no card reader is opened
    agent.start()
    try:
        assert agent.link.wait_connected(10)
        events = wait_until(lambda: len(e := subscriber.of(GatePayload)) >= 2 and e,
                            timeout=90, what="two sightings")
    finally:
        agent.stop()
    assert [(e.method, e.person, e.decision, e.reason, e.room, e.direction)
            for e in events] == [
        ("face", "obama", "granted", None, "P.202", "in"),
        ("face", None, "unknown", "no-face-match", "P.202", "in"),
    ]
