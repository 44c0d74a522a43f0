"""The agent's MQTT link: birth and will, QoS 1 delivery from the outbox, commands in.

Delivery. A message is handed to paho only after the outbox committed it. Its
PUBACK marks it sent; it leaves the outbox when the hub's retained acknowledgement
on the ``ack`` channel covers it (docs/protocol.md, "Delivery acknowledgements and
outbox identity"), or, while this outbox has never seen one (a hub without the
extension), on its PUBACK as in plain v1. Paho keeps what it was handed across
reconnects and resends it after the CONNACK; what was not handed yet (the outbox
holds more than ``PUBLISH_WINDOW``) follows as acks free the window. What the
broker acknowledged but the hub has not confirmed is resent before anything newer
after every reconnect (a broker killed with ``kill -9`` lost it), and after
``resend_after_s`` without progress, doubling up to ``RESEND_MAX_S`` (the hub's
session lost, or the hub down: bounded duplicates, not a flood). After a restart
of the agent, the outbox is replayed from its oldest row. So the hub sees every
message at least once, in seq order, and drops duplicates by ``(device, inc, seq)``.

Until the outbox has seen an acknowledgement, nothing is handed to paho on a
connection before the broker confirmed the subscription to ``ack``: a retained
acknowledgement then reaches us before the PUBACK of anything we send, so a new
outbox on a hub that acknowledges never deletes on PUBACK.

Locks. paho calls ``on_publish`` holding its own message lock, and ``publish``
takes that same lock; so nothing here ever blocks on a lock held across a
paho call. ``flush`` takes the pump lock without waiting and leaves a flag
instead: whoever holds the pump sees it and pumps again.

Status and seq. Status messages do not go through the outbox (a stale
``online`` replayed after an outage would lie). Each connection attempt
reserves two seqs, birth then will, so the will's seq is above the birth's:
a consumer ordering status by seq ends on ``offline`` after an abrupt loss.
The will's ``ts`` is when it was registered (the broker sends it verbatim);
the hub should trust its receive time for offline.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from core.mqtt import BrokerAddress, is_v5, make_client
from core.version import __version__
from edge.clock import Clock
from edge.outbox import Outbox
from edge.timesync import kernel_clock_synced
from protocol.messages import PROTOCOL_VERSION, AckPayload, CmdPayload, StatusPayload, to_json
from protocol.topics import Channel, Topic
from protocol.validate import Accepted, decode

log = logging.getLogger(__name__)

PUBLISH_WINDOW = 200  # handed to paho, not yet acked: bounds paho's memory and its 16-bit mids
STOP_DRAIN_S = 2.0  # on a clean stop, give queued messages this long to leave
STOP_ACK_S = 2.0  # and the offline status this long to be acknowledged
POLL_S = 0.02
RESEND_AFTER_S = 60.0  # sent, not confirmed stored, no progress for this long: resend
RESEND_MAX_S = 3600.0  # the resend interval doubles up to this while nothing progresses
HUB_SESSIONS_KEPT = 16  # more than a hub's ingest workers

Role = Literal["gate", "classroom"]
CommandCallback = Callable[[CmdPayload], None]


class SharedLoop(Protocol):
    """One network thread serving many paho clients, for a process that runs many agents
    (the demo's district: ``smartschool.demo.netloop``). A Pi runs one agent and leaves it
    out: the link then uses paho's own thread."""

    # Connects run on the shared thread and block it; the owner bounds how long.
    connect_timeout_s: float

    def add(self, client: mqtt.Client) -> None: ...

    def retire(self, client: mqtt.Client) -> None: ...

    def abort(self, client: mqtt.Client) -> None: ...


class Link:
    def __init__(
        self,
        *,
        school: str,
        device: str,
        role: Role,
        address: BrokerAddress,
        outbox: Outbox,
        clock: Clock,
        boot: datetime,
        on_command: CommandCallback | None = None,
        username: str | None = None,
        password: str | None = None,
        keepalive_s: int = 30,
        protocol: MQTTProtocolVersion | None = None,
        netloop: SharedLoop | None = None,
        resend_after_s: float = RESEND_AFTER_S,
    ) -> None:
        self.school = school
        self.device = device
        self.role: Role = role
        self.address = address
        self._outbox = outbox
        self._clock = clock
        self._boot = boot
        self._on_command = on_command
        self._keepalive_s = keepalive_s
        self._netloop = netloop
        self._topics = {ch: str(Topic(school, device, ch)) for ch in Channel}
        self._client = make_client(
            address, device, username=username, password=password, protocol=protocol
        )
        self._client.on_pre_connect = self._on_pre_connect
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe

        self._connected = threading.Event()
        self._ip: str | None = None
        self._birth_seq: int | None = None
        # mid -> outbox seq (None for status messages), guarded by _map_lock, which is
        # never held across a paho call.
        self._map_lock = threading.Lock()
        self._unacked: dict[int, int | None] = {}
        self._early: set[int] = set()
        self._pump_lock = threading.Lock()
        self._pump_wanted = False
        self._handed_upto = -1
        # Set by whoever made sent rows unsent again; the pump (under its lock) moves the
        # cursor back, so a pump running meanwhile cannot move it past them again.
        self._rewind = False
        self._started = False
        self._stopping = False
        # End-to-end delivery (issue #11).
        self._sub_mid: int | None = None  # our subscription on the current connection
        self._subscribed = False  # ... confirmed (SUBACK): a retained ack came first
        self._hold_from: int | None = None  # hand nothing at or above this seq yet
        self._resend_base_s = resend_after_s
        self._resend_s = resend_after_s
        self._progress_at = time.monotonic()  # last time an ack deleted rows (or start)
        self.resent = 0  # rows resent because the hub had not confirmed them, for tests
        self.acks = 0  # acknowledgements received for this outbox
        # AckPayload.session values heard: one per hub worker (``--workers`` each keep
        # their own), so only a value not heard before means a lost subscription.
        self._hub_sessions: deque[str] = deque(maxlen=HUB_SESSIONS_KEPT)
        self.connects = 0  # successful connections, for tests and the agent's metrics
        # Observability (issue #16): when the broker last confirmed a message of ours
        # (monotonic); its age is what the textfile exporter shows.
        self._last_puback: float | None = None
        # The fleet view (issue #13): what the birth and the clean-stop status report.
        # The agent's builder names its configuration (edge.agent.config_fingerprint).
        self.config_version: Callable[[], str | None] = lambda: None
        self.clock_synced: Callable[[], bool | None] = kernel_clock_synced

    # -- public ------------------------------------------------------------------------

    @property
    def puback_age_s(self) -> float | None:
        """Seconds since the broker last acknowledged a message of ours (None: never
        since start). Large while rows wait means the link is stuck, not idle."""
        at = self._last_puback
        return None if at is None else time.monotonic() - at

    def topic(self, channel: Channel) -> str:
        return self._topics[channel]

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def client(self) -> mqtt.Client:
        return self._client

    def start(self) -> None:
        """Connect in the background (paho's thread, or the ``SharedLoop``);
        retries forever with backoff."""
        if self._started:
            return
        self._started = True
        if self._netloop is not None:
            self._client.connect_timeout = self._netloop.connect_timeout_s
        if is_v5(self._client):
            # A fresh session each time: a command queued while the device was off
            # (open-gate an hour late) is worse than a lost one.
            self._client.connect_async(
                self.address.host, self.address.port, self._keepalive_s, clean_start=True
            )
        else:
            self._client.connect_async(self.address.host, self.address.port, self._keepalive_s)
        if self._netloop is not None:
            self._netloop.add(self._client)
        else:
            self._client.loop_start()
        self.flush()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def wait_drained(self, timeout: float) -> bool:
        """True once the broker has acknowledged everything (nothing unsent, nothing
        awaiting a PUBACK). Rows may still wait for the hub's acknowledgement."""
        deadline = time.monotonic() + timeout
        while True:
            with self._map_lock:
                idle = not self._unacked
            if idle and self._outbox.unsent() == 0:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_S)

    def wait_stored(self, timeout: float) -> bool:
        """True once the outbox is empty: the hub confirmed (or, for a hub without
        acknowledgements, the broker acknowledged) every message."""
        deadline = time.monotonic() + timeout
        while True:
            with self._map_lock:
                idle = not self._unacked
            if idle and len(self._outbox) == 0:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_S)

    def flush(self) -> None:
        """Hand newly queued outbox rows to paho. Cheap, never blocks; call after enqueue."""
        self._pump_wanted = True
        while self._pump_wanted:
            if not self._pump_lock.acquire(blocking=False):
                return  # the holder will see the flag
            try:
                self._pump_wanted = False
                self._pump()
            finally:
                self._pump_lock.release()

    def stop(self) -> None:
        """Clean shutdown: drain briefly, retained ``offline``, DISCONNECT (no will)."""
        if not self._started:
            return
        self._stopping = True
        if self.connected:
            self.wait_drained(STOP_DRAIN_S)
            seq = self._outbox.reserve_seq()
            info = self._client.publish(
                self.topic(Channel.STATUS), self._status(seq, "offline"), qos=1, retain=True
            )
            self._track(info.mid, None)
            try:
                info.wait_for_publish(STOP_ACK_S)
            except (RuntimeError, ValueError) as exc:
                log.warning("%s: offline status not acknowledged: %s", self.device, exc)
        if self._netloop is not None:
            self._netloop.retire(self._client)
            self._client.disconnect()
            deadline = time.monotonic() + STOP_ACK_S
            while self._client.socket() is not None and time.monotonic() < deadline:
                time.sleep(POLL_S)  # the loop thread writes the DISCONNECT and closes
        else:
            self._client.disconnect()
            self._client.loop_stop()
        self._connected.clear()
        self._started = False
        self._stopping = False

    def power_cut(self) -> None:
        """Simulate the device losing power: the connection drops without DISCONNECT,
        so the broker publishes the Last Will, and the link stays down. The outbox
        keeps what was not acknowledged; a new agent on it "powers the device on"."""
        if not self._started:
            return
        self._stopping = True
        if self._netloop is not None:
            self._netloop.abort(self._client)
        else:
            self._client.loop_stop()
            sock = self._client.socket()
            if sock is not None:
                sock.close()
            self._client._sock = None  # paho has no public "forget the socket"
        self._connected.clear()

    # -- building ----------------------------------------------------------------------

    def _status(self, seq: int, state: Literal["online", "offline"], *,
                report: bool = True) -> bytes:
        """``report``: with the device's figures (configuration, backlog, clock sync);
        not in the Last Will, where they would be as old as the connection."""
        figures: dict[str, Any] = {}
        if report:
            figures = {"config_version": self.config_version(), "backlog": len(self._outbox),
                       "clock_synced": self.clock_synced()}
        return to_json(
            StatusPayload(
                v=PROTOCOL_VERSION,
                type="status",
                device=self.device,
                seq=seq,
                inc=self._outbox.incarnation,
                ts=self._clock.now(),
                state=state,
                fw=__version__,
                role=self.role,
                ip=self._ip,
                boot=self._boot,
                **figures,
            )
        )

    # -- publishing --------------------------------------------------------------------

    def _pump(self) -> None:
        if not self._outbox.acknowledged and not self._subscribed:
            return  # wait for the SUBACK, see the module docstring
        self._maybe_resend()
        if self._rewind:
            self._rewind = False
            self._handed_upto = -1
        with self._map_lock:
            room = PUBLISH_WINDOW - len(self._unacked)
            in_flight = {seq for seq in self._unacked.values() if seq is not None}
        if room <= 0:
            return  # acks will call flush again
        for item in self._outbox.pending(room + len(in_flight), after=self._handed_upto):
            if item.seq in in_flight:
                continue  # paho holds it (a resend moved the cursor back)
            if self._hold_from is not None and item.seq >= self._hold_from:
                return  # newer than what paho resends after this CONNACK: after it
            if room <= 0:
                return
            room -= 1
            info = self._client.publish(self.topic(item.channel), item.payload, qos=1)
            # NO_CONN still queues a QoS 1 message in paho: it goes out after CONNACK.
            if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                log.error("%s: paho refused seq %d: %s", self.device, item.seq,
                          mqtt.error_string(info.rc))
                return
            self._handed_upto = item.seq
            self._track(info.mid, item.seq)

    def _track(self, mid: int, seq: int | None) -> None:
        with self._map_lock:
            if mid in self._early:
                # The PUBACK beat us to it (the network thread is fast on loopback).
                self._early.discard(mid)
                acked = True
            else:
                self._unacked[mid] = seq
                acked = False
        if acked and seq is not None:
            self._delivered(seq)

    def _delivered(self, seq: int) -> None:
        if self._outbox.acknowledged:
            self._outbox.mark_sent(seq)
        else:
            self._outbox.mark_delivered(seq)

    def _maybe_resend(self) -> None:
        """After ``_resend_s`` without the hub confirming anything, send again what the
        broker acknowledged that long ago; back off while nothing progresses."""
        if not self._outbox.acknowledged or not self._connected.is_set():
            return
        now = time.monotonic()
        if now - self._progress_at < self._resend_s:
            return
        count = self._outbox.requeue_sent(sent_before=time.time() - self._resend_s)
        self._progress_at = now
        self._rewind = True  # and offer again whatever is unsent, from the oldest
        if count:
            self._resend_s = min(self._resend_s * 2, RESEND_MAX_S)
            self.resent += count
            log.warning("%s: hub confirmed nothing for a while: resending %d messages",
                        self.device, count)

    def _on_ack(self, payload: AckPayload) -> None:
        if not self._outbox.acknowledged:
            log.info("%s: the hub acknowledges storage: rows now wait for it", self.device)
            self._outbox.set_acknowledged()
        self.acks += 1
        if payload.session not in self._hub_sessions:
            # The broker lost a hub worker's subscriptions (or this is our first word
            # from it since we started): what we sent may have found no subscriber, and
            # this ``upto`` may be past it. Send everything unconfirmed again first.
            self._hub_sessions.append(payload.session)
            count = self._outbox.requeue_sent()
            if count:
                self.resent += count
                self._rewind = True
                log.info("%s: new hub session: resending %d unconfirmed messages",
                         self.device, count)
                self.flush()
            return
        if self._outbox.mark_stored(payload.inc, payload.upto):
            self._progress_at = time.monotonic()
            self._resend_s = self._resend_base_s

    # -- paho callbacks (network thread) -----------------------------------------------

    def _on_pre_connect(self, client: mqtt.Client, _userdata: Any) -> None:
        self._birth_seq = self._outbox.reserve_seq()
        will_seq = self._outbox.reserve_seq()
        client.will_set(
            self.topic(Channel.STATUS), self._status(will_seq, "offline", report=False), qos=1,
            retain=True,
        )

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any,
                    reason: ReasonCode, _props: Any) -> None:
        if reason.is_failure:
            log.warning("%s: broker %s refused the connection: %s", self.device, self.address,
                        reason)
            return
        try:
            sock = client.socket()
            self._ip = sock.getsockname()[0] if isinstance(sock, socket.socket) else None
        except OSError:
            self._ip = None
        self._subscribed = False
        _rc, self._sub_mid = client.subscribe(
            [(self.topic(Channel.CMD), 1), (self.topic(Channel.ACK), 1)])
        if self._outbox.acknowledged:
            # The broker acknowledged these, the hub never confirmed them: the broker may
            # have died with them. First the oldest, then paho's in-flight resend, then
            # anything newer (held until the first PUBACK on this connection).
            count = self._outbox.requeue_sent()
            if count:
                self.resent += count
                log.info("%s: resending %d messages the hub has not confirmed",
                         self.device, count)
            self._rewind = True
            with self._map_lock:
                in_flight = [seq for seq in self._unacked.values() if seq is not None]
            self._hold_from = min(in_flight) if in_flight else None
            self._progress_at = time.monotonic()
        seq = self._birth_seq if self._birth_seq is not None else self._outbox.reserve_seq()
        info = client.publish(
            self.topic(Channel.STATUS), self._status(seq, "online"), qos=1, retain=True
        )
        self._track(info.mid, None)
        self.connects += 1
        self._connected.set()
        log.info("%s: connected to %s", self.device, self.address)
        self.flush()

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any,
                       reason: ReasonCode, _props: Any) -> None:
        if self._connected.is_set() and not self._stopping:
            log.warning("%s: disconnected from %s: %s", self.device, self.address, reason)
        self._connected.clear()

    def _on_subscribe(self, _client: mqtt.Client, _userdata: Any, mid: int,
                      _reasons: Any, _props: Any) -> None:
        if mid == self._sub_mid:
            self._subscribed = True
            self.flush()

    def _on_publish(self, _client: mqtt.Client, _userdata: Any, mid: int,
                    reason: ReasonCode, _props: Any) -> None:
        self._hold_from = None  # paho's resend after the CONNACK is written
        if not reason.is_failure:
            self._last_puback = time.monotonic()
        with self._map_lock:
            if mid not in self._unacked:
                self._early.add(mid)
                return
            seq = self._unacked.pop(mid)
        if seq is not None:
            if reason.is_failure:
                # Kept in the outbox (replayed at the next start): a broker refusing a
                # gate event is a misconfiguration to fix, not a reason to lose it.
                log.error("%s: broker refused seq %d: %s", self.device, seq, reason)
            else:
                self._delivered(seq)
        self.flush()

    def _on_message(self, _client: mqtt.Client, _userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        result = decode(message.topic, bytes(message.payload))
        if isinstance(result, Accepted) and isinstance(result.payload, AckPayload):
            self._on_ack(result.payload)
            return
        if not isinstance(result, Accepted) or not isinstance(result.payload, CmdPayload):
            log.warning("%s: ignored message on %s: %s", self.device, message.topic,
                        getattr(result, "detail", "not a command"))
            return
        if self._on_command is None:
            return
        try:
            self._on_command(result.payload)
        except Exception:
            # Never let a handler kill paho's network thread.
            log.exception("%s: command handler failed", self.device)
