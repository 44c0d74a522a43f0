"""The one place that renders and parses topics: ``ss/v1/{school}/{device}/{channel}``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from protocol.ids import ID_PATTERN, is_valid_id

__all__ = ["DEVICE_CHANNELS", "PREFIX", "VERSION_SEGMENT", "Channel", "Topic", "TopicError",
           "subscription"]

PREFIX = "ss"
VERSION_SEGMENT = "v1"


class TopicError(ValueError):
    """A topic that is not ``ss/v1/{school}/{device}/{channel}``."""


class Channel(StrEnum):
    EVENT = "event"
    TELEMETRY = "telemetry"
    STATUS = "status"
    REPLY = "reply"
    CMD = "cmd"
    ACK = "ack"  # hub -> device, retained: end-to-end delivery (docs/protocol.md)


# Channels a device publishes on; the hub subscribes to these.
DEVICE_CHANNELS: tuple[Channel, ...] = (
    Channel.EVENT,
    Channel.TELEMETRY,
    Channel.STATUS,
    Channel.REPLY,
)


@dataclass(frozen=True, slots=True)
class Topic:
    school: str
    device: str
    channel: Channel

    def __post_init__(self) -> None:
        for name, value in (("school", self.school), ("device", self.device)):
            if not is_valid_id(value):
                raise TopicError(f"{name} id {value!r} does not match {ID_PATTERN.pattern}")

    def __str__(self) -> str:
        return f"{PREFIX}/{VERSION_SEGMENT}/{self.school}/{self.device}/{self.channel.value}"

    @classmethod
    def parse(cls, topic: str) -> Topic:
        parts = topic.split("/")
        if len(parts) != 5 or parts[0] != PREFIX:
            raise TopicError(
                f"topic {topic!r} is not {PREFIX}/v1/{{school}}/{{device}}/{{channel}}"
            )
        if parts[1] != VERSION_SEGMENT:
            raise TopicError(f"topic {topic!r} has unknown version segment {parts[1]!r}")
        try:
            channel = Channel(parts[4])
        except ValueError:
            raise TopicError(f"topic {topic!r} has unknown channel {parts[4]!r}") from None
        return cls(school=parts[2], device=parts[3], channel=channel)


def subscription(channel: Channel, *, school: str = "+", device: str = "+",
                 share_group: str | None = None) -> str:
    """A subscription filter, optionally as an MQTT 5 shared subscription."""
    flt = f"{PREFIX}/{VERSION_SEGMENT}/{school}/{device}/{channel.value}"
    return f"$share/{share_group}/{flt}" if share_group else flt
