"""Edge agents against the real Mosquitto: events, birth and will, outages, commands."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.agent import build_agent, stop_agents
from edge.classroom import ClassroomAgent
from edge.clock import DISTRICT_TZ, ManualClock
from edge.config import AgentConfig, ClassroomConfig, GateConfig, MqttConfig, OutboxConfig
from edge.config.classroom import AssetConfig
from edge.gate.agent import GateAgent
from edge.gate.policy import CardEntry
from edge.hardware.relay import NoopRelay
from protocol import (
    Accepted,
    CmdPayload,
    GatePayload,
    ReplyPayload,
    StatusPayload,
    TelemetryPayload,
    Topic,
    decode,
)
from protocol.messages import to_json
from protocol.topics import Channel
from smartschool.demo.netloop import NetLoop
from tests.conftest import Broker, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

ROOT = Path(__file__).resolve().parents[2]
SCHOOL = "th-test"
GATE = "th-test-gate-1"
ROOM = "th-test-r101"
CARDS = {
    "04A1B2C3": CardEntry("th-test-00001", "active"),
    "04A1B2C4": CardEntry("th-test-00002", "blocked"),
    "04A1B2C5": CardEntry("th-test-00003", "active"),
}
T0 = datetime(2025, 9, 8, 6, 45, tzinfo=DISTRICT_TZ)




class Subscriber:
    """A plain paho client, as the hub would be: persistent session, QoS 1, decodes all."""

    def __init__(self, broker: Broker, name: str = "test-sub") -> None:
        self.messages: list[tuple[str, Any, bool]] = []
        self.rejected: list[Any] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name,
                                  protocol=MQTTProtocolVersion.MQTTv311, clean_session=False)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 1)
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        wait_until(self.client.is_connected, what="subscriber connected")

    def _on_connect(self, client, _u, _f, _rc, _p) -> None:
        client.subscribe("ss/v1/#", qos=1)

    def _on_message(self, _c, _u, msg: mqtt.MQTTMessage) -> None:
        result = decode(msg.topic, bytes(msg.payload))
        with self._lock:
            if isinstance(result, Accepted):
                self.messages.append((msg.topic, result.payload, bool(msg.retain)))
            else:
                self.rejected.append(result)

    def of(self, kind: type[Any], device: str | None = None) -> list[Any]:
        with self._lock:
            found: list[Any] = [p for _, p, _ in self.messages if isinstance(p, kind)]
        return [p for p in found if device is None or p.device == device]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def subscriber(broker: Broker) -> Iterator[Subscriber]:
    sub = Subscriber(broker)
    yield sub
    sub.close()
    assert not sub.rejected, sub.rejected


@pytest.fixture
def durable_broker() -> Iterator[Broker]:
    """A broker whose sessions survive its restart, as the production one's do.

    Started as root, Mosquitto drops to the ``mosquitto`` user and cannot write its
    session file under pytest's 0700 tmp dirs; the ``broker`` fixture then forgets
    the subscriber's session on restart, and the agent, reconnecting first, would
    publish into the void. A world-writable dir of its own avoids that.
    """
    workdir = Path(tempfile.mkdtemp(prefix="ss-edge-broker-"))
    workdir.chmod(0o777)
    b = Broker(workdir)
    b.start()
    try:
        yield b
    finally:
        b.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def durable_subscriber(durable_broker: Broker) -> Iterator[Subscriber]:
    sub = Subscriber(durable_broker)
    yield sub
    sub.close()
    assert not sub.rejected, sub.rejected


def gate_config(broker: Broker, tmp_path: Path, **gate: Any) -> AgentConfig:
    return AgentConfig(
        device=GATE, school=SCHOOL, role="gate",
        mqtt=MqttConfig(url=broker.url, keepalive_s=5),
        outbox=OutboxConfig(path=tmp_path / f"{GATE}.sqlite3"),
        heartbeat_s=3600,
        gate=GateConfig(**gate),
    )


def make_gate(broker: Broker, tmp_path: Path, **gate: Any) -> GateAgent:
    agent = build_agent(gate_config(broker, tmp_path, **gate), cards=CARDS, relay=NoopRelay(),
                        password="")
    assert isinstance(agent, GateAgent)
    return agent


def test_gate_events_reach_a_plain_subscriber(broker, tmp_path, subscriber):
    agent = make_gate(broker, tmp_path)
    agent.start()
    try:
        assert agent.link.wait_connected(10)
        granted = agent.handle_tap("04:a1:b2:c3")
        blocked = agent.handle_tap("04A1B2C4")
        unknown = agent.handle_tap("DEADBEEF")
        again = agent.handle_tap("04A1B2C5", direction="out")
        assert granted and blocked and unknown and again
        assert agent.handle_tap("04A1B2C3") is None  # the card still on the reader
        events = wait_until(lambda: len(ev := subscriber.of(GatePayload)) == 4 and ev,
                            what="4 gate events")
        assert [e.seq for e in events] == [granted.seq, blocked.seq, unknown.seq, again.seq]
        assert [(e.card_uid, e.person, e.decision, e.reason, e.direction) for e in events] == [
            ("04A1B2C3", "th-test-00001", "granted", None, "in"),
            ("04A1B2C4", "th-test-00002", "denied", "card-blocked", "in"),
            ("DEADBEEF", None, "unknown", "unknown-card", "in"),
            ("04A1B2C5", "th-test-00003", "granted", None, "out"),
        ]
        assert all(e.method == "card" and e.ts.utcoffset().total_seconds() == 7 * 3600
                   for e in events)
        assert isinstance(agent.relay, NoopRelay) and agent.relay.pulses == 2
        assert agent.link.wait_drained(10)
        assert len(agent.outbox) == 0
    finally:
        agent.stop()


def test_birth_is_retained_and_a_clean_stop_says_offline(broker, tmp_path):
    agent = make_gate(broker, tmp_path)
    agent.start()
    assert agent.link.wait_connected(10)
    # A witness sees the birth first: from then on it is on the broker, and a subscriber
    # that comes later can only get it as the retained copy.
    witness = Subscriber(broker, "witness-sub")
    try:
        wait_until(lambda: witness.of(StatusPayload, GATE), what="the birth on the broker")
    finally:
        witness.close()
    late = Subscriber(broker, "late-sub")
    try:
        status = wait_until(lambda: late.of(StatusPayload, GATE), what="retained birth")
        topic, payload, retained = late.messages[0]
        assert topic == str(Topic(SCHOOL, GATE, Channel.STATUS))
        assert retained, "the late subscriber got the birth live, not retained"
        assert (payload.state, payload.role, payload.ip) == ("online", "gate", "127.0.0.1")
        birth = status[0]
        agent.stop()
        offline = wait_until(
            lambda: [s for s in late.of(StatusPayload, GATE) if s.state == "offline"],
            what="offline status")
        assert offline[0].seq > birth.seq
    finally:
        late.close()
    # what a dashboard connecting now sees: offline, retained
    fresh = Subscriber(broker, "fresh-sub")
    try:
        retained_now = wait_until(lambda: fresh.of(StatusPayload, GATE), what="retained")
        assert retained_now[-1].state == "offline"
    finally:
        fresh.close()


def write_yaml(broker: Broker, tmp_path: Path) -> Path:
    cards = tmp_path / "cards.csv"
    cards.write_text("uid,person,status\n04A1B2C3,th-test-00001,active\n")
    path = tmp_path / "gate.yaml"
    path.write_text(
        f"device: {GATE}\nschool: {SCHOOL}\nrole: gate\n"
        f"mqtt: {{url: '{broker.url}', keepalive_s: 5}}\n"
        f"outbox: {{path: outbox.sqlite3}}\n"
        f"gate: {{cards_file: cards.csv}}\n"
    )
    return path


def run_agent_process(config: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from edge.agent import run; run(sys.argv[1])",
         str(config)],
        cwd=ROOT, env=env,
    )


@pytest.mark.parametrize("how", ["kill", "term"])
def test_abrupt_death_fires_the_will_and_sigterm_goes_offline_cleanly(
        broker, tmp_path, subscriber, how):
    proc = run_agent_process(write_yaml(broker, tmp_path))
    try:
        wait_until(lambda: [s for s in subscriber.of(StatusPayload, GATE) if s.state == "online"],
                   timeout=20, what="online status from the agent process")
        os.kill(proc.pid, signal.SIGKILL if how == "kill" else signal.SIGTERM)
        code = proc.wait(15)
        assert code == (-signal.SIGKILL if how == "kill" else 0)
        statuses = wait_until(
            lambda: (s := subscriber.of(StatusPayload, GATE)) and s[-1].state == "offline" and s,
            what="offline status")
        online, offline = statuses[0], statuses[-1]
        assert offline.seq > online.seq  # a status consumer ordering by seq ends offline
        assert offline.boot == online.boot
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_broker_outage_loses_nothing_and_keeps_order(durable_broker, tmp_path,
                                                     durable_subscriber):
    broker, subscriber = durable_broker, durable_subscriber
    agent = make_gate(broker, tmp_path, anti_passback_minutes=0)
    agent.start()
    seqs: list[int] = []
    try:
        assert agent.link.wait_connected(10)

        def tap(n: int) -> None:
            for i in range(n):
                # distinct UIDs: the debounce would swallow repeats of one card
                outcome = agent.handle_tap(f"{0x10000000 + len(seqs) + i:08X}")
                assert outcome is not None
                seqs.append(outcome.seq)

        tap(5)
        wait_until(lambda: len(subscriber.of(GatePayload)) == 5, what="first events")
        broker.stop()
        wait_until(lambda: not agent.link.connected, what="agent sees the outage")
        tap(20)  # the gate keeps working with the broker down
        assert len(agent.outbox) >= 20
        broker.start()
        assert agent.link.wait_connected(40)
        assert agent.link.wait_drained(20)
        events = wait_until(
            lambda: len(ev := subscriber.of(GatePayload)) >= 25 and ev, timeout=20,
            what="all 25 events")
        got = [e.seq for e in events]
        # at least once: a duplicate from a resend is allowed, a gap or reordering is not
        assert sorted(set(got)) == seqs
        first_seen = list(dict.fromkeys(got))
        assert first_seen == seqs
        assert agent.link.connects >= 2
    finally:
        agent.stop()


def test_restart_during_outage_replays_the_outbox(durable_broker, tmp_path,
                                                  durable_subscriber):
    broker, subscriber = durable_broker, durable_subscriber
    first = make_gate(broker, tmp_path, anti_passback_minutes=0)
    first.start()
    assert first.link.wait_connected(10)
    broker.stop()
    wait_until(lambda: not first.link.connected, what="outage seen")
    seqs = [o.seq for o in (first.handle_tap(f"{0x20000000 + i:08X}") for i in range(10)) if o]
    first.stop()  # the Pi reboots while the broker is down
    broker.start()
    second = make_gate(broker, tmp_path, anti_passback_minutes=0)
    assert len(second.outbox) == 10
    second.start()
    try:
        assert second.link.wait_connected(20)
        assert second.link.wait_drained(20)
        events = wait_until(lambda: len(ev := subscriber.of(GatePayload)) >= 10 and ev,
                            what="replayed events")
        assert list(dict.fromkeys(e.seq for e in events)) == seqs
        after = second.handle_tap("30000001")
        assert after is not None and after.seq > max(seqs)  # seq carried across the restart
    finally:
        second.stop()


def send_cmd(broker: Broker, name: str, cmd_id: uuid.UUID | None = None,
             **args: Any) -> uuid.UUID:
    cmd_id = cmd_id or uuid.uuid4()
    payload = CmdPayload(v=1, type="cmd", device=GATE, seq=0, ts=T0, id=cmd_id, name=name,
                         args=args)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hub-{uuid.uuid4().hex[:6]}")
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        client.publish(str(Topic(SCHOOL, GATE, Channel.CMD)), to_json(payload),
                       qos=1).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()
    return cmd_id


def test_commands_ping_open_gate_unknown_and_repeat(broker, tmp_path, subscriber):
    agent = make_gate(broker, tmp_path)
    agent.start()
    try:
        assert agent.link.wait_connected(10)
        wait_until(lambda: subscriber.of(StatusPayload, GATE), what="birth")

        def reply(cmd_id: uuid.UUID, count: int = 1) -> list[Any]:
            found: list[Any] = wait_until(
                lambda: len(r := [p for p in subscriber.of(ReplyPayload) if p.id == cmd_id])
                >= count and r, what=f"reply to {cmd_id}")
            return found

        ping = reply(send_cmd(broker, "ping"))[0]
        assert ping.ok and ping.detail["role"] == "gate"

        open_id = send_cmd(broker, "open-gate")
        opened = reply(open_id)[0]
        assert opened.ok
        manual = wait_until(lambda: [e for e in subscriber.of(GatePayload) if e.method == "manual"],
                            what="manual gate event")
        assert manual[0].decision == "granted" and manual[0].seq == opened.detail["event_seq"]
        assert isinstance(agent.relay, NoopRelay) and agent.relay.pulses == 1

        send_cmd(broker, "open-gate", open_id)  # the hub resending the same command
        again = reply(open_id, 2)
        assert again[1].ok and again[1].detail == opened.detail
        assert agent.relay.pulses == 1  # idempotent by id: the door opened once

        nope = reply(send_cmd(broker, "self-destruct"))[0]
        assert not nope.ok and "unknown command 'self-destruct'" in nope.detail
    finally:
        agent.stop()


def test_classroom_telemetry_and_heartbeat(broker, tmp_path, subscriber):
    config = AgentConfig(
        device=ROOM, school=SCHOOL, role="classroom",
        mqtt=MqttConfig(url=broker.url),
        outbox=OutboxConfig(path=tmp_path / f"{ROOM}.sqlite3", synchronous="normal"),
        heartbeat_s=60,
        classroom=ClassroomConfig(telemetry_interval_s=60,
                                  assets=[AssetConfig(tag="PJ-th-test-101", lamp_hours=1000)]),
    )
    clock = ManualClock(T0)
    agent = build_agent(config, clock=clock, password="")
    assert isinstance(agent, ClassroomAgent)
    agent.start()
    try:
        assert agent.link.wait_connected(10)
        projector = agent.projectors["PJ-th-test-101"]
        projector.set_power(True, clock.now())  # type: ignore[attr-defined]
        for _ in range(12):  # two simulated hours, one tick a simulated 10 minutes
            agent.tick(clock.advance(600))
        assert agent.link.wait_drained(10)
        telemetry = wait_until(
            lambda: len(t := subscriber.of(TelemetryPayload, ROOM)) >= 4 and t,
            what="telemetry")
        device = [t for t in telemetry if t.asset is None]
        assets = [t for t in telemetry if t.asset == "PJ-th-test-101"]
        assert len(device) == 12 and len(assets) == 12  # one per due tick, no bursts
        assert device[-1].metrics["net.reachable"] is True
        assert "cpu.load1" in device[-1].metrics
        assert assets[0].metrics["projector.power"] == "on"
        assert assets[-1].metrics["projector.lamp_hours"] >= 1001
        assert assets[-1].metrics["projector.error"] == "ok"
    finally:
        agent.stop()


def test_many_agents_share_one_network_thread_and_survive_an_outage(
        durable_broker, tmp_path, durable_subscriber):
    broker, subscriber = durable_broker, durable_subscriber
    loop = NetLoop()
    loop.start()
    agents: list[GateAgent] = []
    try:
        for n in range(20):
            config = AgentConfig(
                device=f"th-test-gate-{n}", school=SCHOOL, role="gate",
                mqtt=MqttConfig(url=broker.url, keepalive_s=5),
                outbox=OutboxConfig(synchronous="normal"),
                heartbeat_s=3600, gate=GateConfig(anti_passback_minutes=0),
            )
            agent = build_agent(config, cards=CARDS, data_dir=tmp_path, password="",
                                netloop=loop)
            assert isinstance(agent, GateAgent)
            agents.append(agent)
        threads_before = threading.active_count()
        for agent in agents:
            agent.start()
        assert all(a.link.wait_connected(15) for a in agents)
        assert threading.active_count() == threads_before  # no thread per agent
        expected: dict[str, list[int]] = {a.device: [] for a in agents}

        def tap_all(round_: int) -> None:
            for i, agent in enumerate(agents):
                outcome = agent.handle_tap(f"{0x40000000 + round_ * 100 + i:08X}")
                assert outcome is not None
                expected[agent.device].append(outcome.seq)

        tap_all(0)
        broker.stop()
        wait_until(lambda: not any(a.link.connected for a in agents), what="outage seen")
        tap_all(1)
        broker.start()
        assert all(a.link.wait_connected(40) for a in agents)
        assert all(a.link.wait_drained(20) for a in agents)
        wait_until(lambda: len({(e.device, e.seq) for e in subscriber.of(GatePayload)}) == 40,
                   timeout=20, what="40 events")
        for agent in agents:
            got = [e.seq for e in subscriber.of(GatePayload, agent.device)]
            assert list(dict.fromkeys(got)) == expected[agent.device]
    finally:
        stop_agents(agents)
        loop.stop()


@pytest.mark.parametrize("shared_loop", [False, True])
def test_power_cut_fires_the_will(broker, tmp_path, subscriber, shared_loop):
    loop = NetLoop() if shared_loop else None
    if loop is not None:
        loop.start()
    agent = build_agent(gate_config(broker, tmp_path), cards=CARDS, password="", netloop=loop)
    agent.start()
    try:
        assert agent.link.wait_connected(10)
        wait_until(lambda: subscriber.of(StatusPayload, GATE), what="birth")
        agent.link.power_cut()
        statuses = wait_until(
            lambda: (s := subscriber.of(StatusPayload, GATE)) and s[-1].state == "offline" and s,
            what="the will")
        assert statuses[-1].seq == statuses[0].seq + 1  # the will reserved right after the birth
        time.sleep(1.5)
        assert not agent.link.connected  # and it stays down
        assert agent.handle_tap("04A1B2C3") is not None  # taps still land in the outbox
    finally:
        agent.stop()
        if loop is not None:
            loop.stop()
