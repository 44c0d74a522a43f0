"""A paho client tuned for the hub's one job: consuming a high-rate QoS 1 stream.

Stock paho reads every packet with three ``recv`` calls (the command byte, each
remaining-length byte, the body) after its own ``select``, and sends each PUBACK
as its own packet and ``send``, waking the network thread through its socket pair
every time. At ten thousand messages a second those system calls are a large
share of the hub's CPU on a 2-core machine, where the publisher, the broker and
PostgreSQL want the same cores. So this client:

- reads the socket through a 64 KiB buffer and, once woken, handles every packet
  already buffered (bounded) before going back to ``select``;
- acknowledges a committed batch with one write holding all its PUBACKs.

Both use paho internals (``_create_socket``, ``_packet_queue``) that are stable
across paho 2.x (pinned ``<3`` in pyproject.toml); the integration tests run the
hub on the real broker through them, including reconnects and redelivery.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

READ_CHUNK = 65536
# Packets handled per wake-up before the loop gets back to writing (acks, pings).
DRAIN_MAX_PACKETS = 1000
_PUBACK = 0x40
_PUBACK_PACKET = struct.Struct("!BBH")  # fixed header, remaining length 2, packet id


class BufferedSocket:
    """A socket whose reads are served from a buffer filled 64 KiB at a time.

    ``pending()`` is what paho asks an SSL socket for bytes it holds beyond the
    kernel's: paho then skips waiting in ``select`` and reads them.
    """

    __slots__ = ("_buf", "_pos", "_sock")

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0

    def recv(self, size: int) -> bytes:
        if self._pos >= len(self._buf):
            # raises BlockingIOError (or ssl.SSLWantReadError) when nothing is there,
            # which paho handles exactly as for its own socket
            self._buf = self._sock.recv(READ_CHUNK)
            self._pos = 0
            if not self._buf:
                return b""  # the peer closed the connection
        start = self._pos
        chunk = self._buf[start:start + size]
        self._pos = start + len(chunk)
        return chunk

    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def pending(self) -> int:
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return self.buffered() + int(inner)

    def __getattr__(self, name: str) -> Any:
        # fileno, send, setblocking, close, ...: the real socket's
        return getattr(self._sock, name)


class ConsumerClient(mqtt.Client):
    """``paho.mqtt.client.Client`` with buffered reads and batched acknowledgements."""

    def _create_socket(self) -> Any:
        return BufferedSocket(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        sock = self._sock
        if not isinstance(sock, BufferedSocket):
            return rc
        buffered = sock.buffered
        handled = 0
        while (rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._sock is sock
               and buffered() and handled < DRAIN_MAX_PACKETS):
            # each call consumes at least one buffered byte, so this ends
            rc = super().loop_read(1)
            handled += 1
        return rc

    def ack_many(self, mids: Iterable[int]) -> None:
        """PUBACK every QoS 1 packet id in ``mids``, in one write.

        Only for ids delivered on the current connection (see hub/ingest.py): a
        packet id means nothing on another one.
        """
        packet = b"".join(_PUBACK_PACKET.pack(_PUBACK, 2, mid) for mid in mids)
        if packet:
            self._packet_queue(_PUBACK, packet, 0, 1)
