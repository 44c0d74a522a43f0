"""The gate agent: card tap -> local decision -> relay -> event in the outbox.

The door opens before anything touches the disk or the network: a gate must
answer in a fraction of a second whether or not the hub is reachable.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from paho.mqtt.enums import MQTTProtocolVersion

from edge.cardreader import CardReader, InvalidUid, normalise_uid
from edge.clock import Clock
from edge.commands import CommandResult
from edge.config import AgentConfig, GateConfig
from edge.device import DeviceAgent, HostMetrics
from edge.netloop import NetLoop
from edge.outbox import Outbox
from edge.policy import CardEntry, Decision, Direction, PassageLog, decide_card
from edge.relay import Relay
from protocol.messages import CmdPayload, GatePayload
from protocol.topics import Channel

log = logging.getLogger(__name__)

# A card held on the reader is read again and again; one tap per this many seconds
# (real time: it is the reader's behaviour, not the school day's).
DEBOUNCE_S = 1.5


@dataclass(frozen=True, slots=True)
class TapOutcome:
    uid: str
    direction: Direction
    decision: Decision
    seq: int  # the event's seq in the outbox
    at: datetime


class GateAgent(DeviceAgent):
    role = "gate"

    def __init__(
        self,
        config: AgentConfig,
        *,
        clock: Clock,
        outbox: Outbox,
        relay: Relay,
        cards: Mapping[str, CardEntry],
        reader: CardReader | None = None,
        password: str | None = None,
        host: HostMetrics | None = None,
        protocol: MQTTProtocolVersion | None = None,
        netloop: NetLoop | None = None,
    ) -> None:
        super().__init__(config, clock=clock, outbox=outbox, password=password, host=host,
                         protocol=protocol, netloop=netloop)
        assert config.gate is not None  # the config's own validator guarantees it
        self.gate: GateConfig = config.gate
        self.relay = relay
        self.reader = reader
        self._cards: Mapping[str, CardEntry] = cards
        self._anti_passback = timedelta(minutes=self.gate.anti_passback_minutes)
        self._passages = PassageLog()
        self._last_read: dict[str, float] = {}
        # handle_tap is the owner's; open-gate runs on the network thread. Both pulse.
        self._relay_lock = threading.Lock()
        self.commands.register("open-gate", self._open_gate_command)
        if not cards:
            log.warning("%s: empty card list: every card is unknown and the hub decides",
                        self.device)

    def replace_cards(self, cards: Mapping[str, CardEntry]) -> None:
        """Swap in a fresh card list (a sync from the hub): one assignment, no lock needed."""
        self._cards = cards

    def handle_tap(self, uid: str, *, direction: Direction | None = None) -> TapOutcome | None:
        """One card read. None when the read is noise (not a UID) or a repeat of the last tap.

        ``direction`` is for a two-reader gate; by default the gate's configured one.
        """
        try:
            uid = normalise_uid(uid)
        except InvalidUid as exc:
            log.warning("%s: ignored card read: %s", self.device, exc)
            return None
        mono = time.monotonic()
        last = self._last_read.get(uid)
        self._last_read[uid] = mono
        if last is not None and mono - last < DEBOUNCE_S:
            return None
        way: Direction = direction or self.gate.direction
        now = self.clock.now()
        decision = decide_card(
            uid, cards=self._cards, direction=way, now=now,
            passages=self._passages, anti_passback=self._anti_passback,
        )
        if decision.opens:
            self._pulse()
            if decision.person is not None:
                self._passages.record(decision.person, way, now)
        seq = self.emit(
            Channel.EVENT,
            lambda seq: GatePayload(
                v=1, type="gate", device=self.device, seq=seq, ts=now,
                direction=way, method="card", card_uid=uid, person=decision.person,
                decision=decision.decision,
                reason=decision.reason.value if decision.reason else None,
            ),
        )
        return TapOutcome(uid, way, decision, seq, now)

    def poll(self, timeout: float) -> None:
        if self.reader is None:
            super().poll(timeout)
            return
        uid = self.reader.read(timeout)
        if uid is not None:
            self.handle_tap(uid)

    def tick(self, now: datetime | None = None) -> None:
        now = now or self.clock.now()
        super().tick(now)
        if len(self._passages) > 0:
            self._passages.prune(now - self._anti_passback)
        if len(self._last_read) > 1000:
            horizon = time.monotonic() - DEBOUNCE_S
            self._last_read = {u: t for u, t in self._last_read.items() if t >= horizon}

    def stop(self) -> None:
        super().stop()
        self.relay.close()
        if self.reader is not None:
            self.reader.close()

    def open_gate(self, note: str = "remote-open") -> int:
        """Open for someone the reader cannot identify (the guard's button, the control room).

        Recorded as a ``manual`` passage so the opening is on the record.
        """
        self._pulse()
        now = self.clock.now()
        return self.emit(
            Channel.EVENT,
            lambda seq: GatePayload(
                v=1, type="gate", device=self.device, seq=seq, ts=now,
                direction=self.gate.direction, method="manual", decision="granted",
                reason=note,
            ),
        )

    def _pulse(self) -> None:
        with self._relay_lock:
            self.relay.pulse(self.gate.relay.pulse_s)

    def _open_gate_command(self, cmd: CmdPayload) -> CommandResult:
        seq = self.open_gate()
        return CommandResult(True, {"event_seq": seq})
