"""The ``classroom.attendance:`` section: a card reader and/or a camera at the room's door.

It is the gate's own section (``GateConfig``: mode, reader, card list, face, sync, hours)
with the room it watches; the gate's decisions run unchanged, so a card or a face that
would be refused at the gate is refused at the door. What a door does not have is
refused: a relay (a classroom door opens for anyone) and an ``out`` reader (a sighting
says the pupil is at the lesson, not which way they went)::

    classroom:
      attendance:
        room: P101            # as the timetable names it
        mode: card            # or face, card-or-face (with a face section)
        reader: evdev
        reader_device: /dev/input/by-id/usb-reader-event-kbd
        cards_file: cards.yaml
        anti_passback_minutes: 10   # one sighting per pupil per 10 minutes
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from edge.config.gate import GateConfig

RoomName = Annotated[str, StringConstraints(min_length=1, max_length=64,
                                            pattern=r"^\S(.*\S)?$")]


class AttendanceConfig(GateConfig):
    room: RoomName = Field(description="The room this door leads to, as the school's timetable "
                                       "names it; every sighting carries it")
    anti_passback_minutes: int = Field(
        default=10,
        ge=0,
        le=720,
        description="One sighting per pupil per this many minutes: a face in view or a "
        "card held twice is not sent again and again (a repeat is sent as a refusal, "
        "which the hub still counts as a sighting)",
    )

    @model_validator(mode="after")
    def _a_door_not_a_gate(self) -> AttendanceConfig:
        if self.relay.kind != "noop":
            raise ValueError("attendance: a classroom door has no relay (relay.kind: noop)")
        if self.direction != "in":
            raise ValueError("attendance: the door's reader counts pupils in (direction: in)")
        if self.mode == "card-and-face":
            raise ValueError("attendance: card-and-face is a gate's mode; use card, face or "
                             "card-or-face at a classroom door")
        return self
