"""The classroom agent's collectors against real sockets: a PJLink simulator, TCP
listeners and closed ports; the published telemetry as the hub would decode it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime

import pytest

from edge.agent import build_agent
from edge.classroom import ClassroomAgent
from edge.clock import DISTRICT_TZ, ManualClock
from edge.collectors.reachability import ReachabilityCollector, probe, tcp_probe
from edge.config import AgentConfig, ClassroomConfig, MqttConfig, OutboxConfig
from protocol import Accepted, TelemetryPayload, Topic, decode
from protocol.topics import Channel
from smartschool.demo.pjlink_simulator import ProjectorServerThread, ProjectorState
from tests.conftest import free_port
from tests.integration.test_edge_link import Subscriber, wait_until

pytestmark = pytest.mark.integration

SCHOOL = "th-test"
ROOM = "th-test-r102"
T0 = datetime(2025, 9, 8, 7, 0, tzinfo=DISTRICT_TZ)


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


# -- reachability ---------------------------------------------------------------------------


def test_tcp_listener_is_reachable_closed_port_is_not(listener):
    up = tcp_probe("127.0.0.1", listener)
    assert up.reachable and up.rtt_ms is not None and up.method == "tcp"
    down = tcp_probe("127.0.0.1", free_port())
    assert not down.reachable and down.rtt_ms is None
    assert probe("127.0.0.1", port=listener, method="tcp").reachable


def test_auto_probe_answers_either_way(listener):
    # ICMP where this process may (root or ping_group_range), else the TCP port
    result = probe("127.0.0.1", port=listener, method="auto")
    assert result.reachable


def test_unresolvable_host_is_unreachable_not_an_error():
    collector = ReachabilityCollector("PC-9", "no-such-host.invalid", port=445, timeout=1)
    assert collector.collect(T0)["net.reachable"] is False


# -- the agent ------------------------------------------------------------------------------


class Exploding:
    name = "broken"
    asset = "XX-1"
    interval_s = 60

    def collect(self, now):
        raise RuntimeError("driver fell over")


def room_config(tmp_path, assets, url="mqtt://127.0.0.1:1") -> AgentConfig:
    return AgentConfig(
        device=ROOM, school=SCHOOL, role="classroom",
        mqtt=MqttConfig(url=url),
        outbox=OutboxConfig(path=tmp_path / f"{ROOM}.sqlite3", synchronous="normal"),
        heartbeat_s=60,
        classroom=ClassroomConfig.model_validate({"telemetry_interval_s": 60,
                                                  "assets": assets}),
    )


def published(agent: ClassroomAgent) -> list[TelemetryPayload]:
    topic = str(Topic(SCHOOL, ROOM, Channel.TELEMETRY))
    out = []
    for item in agent.outbox.pending(1000):
        result = decode(topic, item.payload)
        assert isinstance(result, Accepted), result  # valid on the wire, as the hub sees it
        out.append(result.payload)
    return out


@pytest.fixture
def pjlink_room(tmp_path, listener, monkeypatch):
    monkeypatch.setenv("TEST_PJLINK_PW", "classroom")
    state = ProjectorState(power="on", lamp_hours=2000, password="classroom")
    with ProjectorServerThread(state) as sim:
        assets = [
            {"tag": "PJ-101", "kind": "projector", "source": "pjlink",
             "pjlink": {"host": "127.0.0.1", "port": sim.port, "password_env": "TEST_PJLINK_PW"}},
            {"tag": "PJ-102", "kind": "projector", "source": "pjlink",
             "pjlink": {"host": "127.0.0.1", "port": free_port(), "timeout_s": 1}},
            {"tag": "PC-101", "kind": "pc", "source": "reachability",
             "reachability": {"host": "127.0.0.1", "port": listener, "method": "tcp"}},
            {"tag": "TV-101", "kind": "tv", "source": "reachability",
             "reachability": {"host": "127.0.0.1", "port": free_port(), "method": "tcp"}},
            {"tag": "ENV-101", "kind": "sensor", "interval_s": 300},
        ]
        yield room_config(tmp_path, assets), sim


def test_every_collector_publishes_and_a_broken_one_does_not_stop_them(pjlink_room):
    config, sim = pjlink_room
    clock = ManualClock(T0)
    agent = build_agent(config, clock=clock, password="")
    assert isinstance(agent, ClassroomAgent)
    agent.scheduler.collectors.append(Exploding())  # type: ignore[arg-type]
    agent.scheduler._due.append(T0)
    try:
        sim.state.set_fault("filter", 1)
        agent.tick(clock.advance(299))  # everything is due once by now
        by_asset = {t.asset: t.metrics for t in published(agent)}
        assert set(by_asset) == {None, "PJ-101", "PJ-102", "PC-101", "TV-101", "ENV-101",
                                 "XX-1"}
        pj = by_asset["PJ-101"]
        assert pj["projector.reachable"] is True and pj["projector.power"] == "on"
        assert pj["projector.lamp_hours"] == 2000 and pj["projector.error"] == "filter"
        assert pj["projector.error.filter"] == 1 and pj["collector.projector.ok"] is True
        assert by_asset["PJ-102"] == {"projector.reachable": False,
                                      "collector.projector.ok": True}
        assert by_asset["PC-101"]["net.reachable"] is True
        assert by_asset["TV-101"]["net.reachable"] is False
        assert {"env.temp_c", "env.humidity_pct"} <= set(by_asset["ENV-101"])
        assert by_asset["XX-1"] == {"collector.broken.ok": False,
                                    "collector.broken.error": "RuntimeError: driver fell over"}
        device = by_asset[None]
        assert {"cpu.load1", "mem.used_pct", "disk.used_pct", "uptime_s"} <= set(device)

        before = len(published(agent))
        agent.tick(clock.advance(60))  # a minute on: projectors, PCs, TVs, not the sensor
        new = [t.asset for t in published(agent)[before:]]
        assert sorted(map(str, new)) == sorted(
            ["None", "PJ-101", "PJ-102", "PC-101", "TV-101", "XX-1"])
    finally:
        agent.stop()


def test_wrong_projector_password_is_a_collector_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_PJLINK_PW", "wrong")
    with ProjectorServerThread(ProjectorState(password="right")) as sim:
        config = room_config(tmp_path, [
            {"tag": "PJ-101", "source": "pjlink",
             "pjlink": {"host": "127.0.0.1", "port": sim.port, "password_env": "TEST_PJLINK_PW"}},
        ])
        agent = build_agent(config, clock=ManualClock(T0), password="")
        assert isinstance(agent, ClassroomAgent)
        try:
            agent.emit_readings(T0)
            (pj,) = [t.metrics for t in published(agent) if t.asset == "PJ-101"]
            assert pj["collector.projector.ok"] is False
            assert "ERRA" in str(pj["collector.projector.error"])
        finally:
            agent.stop()


def test_a_failing_host_reading_still_sends_the_heartbeat(tmp_path):
    def broken_host():
        raise OSError("no /proc here")

    config = room_config(tmp_path, [])
    clock = ManualClock(T0)
    agent = build_agent(config, clock=clock, password="", host_metrics=broken_host)
    try:
        agent.tick(clock.advance(120))
        (beat,) = [t.metrics for t in published(agent) if t.asset is None]
        assert beat["collector.host.ok"] is False and "outbox.pending" in beat
    finally:
        agent.stop()


def test_pjlink_projector_through_the_broker(broker, tmp_path):
    """The whole way: PJLink simulator -> agent -> Mosquitto -> a hub-like subscriber."""
    clock = ManualClock(T0)
    state = ProjectorState(power="on", lamp_hours=10, clock=clock.now)
    subscriber = Subscriber(broker, name="test-sub-classroom")
    try:
        with ProjectorServerThread(state) as sim:
            config = room_config(tmp_path, [
                {"tag": "PJ-101", "source": "pjlink",
                 "pjlink": {"host": "127.0.0.1", "port": sim.port}},
            ], url=broker.url)
            agent = build_agent(config, clock=clock, password="")
            agent.start()
            try:
                assert agent.link.wait_connected(10)
                for _ in range(6):  # an hour, a tick every ten minutes
                    agent.tick(clock.advance(600))
                assert agent.link.wait_drained(10)
                readings = wait_until(
                    lambda: len(t := [p for p in subscriber.of(TelemetryPayload, ROOM)
                                      if p.asset == "PJ-101"]) >= 6 and t,
                    what="projector telemetry")
                assert readings[-1].metrics["projector.lamp_hours"] == 11
                assert readings[-1].metrics["projector.input"] == "digital-1"
            finally:
                agent.stop()
    finally:
        subscriber.close()
    assert not subscriber.rejected
