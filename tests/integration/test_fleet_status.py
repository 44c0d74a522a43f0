"""The fleet view's figures end to end (issue #13): a real gate agent's ``status`` on the
real broker, through the real hub's ingest, onto the device row the fleet view reads;
its Last Will keeps them; a status without them (an older device) leaves them alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.agent import build_agent, config_fingerprint
from edge.config import AgentConfig, GateConfig, MqttConfig, OutboxConfig
from edge.hardware.relay import NoopRelay
from edge.timesync import kernel_clock_synced
from hub.devices.registry import add_device, upsert_school
from hub.service import Hub
from protocol.messages import PROTOCOL_VERSION, StatusPayload, to_json
from protocol.topics import Channel, Topic
from tests.conftest import Broker, running_hub, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SCHOOL, GATE, OLD = "th-fleet", "th-fleet-gate-1", "th-fleet-old-1"


@pytest.fixture
def hub(pg_url: str, broker: Broker, tmp_path: Path) -> Iterator[Hub]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        upsert_school(conn, code=SCHOOL, name="Trường Tiểu học Đội Máy", level="tieu_hoc",
                      ward="Hải Thành")
        add_device(conn, school=SCHOOL, device=GATE, role="gate")
        add_device(conn, school=SCHOOL, device=OLD, role="gate")
    with running_hub(pg_url, broker, tmp_path) as service:
        yield service


def row(url: str, device: str) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "select state, fw, config_version, outbox_backlog, clock_synced, reported_at"
            " from devices where id = %s", (device,)).fetchone()
    assert found is not None
    return tuple(found)


def test_a_gates_status_reaches_its_device_row(hub: Hub, pg_url: str, broker: Broker,
                                               tmp_path: Path) -> None:
    config = AgentConfig(
        device=GATE, school=SCHOOL, role="gate", heartbeat_s=3600,
        mqtt=MqttConfig(url=broker.url, keepalive_s=5),
        outbox=OutboxConfig(path=tmp_path / "gate.sqlite3", synchronous="normal"),
        gate=GateConfig(),
    )
    agent = build_agent(config, relay=NoopRelay(), cards={}, password="")
    agent.start()
    try:
        assert agent.link.wait_connected(10)
        state, fw, version, backlog, synced, reported = wait_until(
            lambda: (r := row(pg_url, GATE))[5] is not None and r, 15, "status stored")
        assert state == "online"
        assert fw
        assert version == config_fingerprint(config)
        assert len(version) == 12
        assert isinstance(backlog, int) and backlog >= 0
        assert synced is kernel_clock_synced()
        assert abs((datetime.now(UTC) - reported).total_seconds()) < 30
        # The Last Will carries no figures: the row keeps the last ones reported.
        agent.link.power_cut()
        wait_until(lambda: row(pg_url, GATE)[0] == "offline", 30, "will applied")
        assert row(pg_url, GATE)[2:5] == (version, backlog, synced)
    finally:
        agent.outbox.close()


def test_an_older_devices_status_without_the_figures_is_stored_as_before(
        hub: Hub, pg_url: str, broker: Broker) -> None:
    now = datetime.now(UTC)
    old = StatusPayload(v=PROTOCOL_VERSION, type="status", device=OLD, seq=1, ts=now,
                        state="online", fw="0.9.0", role="gate", boot=now)
    # As a v1 device sends it: none of the new keys on the wire at all.
    body = to_json(old).decode()
    for key in ("config_version", "backlog"):
        body = body.replace(f',"{key}":null', "")
    assert "backlog" not in body
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fleet-old")
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    try:
        c.publish(str(Topic(SCHOOL, OLD, Channel.STATUS)), body.encode(), qos=1,
                  retain=True).wait_for_publish(5)
    finally:
        c.disconnect()
        c.loop_stop()
    wait_until(lambda: row(pg_url, OLD)[0] == "online", 15, "old status stored")
    assert row(pg_url, OLD)[1:] == ("0.9.0", None, None, None, None)
