"""Wire protocol v1 between edge devices and the hub (docs/protocol.md).

Pure: imports neither paho nor psycopg, so edge, hub and tests share it freely.
"""

from protocol.messages import (
    PROTOCOL_VERSION,
    AckPayload,
    CmdPayload,
    GatePayload,
    Payload,
    ReplyPayload,
    StatusPayload,
    TelemetryPayload,
)
from protocol.topics import Channel, Topic, TopicError
from protocol.validate import MAX_PAYLOAD_BYTES, Accepted, Reason, Rejected, decode

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "PROTOCOL_VERSION",
    "Accepted",
    "AckPayload",
    "Channel",
    "CmdPayload",
    "GatePayload",
    "Payload",
    "Reason",
    "Rejected",
    "ReplyPayload",
    "StatusPayload",
    "TelemetryPayload",
    "Topic",
    "TopicError",
    "decode",
]
