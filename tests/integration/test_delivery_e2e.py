"""Nothing lost past the broker (issue #11): end-to-end acknowledgements and outbox identity.

Real parts: Mosquitto with persistence on and its own data dir, the hub's ingest on
PostgreSQL, real GateAgents (simulated card readers, owner loops on their own threads).

- The broker is killed with SIGKILL while two gates tap and the hub ingests, and started
  again on the same port and persistence dir: every tap is stored exactly once. The kill
  is shown to have hit messages in flight: the gates held messages the broker had
  acknowledged and the hub had not confirmed, and they resent them.
- A gate's outbox file is deleted (a replaced SD card) and the gate starts again at seq 0:
  its new events are all stored, beside the old ones, and its state follows the new birth.
- A v1 device that sends no ``inc`` keeps working, and a hub's acknowledgement names the
  legacy incarnation for it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core.settings import Settings
from edge.agent import build_agent
from edge.cards.readers import SimulatedCardReader
from edge.config import AgentConfig, GateConfig, MqttConfig, OutboxConfig
from edge.gate.agent import GateAgent, GateOutcome
from edge.gate.policy import CardEntry
from edge.hardware.relay import NoopRelay
from hub.devices.registry import add_device, upsert_school
from hub.service import Hub
from protocol import Accepted, AckPayload, decode
from tests.conftest import Broker, free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

SCHOOL = "th-durable"
GATES = ("th-durable-gate-1", "th-durable-gate-2")
LEGACY = "th-durable-gate-9"
PUPILS = 2000  # a card comes back long after the reader's debounce (edge.gate.agent)
VN = timezone(timedelta(hours=7))


def uid(n: int) -> str:
    return f"{0x04B10000 + n:08X}"


def seed(url: str) -> None:
    with psycopg.connect(url) as conn:
        upsert_school(conn, code=SCHOOL, name="Trường Thử Bền", level="tieu_hoc",
                      ward="Hải Thành", start_time="07:00")
        for gate in (*GATES, LEGACY):
            add_device(conn, school=SCHOOL, device=gate, role="gate")


@pytest.fixture
def durable_broker() -> Iterator[Broker]:
    """Persistence on, in a dir the broker can write even when it drops root privileges
    (see tests/integration/test_edge_link.py's fixture of the same name)."""
    workdir = Path(tempfile.mkdtemp(prefix="ss-delivery-broker-"))
    workdir.chmod(0o777)
    b = Broker(workdir)
    b.start()
    try:
        yield b
    finally:
        b.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def hub(pg_url: str, durable_broker: Broker, tmp_path: Path) -> Iterator[Hub]:
    seed(pg_url)
    service = Hub(Settings(api_port=free_port(), data_dir=tmp_path,
                           hub_client_id=f"hub-{uuid.uuid4().hex[:6]}"),
                  database_url=pg_url, mqtt_url=durable_broker.url, api=False)
    service.start()
    assert service.ingest is not None
    wait_until(lambda: service.ingest and service.ingest.stats.subscribed, 15, "hub subscribed")
    yield service
    service.stop()


class Gate:
    """A real gate agent driven like edge.agent.run drives it, with its decisions kept."""

    def __init__(self, device: str, broker: Broker, outbox: Path) -> None:
        self.reader = SimulatedCardReader()
        self.outcomes: list[GateOutcome] = []
        config = AgentConfig(
            device=device, school=SCHOOL, role="gate",
            mqtt=MqttConfig(url=broker.url, keepalive_s=5),
            outbox=OutboxConfig(path=outbox, synchronous="normal"),
            heartbeat_s=3600,
            gate=GateConfig(anti_passback_minutes=0),
        )
        cards = {uid(n): CardEntry(f"{SCHOOL}-{n:05d}") for n in range(PUPILS)}
        agent = build_agent(config, cards=cards, relay=NoopRelay(), card_reader=self.reader,
                            password="", on_decision=self.outcomes.append)
        assert isinstance(agent, GateAgent)
        self.agent = agent
        self.device = device
        self.tapped = 0
        self._stop = threading.Event()
        self._owner = threading.Thread(target=self._loop, name=f"owner-{device}", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.agent.poll(0.01)
            self.agent.tick()

    def start(self) -> None:
        self.agent.start()
        self._owner.start()
        assert self.agent.link.wait_connected(10)

    def tap(self) -> None:
        # cards in turn: each comes back PUPILS taps later, past the reader's debounce
        self.reader.tap(uid(self.tapped % PUPILS))
        self.tapped += 1

    def decided(self) -> bool:
        return len(self.outcomes) == self.tapped

    def unconfirmed(self) -> int:
        """Rows the broker acknowledged and the hub has not confirmed stored."""
        return len(self.agent.outbox) - self.agent.outbox.unsent()

    def state(self) -> dict[str, Any]:
        """What a failure needs to be understood: where the rows are stuck."""
        link: Any = self.agent.link
        with link._map_lock:
            unacked = dict(link._unacked)
        paho = link.client._out_messages
        return {"device": self.device, "rows": len(self.agent.outbox),
                "unsent": self.agent.outbox.unsent(), "unacked": len(unacked),
                "unacked_seqs": sorted(s for s in unacked.values() if s is not None)[:10],
                "hold_from": link._hold_from, "handed_upto": link._handed_upto,
                "connected": link.connected, "paho_out": len(paho),
                "paho_states": sorted({m.state for m in paho.values()}),
                "pending": [i.seq for i in self.agent.outbox.pending(10)]}

    def halt(self) -> None:
        self._stop.set()
        self._owner.join(5)


def stored_seqs(url: str, device: str) -> list[tuple[str, int]]:
    with psycopg.connect(url) as conn:
        return [(str(inc), int(seq)) for inc, seq in conn.execute(
            "select inc, seq from gate_events where device_id = %s order by inc, seq",
            (device,))]


def tap_for(gates: list[Gate], seconds: float, rate_hz: float = 40.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for gate in gates:
            gate.tap()
        time.sleep(1.0 / rate_hz)


def test_broker_killed_mid_stream_loses_no_tap(hub: Hub, durable_broker: Broker,
                                               pg_url: str, tmp_path: Path) -> None:
    gates = [Gate(device, durable_broker, tmp_path / f"{device}.sqlite3") for device in GATES]
    try:
        for gate in gates:
            gate.start()
        tap_for(gates, 2.0)
        # each gate has heard the hub confirm storage: from now on only that deletes rows
        wait_until(lambda: all(g.agent.outbox.acknowledged for g in gates), 15,
                   "both gates acknowledged by the hub")
        # keep tapping until the broker holds, for each gate, messages it acknowledged
        # that the hub has not confirmed: the kill must catch messages in flight
        deadline = time.monotonic() + 20
        while not all(g.unconfirmed() > 0 for g in gates):
            assert time.monotonic() < deadline, "never caught unconfirmed messages in flight"
            tap_for(gates, 0.05)
        assert durable_broker.proc is not None
        os.kill(durable_broker.proc.pid, signal.SIGKILL)
        at_kill = [g.unconfirmed() for g in gates]
        assert durable_broker.proc.wait(10) == -signal.SIGKILL
        durable_broker.proc = None
        assert all(n > 0 for n in at_kill), at_kill
        tap_for(gates, 1.0)  # taps while the broker is down stay in the outboxes
        durable_broker.start()  # same port, same config, same persistence dir
        tap_for(gates, 2.0)
        for gate in gates:
            wait_until(gate.decided, 20, f"{gate.device} decides every tap")
        for gate in gates:
            assert gate.agent.link.wait_connected(30)
            # the outbox empties only when the hub confirmed every row stored
            assert gate.agent.link.wait_stored(90), gate.state()
        assert hub.ingest is not None
        assert hub.ingest.stats.connections >= 2, "the hub never saw the broker die"
        for gate in gates:
            assert gate.agent.link.resent > 0, f"{gate.device} resent nothing"
            inc = gate.agent.outbox.incarnation
            decided = sorted(o.seq for o in gate.outcomes)
            assert len(set(decided)) == gate.tapped > 100
            stored = stored_seqs(pg_url, gate.device)
            # every tap the gate decided, each stored once under its incarnation
            assert stored == [(inc, seq) for seq in decided], gate.device
    finally:
        for gate in gates:
            gate.halt()
            gate.agent.stop()


def test_outbox_recreated_mid_life_starts_a_new_sequence_that_is_stored(
        hub: Hub, durable_broker: Broker, pg_url: str, tmp_path: Path) -> None:
    device = GATES[0]
    path = tmp_path / "sd-card" / "outbox.sqlite3"
    first = Gate(device, durable_broker, path)
    second: Gate | None = None
    try:
        first.start()
        tap_for([first], 1.0)
        wait_until(first.decided, 20, "the first card decides every tap")
        assert first.agent.link.wait_stored(30)
        first.halt()
        first.agent.link.power_cut()  # the card dies with the gate running
        old_inc = first.agent.outbox.incarnation
        old = sorted(o.seq for o in first.outcomes)
        first.agent.outbox.close()
        for stale in path.parent.iterdir():  # the SD card is replaced: a blank outbox
            stale.unlink()

        second = Gate(device, durable_broker, path)
        new_inc = second.agent.outbox.incarnation
        assert new_inc is not None and old_inc is not None and new_inc != old_inc
        second.start()
        tap_for([second], 1.0)
        wait_until(second.decided, 20, "the new card decides every tap")
        new = sorted(o.seq for o in second.outcomes)
        assert new[0] < len(old), "the new outbox must reuse seqs the old one used"
        assert second.agent.link.wait_stored(30), len(second.agent.outbox)
        stored = stored_seqs(pg_url, device)
        assert sorted(stored) == sorted([(old_inc, s) for s in old] + [(new_inc, s) for s in new])
        with psycopg.connect(pg_url) as conn:
            row = conn.execute("select state from devices where id = %s", (device,)).fetchone()
            births = conn.execute(
                "select count(*) from device_status where device_id = %s and inc = %s"
                " and state = 'online'", (device, new_inc)).fetchone()
        # the new card's birth (seq 0 again) is stored, not dropped as an old duplicate
        assert births is not None and births[0] >= 1
        assert row is not None and row[0] == "online"
    finally:
        first.halt()
        if second is not None:
            second.halt()
            second.agent.stop()


def legacy_event(seq: int) -> bytes:
    body = {"v": 1, "type": "gate", "device": LEGACY, "seq": seq,
            "ts": datetime(2025, 9, 8, 6, 50, tzinfo=VN).isoformat(), "direction": "in",
            "method": "card", "card_uid": uid(1), "person": None, "distance": None,
            "decision": "granted", "reason": None}
    return json.dumps(body).encode()


def test_v1_device_without_inc_is_stored_and_acknowledged_as_legacy(
        hub: Hub, durable_broker: Broker, pg_url: str) -> None:
    acks: list[Any] = []
    got = threading.Event()

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        result = decode(msg.topic, bytes(msg.payload))
        if isinstance(result, Accepted) and isinstance(result.payload, AckPayload):
            acks.append((result.payload, msg.retain))
            if result.payload.upto == 4:
                got.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"old-{uuid.uuid4().hex[:6]}")
    client.on_message = on_message
    client.connect("127.0.0.1", durable_broker.port)
    client.loop_start()
    try:
        topic = f"ss/v1/{SCHOOL}/{LEGACY}"
        client.subscribe(f"{topic}/ack", qos=1)
        for seq in (*range(5), 2, 3):  # a replay of 2 and 3: stored once
            client.publish(f"{topic}/event", legacy_event(seq), qos=1).wait_for_publish(5)
        assert got.wait(15), acks
        assert stored_seqs(pg_url, LEGACY) == [("", seq) for seq in range(5)]
        ack = acks[-1][0]
        assert ack.inc is None and ack.device == LEGACY and ack.upto == 4
    finally:
        client.disconnect()
        client.loop_stop()
    # retained: a device connecting later hears how far it is stored at once
    late: list[bytes] = []
    heard = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"late-{uuid.uuid4().hex[:6]}")
    sub.on_message = lambda _c, _u, m: (late.append(bytes(m.payload)), heard.set())
    sub.on_connect = lambda c, *_a: c.subscribe(f"ss/v1/{SCHOOL}/{LEGACY}/ack", qos=1)
    sub.connect("127.0.0.1", durable_broker.port)
    sub.loop_start()
    try:
        assert heard.wait(10)
        assert AckPayload.model_validate_json(late[0]).upto == 4
    finally:
        sub.disconnect()
        sub.loop_stop()


def test_without_a_hub_that_acknowledges_rows_go_on_puback_as_in_v1(
        durable_broker: Broker, tmp_path: Path) -> None:
    """An old hub never publishes ``ack``: the gate never switches to waiting for one,
    and its outbox empties on PUBACK as before the extension."""
    seen: list[bytes] = []
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"old-hub-{uuid.uuid4().hex[:6]}")
    sub.on_message = lambda _c, _u, m: seen.append(bytes(m.payload))
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.connect("127.0.0.1", durable_broker.port)
    sub.loop_start()
    gate = Gate(GATES[0], durable_broker, tmp_path / "gate.sqlite3")
    try:
        sub.subscribe(f"ss/v1/{SCHOOL}/+/event", qos=1)
        assert subscribed.wait(10)
        gate.start()
        tap_for([gate], 0.5)
        wait_until(gate.decided, 20, "the gate decides every tap")
        assert gate.agent.link.wait_stored(20), gate.state()
        assert not gate.agent.outbox.acknowledged and gate.agent.link.acks == 0
        wait_until(lambda: len(seen) == gate.tapped, 20, "every tap at the old hub")
        assert sorted(json.loads(p)["seq"] for p in seen) == sorted(o.seq for o in gate.outcomes)
    finally:
        gate.halt()
        gate.agent.stop()
        sub.disconnect()
        sub.loop_stop()


def test_unconfirmed_rows_are_resent_after_the_timeout_and_go_when_the_hub_confirms(
        durable_broker: Broker, tmp_path: Path) -> None:
    """A stand-in hub that acknowledges when the test says so: the gate keeps what the
    broker took until an ``ack`` of its own incarnation covers it, and resends it after
    the timeout (here 1 s; 60 s by default) when no word comes."""
    events: list[int] = []
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"fake-hub-{uuid.uuid4().hex[:6]}")
    sub.on_message = lambda _c, _u, m: events.append(json.loads(m.payload)["seq"])
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.connect("127.0.0.1", durable_broker.port)
    sub.loop_start()
    gate = Gate(GATES[0], durable_broker, tmp_path / "gate.sqlite3")
    link: Any = gate.agent.link
    link._resend_base_s = link._resend_s = 1.0
    inc = gate.agent.outbox.incarnation
    topic = f"ss/v1/{SCHOOL}/{GATES[0]}/ack"

    def ack(upto: int, *, of: str | None = inc) -> None:
        payload = AckPayload(v=1, type="ack", device=GATES[0], seq=upto,
                             ts=datetime.now(VN), inc=of, upto=upto, session="5e55" * 4)
        sub.publish(topic, payload.model_dump_json(), qos=1, retain=True).wait_for_publish(5)

    try:
        sub.subscribe(f"ss/v1/{SCHOOL}/+/event", qos=1)
        assert subscribed.wait(10)
        ack(0, of="f" * 16)  # the hub acknowledges (another outbox's rows): ack mode
        gate.start()
        wait_until(lambda: gate.agent.outbox.acknowledged, 10, "the gate heard the hub")
        for _ in range(5):
            gate.tap()
        wait_until(gate.decided, 10, "five taps decided")
        seqs = sorted(o.seq for o in gate.outcomes)
        wait_until(lambda: sorted(events) == seqs, 10, "five events at the broker")
        assert gate.agent.link.wait_drained(10)
        # the broker has them all; the hub has confirmed none: all five are kept
        assert len(gate.agent.outbox) == 5 and gate.agent.outbox.unsent() == 0
        time.sleep(1.2)  # past the resend timeout (a wait for time itself, not an event)
        gate.tap()  # any activity (a tap, a heartbeat) lets the link look at the clock
        wait_until(lambda: sorted(events).count(seqs[0]) == 2, 10, "the first five resent")
        assert link.resent >= 5
        assert gate.agent.link.wait_drained(10)  # the broker took the resent copies
        ack(seqs[2])  # the hub stored the first three
        wait_until(lambda: len(gate.agent.outbox) == 3, 10, "three rows confirmed and gone")
        assert [i.seq for i in gate.agent.outbox.pending(10)] == []
        ack(max(o.seq for o in gate.outcomes))
        assert gate.agent.link.wait_stored(10), gate.state()
    finally:
        gate.halt()
        gate.agent.stop()
        sub.disconnect()
        sub.loop_stop()
