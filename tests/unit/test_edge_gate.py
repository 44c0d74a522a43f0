"""The gate agent fed straight through its handlers: taps, frames and commands, no broker.

The face pipeline is a stand-in that returns the faces a test puts in the "frame",
so these tests check what the gate does with matches (agreement, verification,
freshness, suppression), not dlib; tests/integration/test_gate_face.py runs dlib.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.clock import DISTRICT_TZ, ManualClock
from edge.config import AgentConfig, GateConfig, MqttConfig, OutboxConfig
from edge.config.face import FaceConfig
from edge.config.hours import HoursConfig, WindowConfig
from edge.face.pipeline import FaceMatch
from edge.gate.agent import GateAgent
from edge.gate.policy import CardEntry
from edge.gate.reload import changed_settings, is_live, live_gate
from edge.hardware.feedback import LogFeedback
from edge.hardware.relay import NoopRelay
from edge.outbox import Outbox
from faces.decision import Box, Identity, Reason, Verification
from protocol.messages import CmdPayload, GatePayload, ReplyPayload
from protocol.topics import Channel

MONDAY_7 = datetime(2025, 9, 8, 7, 0, tzinfo=DISTRICT_TZ)
CARDS = {
    "04A1B2C3": CardEntry("th-t-00001"),
    "04A1B2C4": CardEntry("th-t-gv-01", kind="staff"),
    "04A1B2C5": CardEntry("obama"),
}
HOURS = HoursConfig(
    windows=[WindowConfig(days=["mon", "tue", "wed", "thu", "fri"], open="06:00", close="18:00")],
    closed_dates=[date(2025, 9, 2)],
)


def face(person: str | None, distance: float = 0.35, width: int = 200) -> FaceMatch:
    reason = None if person else Reason.NO_MATCH
    return FaceMatch(Box(0, width, width, 0), Identity(person, distance, reason), None,
                     np.zeros((1, 128), dtype=np.float32))


class StandInPipeline:
    """process(frame) returns the frame: a test's frame *is* its list of faces."""

    tolerance = 0.5
    margin = 0.08
    on_prompt: Any = None  # the gate sets it to its feedback (liveness's turn prompt)

    def process(self, frame: Any, *, at: float | None = None) -> list[FaceMatch]:
        return list(frame)

    def subject(self, matches: Sequence[FaceMatch]) -> FaceMatch | None:
        return max(matches, key=lambda m: m.box.area) if matches else None

    def verify(self, person: str, matches: Sequence[FaceMatch]) -> Verification:
        subject = self.subject(matches)
        if subject is None:
            return Verification(person, False, None, Reason.NO_FACE)
        if subject.person != person:
            return Verification(person, False, 0.8, Reason.FACE_MISMATCH)
        return Verification(person, True, subject.distance)


class IdleCamera:
    ended = False

    def start(self) -> None: ...

    def latest(self, *, after: int = 0, timeout: float = 1.0) -> None:
        return None

    def close(self) -> None: ...


def make(tmp_path: Path, clock: ManualClock | None = None, **gate: Any) -> GateAgent:
    if gate.get("mode", "card") != "card":
        gate.setdefault("face", FaceConfig())
    config = AgentConfig(
        device="th-t-gate-1", school="th-t", role="gate",
        mqtt=MqttConfig(url="mqtt://127.0.0.1:1"),
        outbox=OutboxConfig(path=tmp_path / "outbox.sqlite3", synchronous="normal"),
        heartbeat_s=3600, gate=GateConfig(**gate),
    )
    face_mode = config.gate is not None and config.gate.uses_face
    return GateAgent(
        config, clock=clock or ManualClock(MONDAY_7),
        outbox=Outbox(config.outbox.path or tmp_path / "o.sqlite3", synchronous="normal"),
        relay=NoopRelay(), cards=CARDS, feedback=LogFeedback(),
        camera=IdleCamera() if face_mode else None,  # type: ignore[arg-type]
        pipeline=StandInPipeline() if face_mode else None,  # type: ignore[arg-type]
        password="", host=lambda: {},
    )


@pytest.fixture
def agents() -> Iterator[list[GateAgent]]:
    made: list[GateAgent] = []
    yield made
    for agent in made:
        agent.outbox.close()


def events(agent: GateAgent) -> list[GatePayload]:
    return [GatePayload.model_validate_json(i.payload) for i in agent.outbox.pending(1000)
            if i.channel == Channel.EVENT]


def summary(agent: GateAgent) -> list[tuple[Any, ...]]:
    return [(e.method, e.card_uid, e.person, e.decision, e.reason) for e in events(agent)]


def cmd(name: str, **args: Any) -> CmdPayload:
    return CmdPayload(v=1, type="cmd", device="th-t-gate-1", seq=0, ts=MONDAY_7,
                      id=uuid.uuid4(), name=name, args=args)


def reply(agent: GateAgent, command: CmdPayload) -> ReplyPayload:
    agent._on_command(command)
    item = [i for i in agent.outbox.pending(1000) if i.channel == Channel.REPLY][-1]
    return ReplyPayload.model_validate_json(item.payload)


def test_hours_deny_students_and_let_staff_through(tmp_path, agents):
    clock = ManualClock(datetime(2025, 9, 8, 21, 0, tzinfo=DISTRICT_TZ))  # Monday evening
    agent = make(tmp_path, clock, hours=HOURS)
    agents.append(agent)
    agent.handle_tap("04A1B2C3")
    agent.handle_tap("04A1B2C4")
    clock.set(datetime(2025, 9, 2, 7, 0, tzinfo=DISTRICT_TZ))  # a holiday, in hours
    agent.handle_tap("04A1B2C5")
    assert summary(agent) == [
        ("card", "04A1B2C3", "th-t-00001", "denied", "outside-hours"),
        ("card", "04A1B2C4", "th-t-gv-01", "granted", None),
        ("card", "04A1B2C5", "obama", "denied", "outside-hours"),
    ]
    assert isinstance(agent.relay, NoopRelay) and agent.relay.pulses == 1
    assert isinstance(agent.feedback, LogFeedback)
    assert agent.feedback.signals == ["denied", "granted", "denied"]


def test_face_mode_decides_once_per_person_and_records_unknown_faces(tmp_path, agents):
    agent = make(tmp_path, mode="face")
    agents.append(agent)
    outcomes = [agent.process_frame([face("obama")]) for _ in range(6)]  # type: ignore[arg-type]
    decided = [o for o in outcomes if o is not None]
    assert len(decided) == 1 and outcomes[2] is decided[0]  # 3 of 5 frames agree
    for _ in range(3):
        agent.process_frame([])  # type: ignore[arg-type]  # nobody: no decision
    for _ in range(3):
        agent.process_frame([face(None, 0.7)])  # type: ignore[arg-type]
    assert agent.handle_tap("04A1B2C3") is None  # face-only gate: the card is ignored
    got = events(agent)
    assert [(e.method, e.person, e.decision, e.reason) for e in got] == [
        ("face", "obama", "granted", None),
        ("face", None, "unknown", "no-face-match"),
    ]
    assert got[0].distance == pytest.approx(0.35) and got[0].card_uid is None
    assert got[1].distance == pytest.approx(0.7)
    assert agent.relay.pulses == 1  # type: ignore[attr-defined]


def test_card_or_face_does_not_record_the_same_passage_twice(tmp_path, agents):
    agent = make(tmp_path, mode="card-or-face")
    agents.append(agent)
    assert agent.handle_tap("04A1B2C5") is not None  # obama's card
    for _ in range(5):
        agent.process_frame([face("obama")])  # type: ignore[arg-type]
    assert summary(agent) == [("card", "04A1B2C5", "obama", "granted", None)]


def test_card_and_face_verifies_the_holder_from_cached_faces(tmp_path, agents):
    agent = make(tmp_path, mode="card-and-face", anti_passback_minutes=0)
    agents.append(agent)
    assert agent.handle_tap("04A1B2C5") is not None  # no face seen yet
    agent.process_frame([face("obama")])  # type: ignore[arg-type]
    time.sleep(1.6)  # past the reader's debounce
    agent.handle_tap("04A1B2C5")
    agent.handle_tap("04A1B2C3")  # someone else's card in front of obama's face
    agent.handle_tap("DEADBEEF")
    agent._latest = (time.monotonic() - 10, agent._latest[1])  # type: ignore[index]
    time.sleep(1.6)
    agent.handle_tap("04A1B2C5")  # the face is too old to vouch for this tap
    assert summary(agent) == [
        ("card+face", "04A1B2C5", "obama", "denied", "no-face"),
        ("card+face", "04A1B2C5", "obama", "granted", None),
        ("card+face", "04A1B2C3", "th-t-00001", "denied", "face-mismatch"),
        ("card+face", "DEADBEEF", None, "unknown", "unknown-card"),
        ("card+face", "04A1B2C5", "obama", "denied", "no-face"),
    ]
    # a face alone never opens a card-and-face gate
    for _ in range(5):
        agent.process_frame([face("obama")])  # type: ignore[arg-type]
    assert len(events(agent)) == 5


def test_open_gate_seconds_hold_open_and_release(tmp_path, agents):
    agent = make(tmp_path)
    agents.append(agent)
    relay = agent.relay
    assert isinstance(relay, NoopRelay)
    assert reply(agent, cmd("open-gate", seconds=7)).ok and relay.last_pulse_s == 7.0
    bad = reply(agent, cmd("open-gate", seconds=3600))
    assert not bad.ok and "hold-open" in str(bad.detail)
    assert reply(agent, cmd("hold-open")).ok and relay.held
    agent.handle_tap("04A1B2C3")  # recorded, and no pulse that would end the hold
    assert relay.pulses == 1
    released = reply(agent, cmd("release"))
    assert released.ok and released.detail == {"was_held": True} and not relay.held
    assert [(e.method, e.decision, e.reason) for e in events(agent)] == [
        ("manual", "granted", "remote-open"),
        ("manual", "granted", "hold-open"),
        ("card", "granted", None),
    ]


def test_sync_gallery_reloads_the_card_list(tmp_path, agents):
    cards = tmp_path / "cards.csv"
    cards.write_text("uid,person,status,kind\n04A1B2C3,th-t-00001,lost,\n")
    agent = make(tmp_path, cards_file=cards)
    agents.append(agent)
    cards.write_text("uid,person,status,kind\n04A1B2C3,th-t-00001,active,\nAABBCCDD,x,,staff\n")
    answer = reply(agent, cmd("sync-gallery"))
    assert answer.ok and answer.detail == {"cards": 2}
    assert agent.handle_tap("04A1B2C3").decision.decision == "granted"  # type: ignore[union-attr]


def test_reload_config_applies_live_settings_and_names_the_rest(tmp_path, agents):
    path = tmp_path / "gate.yaml"
    base = "device: th-t-gate-1\nschool: th-t\nrole: gate\nmqtt: {url: 'mqtt://127.0.0.1:1'}\n"
    path.write_text(base + "gate: {anti_passback_minutes: 5}\n")
    agent = make(tmp_path)
    agent.config_path = path
    agents.append(agent)
    path.write_text(base.replace(":1'", ":2'") + "gate:\n  anti_passback_minutes: 0\n"
                    "  hours: {windows: [{days: [mon], open: '08:00', close: '09:00'}]}\n")
    answer = reply(agent, cmd("reload-config"))
    assert answer.ok
    detail = answer.detail
    assert isinstance(detail, dict)
    assert "gate.anti_passback_minutes" in detail["applied"]
    assert any(p.startswith("gate.hours") for p in detail["applied"])
    assert "mqtt.url" in detail["needs_restart"]
    assert agent.gate.anti_passback_minutes == 0
    assert agent.handle_tap("04A1B2C3").decision.reason == "outside-hours"  # type: ignore[union-attr]
    path.write_text("device: [")
    broken = reply(agent, cmd("reload-config"))
    assert not broken.ok and "not valid YAML" in json.dumps(broken.detail)


def test_changed_settings_lists_dotted_paths(tmp_path):
    one = AgentConfig(device="g", school="s", role="gate", gate=GateConfig())
    two = AgentConfig(device="g", school="s", role="gate",
                      gate=GateConfig(direction="out", relay={"pulse_s": 2.0}))  # type: ignore[arg-type]
    assert changed_settings(one, two) == ["gate.direction", "gate.relay.pulse_s"]


@pytest.mark.parametrize(("path", "live"), [
    ("gate.direction", True),
    ("gate.hours.windows", True),  # below a live setting
    ("gate.relay.pulse_s", True),
    ("gate.relay.pin", False),  # the relay's other settings need a restart
    ("gate.face.tolerance", True),
    ("gate.face.camera", False),
    ("gate.mode", False),
    ("gate.directional", False),  # a prefix of a name is not the setting
    ("mqtt.url", False),
])
def test_live_settings(path, live):
    assert is_live(path) is live


def test_live_gate_takes_only_the_live_settings():
    running = GateConfig(relay={"pin": 17, "pulse_s": 1.0})  # type: ignore[arg-type]
    new = GateConfig(direction="out", anti_passback_minutes=0, mode="card",
                     relay={"pin": 22, "pulse_s": 2.0})  # type: ignore[arg-type]
    gate = live_gate(running, new)
    assert (gate.direction, gate.anti_passback_minutes, gate.relay.pulse_s) == ("out", 0, 2.0)
    assert gate.relay.pin == 17  # a pin change waits for the restart


def test_sync_gallery_swaps_in_the_new_gallery_file(tmp_path, agents, monkeypatch):
    from faces.gallery import Gallery, GalleryEntry
    from faces.keys import KEY_ENV, new_key

    monkeypatch.setenv(KEY_ENV, new_key().decode())
    path = tmp_path / "gallery.bin"
    Gallery().save(path)
    agent = make(tmp_path, mode="face", face=FaceConfig(gallery_file=path))
    agent.pipeline.gallery = Gallery()  # type: ignore[union-attr]
    agents.append(agent)
    Gallery([GalleryEntry("obama", "consent-1", np.ones((2, 128), dtype=np.float32))]).save(path)
    answer = reply(agent, cmd("sync-gallery"))
    assert answer.ok and answer.detail == {"gallery_persons": 1}
    assert "obama" in agent.pipeline.gallery  # type: ignore[union-attr]
    path.write_bytes(b"not a gallery")
    broken = reply(agent, cmd("sync-gallery"))
    assert not broken.ok and "GalleryError" in str(broken.detail)
    assert "obama" in agent.pipeline.gallery  # type: ignore[union-attr]  # unchanged
