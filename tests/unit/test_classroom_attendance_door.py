"""A classroom door's attendance role without a broker: its config as a table of cases, and
RoomDoor deciding taps with the gate's policy (edge/room.py), its events captured as they
would enter the outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from edge.cards.readers import SimulatedCardReader
from edge.clock import ManualClock
from edge.config import AgentConfig
from edge.config.attendance import AttendanceConfig
from edge.gate.agent import DEBOUNCE_S
from edge.gate.policy import CardEntry
from edge.room import RoomDoor
from protocol.messages import GatePayload
from protocol.topics import Channel

VN = timezone(timedelta(hours=7))


@pytest.mark.parametrize(("section", "problem"), [
    ({}, "room"),
    ({"room": ""}, "room"),
    ({"room": " P101"}, "room"),
    ({"room": "P101", "relay": {"kind": "gpio"}}, "no relay"),
    ({"room": "P101", "direction": "out"}, "direction: in"),
    ({"room": "P101", "mode": "card-and-face", "face": {}}, "card-and-face is a gate's"),
    ({"room": "P101", "mode": "face"}, "needs a face section"),
    ({"room": "P101", "reader": "evdev"}, "reader_device"),
])
def test_bad_attendance_sections(section: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        AgentConfig.model_validate({"device": "r1", "school": "s1", "role": "classroom",
                                    "classroom": {"attendance": section}})


def test_a_good_section_and_its_defaults() -> None:
    config = AgentConfig.model_validate({"device": "r1", "school": "s1", "role": "classroom",
                                         "classroom": {"attendance": {"room": "Phòng máy 2"}}})
    assert config.classroom is not None
    door = config.classroom.attendance
    assert door is not None
    assert (door.room, door.mode, door.anti_passback_minutes) == ("Phòng máy 2", "card", 10)
    assert config.classroom.assets == []


class Captured:
    def __init__(self) -> None:
        self.events: list[GatePayload] = []

    def emit(self, channel: Channel, build: Callable[[int], BaseModel]) -> int:
        assert channel is Channel.EVENT
        payload = build(len(self.events))
        assert isinstance(payload, GatePayload)
        self.events.append(payload)
        return len(self.events) - 1


def test_the_door_decides_as_the_gate_and_names_its_room(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ManualClock(datetime(2025, 9, 8, 7, 0, tzinfo=VN))
    out = Captured()
    cards = {"04A1": CardEntry("HS1"), "04B2": CardEntry("HS2", status="lost")}
    mono = [1000.0]
    monkeypatch.setattr("edge.room.time.monotonic", lambda: mono[0])
    door = RoomDoor(AttendanceConfig(room="P101"), device="r1", clock=clock, emit=out.emit,
                    cards=cards, reader=SimulatedCardReader())

    def tap(uid: str, minutes: float) -> None:
        mono[0] += DEBOUNCE_S + 0.1
        clock.advance(minutes * 60)
        door.handle_tap(uid)

    tap("04a1", 0)      # a known card: granted
    tap("04A1", 3)      # again within 10 minutes: a repeat, refused (still a sighting)
    tap("04A1", 8)      # 11 minutes after the first: a new sighting
    door.handle_tap("04A1")  # held on the reader: read again at once, no event
    tap("04B2", 0)      # a lost card is refused at a room door as at the gate
    tap("FFFF", 0)      # a card the list does not know: the hub decides
    assert [(e.person, e.decision, e.reason, e.room, e.direction) for e in out.events] == [
        ("HS1", "granted", None, "P101", "in"),
        ("HS1", "denied", "anti-passback", "P101", "in"),
        ("HS1", "granted", None, "P101", "in"),
        ("HS2", "denied", "card-lost", "P101", "in"),
        (None, "unknown", "unknown-card", "P101", "in"),
    ]
    assert out.events[0].card_uid == "04A1"
    assert out.events[2].ts - out.events[0].ts == timedelta(minutes=11)


def test_the_example_loads() -> None:
    from pathlib import Path

    from edge.config import load_config

    path = Path(__file__).resolve().parents[2] / "firmware_configs"
    config = load_config(path / "classroom-attendance.example.yaml")
    assert config.classroom is not None and config.classroom.attendance is not None
    assert config.classroom.attendance.room == "P.101"
    assert config.classroom.attendance.cards_file == path / "cards.example.yaml"
