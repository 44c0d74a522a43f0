"""MQTT -> PostgreSQL ingest: at-least-once from the broker, stored once.

Concurrency, said out loud: paho's network thread (``loop_start``) only stamps
each message and puts it on a queue; one writer thread drains the queue in
batches, writes each batch in one transaction, and only then acknowledges the
batch's messages to the broker (paho ``manual_ack``). A crash before the commit
means the broker redelivers; a crash after it means a duplicate that the
``(device, seq)`` key absorbs.

Acknowledgements are tied to the connection that delivered the message: after a
reconnect the broker resends every unacknowledged message under its old packet
id and may reuse ids, so a late ack for the old connection could release a
different, not yet stored message. Messages of a previous connection are stored
(harmless duplicates) but never acked; their redelivered copies are.

Nothing the writer meets stops it: a database error keeps the batch in hand
(unacknowledged) and retries with backoff until the write sticks.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from core.mqtt import BrokerAddress, TlsFiles, make_client
from core.sdnotify import heartbeat
from hub.db import Conn, connect
from hub.ingest import store
from hub.ingest.acks import AckTracker
from hub.ingest.client import ConsumerClient
from hub.ingest.latency import Histogram
from hub.ingest.routing import DeadLetter, Incoming, Registered, Store, route
from protocol.messages import PROTOCOL_VERSION, AckPayload, to_json
from protocol.topics import DEVICE_CHANNELS, Channel, Topic, subscription

log = logging.getLogger(__name__)

BATCH_MAX = 2000  # messages per transaction; COPY is at its best at a few thousand rows
FLUSH_INTERVAL_S = 0.02  # longest a message waits for its batch to fill
REGISTRY_REFRESH_S = 5.0  # new devices are picked up at least this often
DB_RETRY_INITIAL_S = 0.5
DB_RETRY_MAX_S = 10.0
SESSION_EXPIRY_S = 7 * 24 * 3600  # the broker keeps our queue through a week-long hub outage
RECEIVE_MAXIMUM = 4000  # unacked QoS 1 messages the broker may have in flight to us
STATS_EVERY_S = 30.0
SHARE_GROUP = "hub"


def shared_subscriptions_available(props: object) -> bool:
    """The CONNACK's Shared Subscription Available property; absent means available."""
    value = getattr(props, "SharedSubscriptionAvailable", None)
    return value is None or bool(value)


@dataclass
class IngestStats:
    received: int = 0
    stored: int = 0
    dead_lettered: int = 0
    batches: int = 0
    db_errors: int = 0
    # What at-least-once costs, measured rather than assumed: deliveries the broker
    # marked as resent (DUP), and stored messages whose rows were already there.
    redelivered: int = 0
    duplicates_dropped: int = 0
    connections: int = 0  # CONNACKs accepted: more than one means the hub reconnected
    connected: bool = False
    subscribed: bool = False  # the broker confirmed our subscriptions on this connection
    last_commit: datetime | None = None
    acks_published: int = 0  # end-to-end delivery acknowledgements sent to devices (#11)
    # Observability (issue #16): what /metrics exports beyond the counters above.
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)
    batch_seconds: Histogram = field(default_factory=Histogram)  # write start -> commit
    commit_delay_seconds: Histogram = field(default_factory=Histogram)  # receive -> commit
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def add_dead_letters(self, reasons: Sequence[str]) -> None:
        with self._lock:
            for reason in reasons:
                self.dead_letter_reasons[reason] = self.dead_letter_reasons.get(reason, 0) + 1

    def dead_letters_by_reason(self) -> dict[str, int]:
        with self._lock:
            return dict(self.dead_letter_reasons)


class Ingest:
    """One hub worker: a persistent MQTT session feeding a batching writer."""

    def __init__(
        self,
        *,
        database_url: str,
        mqtt_url: str,
        client_id: str,
        tz: str,
        username: str | None = None,
        password: str | None = None,
        shared: bool = False,
        on_commit: Callable[[Sequence[Incoming]], None] | None = None,
        tls: TlsFiles | None = None,
    ) -> None:
        self.database_url = database_url
        self.address = BrokerAddress.parse(mqtt_url, tls)
        self.tz = tz
        self.shared = shared
        self.stats = IngestStats()
        self.on_commit = on_commit
        # SimpleQueue: the C queue, a few times cheaper per put on the network thread.
        self._queue: queue.SimpleQueue[Incoming] = queue.SimpleQueue()
        self._session = 0  # bumped on every CONNACK; see the module docstring
        self._stop = threading.Event()
        self._registry: dict[str, Registered] = {}
        self._registry_at = 0.0
        self._conn: Conn | None = None
        # End-to-end delivery (issue #11): the writer owns the tracker; the network thread
        # only raises the flag that the broker may have lost the retained acknowledgements.
        self._acks = AckTracker()
        self._acks_lost = threading.Event()
        # Renewed whenever the broker had lost our subscriptions (no session present):
        # devices then resend all they hold unconfirmed, see protocol.messages.AckPayload.
        self.ack_session = secrets.token_hex(8)
        self._writer = threading.Thread(target=self._write_loop, name="ingest-writer",
                                        daemon=True)
        client = make_client(self.address, client_id, username=username,
                             password=password, persistent=True, manual_ack=True,
                             client_class=ConsumerClient)
        assert isinstance(client, ConsumerClient)  # make_client builds the class it is given
        self.client = client
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    # -- MQTT side (network thread) ---------------------------------------------------

    def _subscriptions(self) -> list[tuple[str, int]]:
        group = SHARE_GROUP if self.shared else None
        return [(subscription(ch, share_group=group), 1) for ch in DEVICE_CHANNELS]

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, rc: Any,
                    props: Any) -> None:
        if rc.is_failure:
            log.error("broker %s refused the hub: %s", self.address, rc)
            return
        if self.shared and not shared_subscriptions_available(props):
            # An MQTT 3.1.1 broker would take "$share/..." as a plain topic and deliver
            # nothing; say so instead of running a worker that silently ingests nothing.
            log.error("broker %s does not offer MQTT 5 shared subscriptions, which several "
                      "hub workers need: run one worker or use a broker that has them "
                      "(Mosquitto 2, EMQX, HiveMQ)", self.address)
        self._session += 1
        self.stats.add(connections=1)
        self.stats.connected = True
        log.info("connected to %s (session present: %s)", self.address,
                 getattr(flags, "session_present", None))
        # Subscribing again is harmless with a persistent session and needed without one.
        if not getattr(flags, "session_present", False):
            self.ack_session = secrets.token_hex(8)
        client.subscribe(self._subscriptions())
        self._acks_lost.set()

    def _on_subscribe(self, _c: Any, _u: Any, _mid: Any, codes: Any, _p: Any) -> None:
        refused = [code for code in codes or () if getattr(code, "is_failure", False)]
        if refused:
            log.error("broker %s refused the hub's subscriptions: %s", self.address,
                      ", ".join(str(code) for code in refused))
            return
        self.stats.subscribed = True

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.stats.connected = False
        self.stats.subscribed = False
        if not self._stop.is_set():
            log.warning("lost the broker (%s); paho reconnects with backoff", rc)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.dup:
            self.stats.add(redelivered=1)
        raw = msg.payload
        self._queue.put(Incoming(msg.topic, raw if isinstance(raw, bytes) else bytes(raw),
                                 datetime.now(UTC), msg.mid, msg.qos, self._session))

    # -- writer thread ------------------------------------------------------------------

    def _connection(self) -> Conn:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = connect(self.database_url)
            store.prepare(self._conn)
            self._registry_at = 0.0
        return self._conn

    def _refresh_registry(self, conn: Conn, *, force: bool = False) -> None:
        if force or time.monotonic() - self._registry_at > REGISTRY_REFRESH_S:
            with conn.transaction():
                self._registry = store.load_registry(conn)
            self._registry_at = time.monotonic()

    def _next_batch(self) -> list[Incoming]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + FLUSH_INTERVAL_S
        while len(batch) < BATCH_MAX:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self._queue.get(timeout=max(remaining, 0)) if remaining > 0
                             else self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write(self, batch: list[Incoming]) -> None:
        """Write until it sticks: the batch is neither acked nor dropped on a DB outage."""
        delay = DB_RETRY_INITIAL_S
        started = time.monotonic()  # a retried batch's time includes the outage: it waited
        while True:
            try:
                conn = self._connection()
                self._refresh_registry(conn)
                routed = [route(m, self._registry) for m in batch]
                if any(isinstance(r, DeadLetter) and r.reason == "unregistered-device"
                       for r in routed):
                    # a device registered seconds ago must not be dead-lettered
                    self._refresh_registry(conn, force=True)
                    routed = [route(m, self._registry) for m in batch]
                stores = [r for r in routed if isinstance(r, Store)]
                dead = [r for r in routed if isinstance(r, DeadLetter)]
                result = store.write_batch(conn, stores, dead, tz=self.tz)
            except Exception as exc:
                # Outage (OperationalError / InterfaceError) or anything unforeseen: the
                # batch stays unacknowledged and in hand; a fresh connection retries it.
                self.stats.add(db_errors=1)
                if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
                    log.warning("database unavailable (%s); retrying in %.1fs", exc, delay)
                else:
                    log.exception("writing a batch failed; retrying in %.1fs", delay)
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                heartbeat()  # retrying an outage is working, not hung
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, DB_RETRY_MAX_S)
                continue
            session = self._session
            # QoS 1 only: the hub subscribes at 1, so the broker never sends it QoS 2.
            self.client.ack_many(m.mid for m in batch if m.qos == 1 and m.session == session)
            self.stats.add(stored=result.stored, dead_lettered=result.dead_lettered,
                           duplicates_dropped=result.duplicates, received=len(batch),
                           batches=1)
            committed = datetime.now(UTC)
            self.stats.last_commit = committed
            self.stats.batch_seconds.observe(time.monotonic() - started)
            # The oldest message of the batch waited longest: its wait is the batch's delay.
            self.stats.commit_delay_seconds.observe(
                max((committed - batch[0].received_at).total_seconds(), 0.0))
            # routing's reasons, then the rows PostgreSQL refused one by one (savepoints)
            refused = result.dead_lettered - len(dead)
            self.stats.add_dead_letters([d.reason for d in dead]
                                        + [store.STORAGE_REJECTED] * refused)
            self._acks.note(stores)
            if self.on_commit is not None:
                self.on_commit(batch)
            for d in dead:
                log.info("dead letter %s: %s (%s)", d.message.topic, d.reason, d.detail)
            return

    def _write_loop(self) -> None:
        last_stats = time.monotonic()
        while not self._stop.is_set():
            batch = self._next_batch()
            if batch:
                self._write(batch)
            heartbeat()  # after each commit, and each idle wait (0.2 s)
            self._publish_acks()
            if time.monotonic() - last_stats > STATS_EVERY_S:
                last_stats = time.monotonic()
                log.info("ingest: received %d, stored %d, dead-lettered %d in %d batches",
                         self.stats.received, self.stats.stored, self.stats.dead_lettered,
                         self.stats.batches)

    def _publish_acks(self) -> None:
        """Tell devices how far their messages are committed (retained, QoS 1), at most
        once a second each. Nothing before the broker confirmed our subscriptions: a device
        told of a new session resends at once, and must find them in place. Nothing while
        disconnected: paho would queue without bound, and the next connection republishes
        every device's latest anyway."""
        if not (self.stats.connected and self.stats.subscribed):
            return
        if self._acks_lost.is_set():
            self._acks_lost.clear()
            self._acks.resend_all()
        now = datetime.now(UTC)
        sent = 0
        for due in self._acks.due(time.monotonic()):
            payload = AckPayload(v=PROTOCOL_VERSION, type="ack", device=due.device,
                                 seq=due.upto, ts=now, inc=due.inc, upto=due.upto,
                                 session=self.ack_session)
            self.client.publish(str(Topic(due.school, due.device, Channel.ACK)),
                                to_json(payload), qos=1, retain=True)
            sent += 1
        if sent:
            self.stats.add(acks_published=sent)

    @property
    def backlog(self) -> int:
        """Messages received and not yet handed to the writer (approximate)."""
        return self._queue.qsize()

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._writer.start()
        if self.client.protocol == MQTTProtocolVersion.MQTTv5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            props.ReceiveMaximum = RECEIVE_MAXIMUM
            self.client.connect_async(self.address.host, self.address.port, keepalive=30,
                                      clean_start=False, properties=props)
        else:
            self.client.connect_async(self.address.host, self.address.port, keepalive=30)
        self.client.loop_start()

    def stop(self, timeout: float = 10.0) -> None:
        """Flush what was received, then disconnect. Unflushed messages stay unacked at
        the broker and come back on the next start."""
        self._stop.set()
        self.client.disconnect()
        self.client.loop_stop()
        self.stats.connected = False
        self._writer.join(timeout)
        if self._conn is not None:
            self._conn.close()
