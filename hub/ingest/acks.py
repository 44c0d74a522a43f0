"""End-to-end delivery acknowledgements: which device to tell how far its messages are stored.

Pure bookkeeping (no paho, no psycopg): the writer notes each committed batch, then asks
which acknowledgements are due and publishes them (retained, on the device's ``ack``
channel, docs/protocol.md "Delivery acknowledgements and outbox identity").

What ``upto`` means. The highest seq of an incarnation that this hub has committed from
the device's outbox channels (event, telemetry, reply; a status seq is reserved outside
the outbox and says nothing about it). That is "everything up to it is stored" because
a device's outbox messages reach the one writer in seq order: the device publishes them
in order on one connection, resends what the hub has not confirmed before anything newer
after a reconnect, and MQTT keeps a publisher's order to a subscriber. With several
workers on the shared subscription that order holds only per worker (docs/protocol.md,
"Delivery acknowledgements and outbox identity").

Rate. At most one acknowledgement per device per ``interval_s``: a gate tapping ten times
a second gets one a second, not ten. Any committed outbox message of the device calls for
one, even when ``upto`` did not move: a resent duplicate means the device is waiting for
word on it (it resent after a new hub session, whose first acknowledgement it could not
trust). A device that sent nothing gets none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from hub.ingest.routing import Store
from protocol import GatePayload, ReplyPayload, TelemetryPayload

ACK_INTERVAL_S = 1.0
_OUTBOX_TYPES = (GatePayload, TelemetryPayload, ReplyPayload)


@dataclass(frozen=True, slots=True)
class Due:
    school: str
    device: str
    inc: str | None  # None: the legacy incarnation (messages without ``inc``)
    upto: int


@dataclass(slots=True)
class _Device:
    school: str
    inc: str | None
    upto: int
    sent_at: float = float("-inf")


@dataclass
class AckTracker:
    """Not thread-safe: the writer thread owns it."""

    interval_s: float = ACK_INTERVAL_S
    _devices: dict[str, _Device] = field(default_factory=dict)
    # devices with messages committed since their last acknowledgement: due() looks at these
    _dirty: set[str] = field(default_factory=set)

    def note(self, stores: Iterable[Store]) -> None:
        """Record messages that are now committed (new rows or duplicates alike)."""
        for item in stores:
            p = item.accepted.payload
            if not isinstance(p, _OUTBOX_TYPES):
                continue
            state = self._devices.get(p.device)
            self._dirty.add(p.device)
            if state is None:
                self._devices[p.device] = _Device(item.accepted.topic.school, p.inc, p.seq)
            elif state.inc != p.inc:
                # a new outbox (or, rarely, the old one's last messages after it): the
                # acknowledgement follows the incarnation heard last
                state.inc, state.upto = p.inc, p.seq
                state.school = item.accepted.topic.school
            elif p.seq > state.upto:
                state.upto = p.seq
                state.school = item.accepted.topic.school

    def due(self, now: float) -> list[Due]:
        """Acknowledgements to publish at monotonic time ``now``; marks them sent."""
        out = []
        for device in list(self._dirty):
            state = self._devices[device]
            if now - state.sent_at >= self.interval_s:
                out.append(Due(state.school, device, state.inc, state.upto))
                state.sent_at = now
                self._dirty.discard(device)
        return out

    def resend_all(self) -> None:
        """Publish every device's acknowledgement again at its next turn (after the
        broker may have lost its retained copies, e.g. a reconnect)."""
        self._dirty.update(self._devices)
