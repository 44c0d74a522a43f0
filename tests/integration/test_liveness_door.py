"""A classroom door with a camera and liveness on takes a pupil's attendance from his live
face, never from a photo of it (issue #14).

Real parts: the classroom agent a Pi runs (edge.agent.build_agent), its RoomDoor, dlib,
the liveness set's clips, a private Mosquitto; only the camera is a folder camera playing
a clip. The gallery and its fixtures are the face gate's liveness test's (Lin-Manuel
Miranda enrolled from enroll-lin-manuel-miranda.jpg).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import BaseModel

from edge.agent import build_agent
from edge.classroom import ClassroomAgent
from edge.clock import DISTRICT_TZ, ManualClock
from edge.config import AgentConfig, ClassroomConfig, MqttConfig, OutboxConfig
from edge.config.attendance import AttendanceConfig
from edge.config.face import FaceConfig
from edge.face.camera import FolderCamera
from edge.gate.agent import GateOutcome
from edge.room import RoomDoor
from protocol import GatePayload
from tests.conftest import Broker
from tests.integration.test_edge_link import Subscriber, wait_until
from tests.integration.test_liveness_gate import (  # noqa: F401 (fixtures)
    LIVENESS,
    gallery,
    gallery_file,
    models,
    subscriber,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

ROOM = "P.101"
MIRANDA = "lin_manuel_miranda"
# The clips' faces are small (60-105 px): detection at full scale, as the gate test does.
SMALL_FACES = {"detect_scale": 1.0, "min_face_px": 60, "tolerance": 0.6}


def watch(broker: Broker, tmp_path: Path, gallery_file: Path,  # noqa: F811
          clip: str, *, liveness: str) -> list[GateOutcome]:
    """The door's decisions on ``clip``, played at 4 of its 10 frames a second (what a Pi
    managing 4 frames a second analyses; the still clip's 40 frames then last 10 s, well
    past the liveness budget and the turn prompt after it), once every event is stored by
    the broker."""
    config = AgentConfig(
        device="th-live-r101", school="th-live", role="classroom",
        mqtt=MqttConfig(url=broker.url), outbox=OutboxConfig(path=tmp_path / "o.sqlite3"),
        heartbeat_s=3600,
        classroom=ClassroomConfig(attendance=AttendanceConfig(
            room=ROOM, mode="face", anti_passback_minutes=0,
            face=FaceConfig(gallery_file=gallery_file, liveness=liveness, **SMALL_FACES))))
    outcomes: list[GateOutcome] = []
    agent = build_agent(config, clock=ManualClock(datetime(2025, 9, 8, 7, 50,
                                                           tzinfo=DISTRICT_TZ)),
                        password="", camera=FolderCamera(LIVENESS / clip, fps=4),
                        on_decision=outcomes.append)
    assert isinstance(agent, ClassroomAgent) and agent.door is not None
    assert agent.door.pipeline is not None
    assert (agent.door.pipeline.liveness is None) is (liveness == "off")
    agent.start()
    try:
        assert agent.link.wait_connected(10)
        assert agent.door.face_done.wait(120), "the door's face thread never finished the clip"
        agent.link.wait_stored(10)
        assert len(agent.outbox) == 0
    finally:
        agent.stop()
    return outcomes


def sightings(subscriber: Subscriber, count: int) -> list[tuple[object, ...]]:  # noqa: F811
    events = wait_until(lambda: len(e := subscriber.of(GatePayload)) >= count and e,
                        what=f"{count} door event(s)")
    return [(e.method, e.person, e.decision, e.reason, e.room) for e in events]


def test_a_live_face_at_the_door_is_a_sighting(
    broker: Broker, tmp_path: Path, gallery_file: Path, subscriber: Subscriber  # noqa: F811
) -> None:
    outcomes = watch(broker, tmp_path, gallery_file, "live-miranda-b.mp4", liveness="motion")
    assert [(o.decision.decision, o.decision.person) for o in outcomes] == [
        ("granted", MIRANDA),
    ], outcomes
    assert sightings(subscriber, 1) == [("face", MIRANDA, "granted", None, ROOM)]


def test_a_photo_at_the_door_is_no_sighting(
    broker: Broker, tmp_path: Path, gallery_file: Path, subscriber: Subscriber  # noqa: F811
) -> None:
    outcomes = watch(broker, tmp_path, gallery_file, "still-miranda-b.mp4", liveness="motion")
    assert outcomes, "the door decided nothing: the photo was never judged"
    assert not any(o.decision.opens or o.decision.person for o in outcomes), outcomes
    events = sightings(subscriber, len(outcomes))
    assert set(events) == {("face", None, "denied", "liveness-failed", ROOM)}
    # Refused for being a photo of him, not for being a stranger: his face is within the
    # tolerance of his enrolment (the control below lets the same clip in).
    assert all(o.decision.distance is not None
               and o.decision.distance < SMALL_FACES["tolerance"] for o in outcomes)


def test_the_same_photo_is_a_sighting_without_liveness(
    broker: Broker, tmp_path: Path, gallery_file: Path, subscriber: Subscriber  # noqa: F811
) -> None:
    """The control: what the check is there to stop. (The photo's face is near the
    tolerance, some frames agree on no one: ambiguous-face; one sighting is enough.)"""
    outcomes = watch(broker, tmp_path, gallery_file, "still-miranda-b.mp4", liveness="off")
    got = [(o.decision.decision, o.decision.person) for o in outcomes]
    assert got.count(("granted", MIRANDA)) == 1, got
    assert set(got) <= {("granted", MIRANDA), ("unknown", None)}, got


def test_the_door_times_an_approach_by_when_the_camera_took_each_frame(
    tmp_path: Path, gallery_file: Path  # noqa: F811
) -> None:
    """Frames analysed late are timed when they were taken: the photo's first 20 frames,
    taken within 0.2 s by the camera's clock, are still inside the liveness budget (1.5 s)
    however long the door takes over them (1.6 s of pauses here, each shorter than the
    gap that ends an approach); frames taken later, past the budget and the turn prompt,
    end it, refused."""
    from edge.face.pipeline import FacePipeline
    from faces.gallery import Gallery
    from protocol.topics import Channel

    face = FaceConfig(gallery_file=gallery_file, liveness="motion", **SMALL_FACES)
    events: list[object] = []

    def emit(channel: Channel, build: Callable[[int], BaseModel]) -> int:
        events.append(build(len(events)))
        return len(events) - 1

    clip = LIVENESS / "still-miranda-b.mp4"
    door = RoomDoor(AttendanceConfig(room=ROOM, mode="face", anti_passback_minutes=0, face=face),
                    device="th-live-r101", clock=ManualClock(datetime(2025, 9, 8, 7, 50,
                                                                      tzinfo=DISTRICT_TZ)),
                    emit=emit, cards={}, camera=FolderCamera(clip),
                    pipeline=FacePipeline.from_config(face, Gallery.load(gallery_file)))
    frames = list(FolderCamera(clip).frames())[:20]
    taken = time.monotonic()
    outcomes = []
    for n, frame in enumerate(frames):
        outcomes.append(door.process_frame(frame, at=taken + 0.01 * n))
        if n < 2:
            time.sleep(0.8)  # the door is slow: 1.6 s, past the budget, by its own clock
    assert outcomes == [None] * len(frames), "decided within the budget by the camera's clock"
    # The photo stays in front of the camera: 0.5 s a frame by the camera's clock.
    later = [(0.2 + 0.5 * k, door.process_frame(frames[k], at=taken + 0.2 + 0.5 * k))
             for k in range(1, 13)]
    decided = [(t, o) for t, o in later if o is not None]
    assert decided, "a photo shown for 6.2 s was never refused"
    when, first = decided[0]
    allowed = face.liveness_budget_s + face.liveness_prompt_s
    assert when >= allowed, f"refused {when} s after the first frame: within {allowed} s"
    assert (first.decision.decision, first.decision.person, first.decision.reason
            and first.decision.reason.value) == ("denied", None, "liveness-failed")
    assert len(events) == len(decided) == 1  # one refusal, then the agreement holds it
