"""The systemd watchdog beats come from the loops that do the work: the gate agent's run
loop (a real agent process) and the hub's ingest writer (issue #16). A unit with
Type=notify waits for READY=1, then restarts a process whose WATCHDOG=1 stops."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import core.sdnotify
from core.settings import Settings
from hub.service import Hub
from tests.conftest import Broker, free_port, wait_until
from tests.integration.test_edge_link import run_agent_process, write_yaml
from tests.integration.test_ingest import GATE, SCHOOL, gate_event, seed

pytestmark = pytest.mark.integration


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(20)
        yield sock, path


def test_gate_agent_process_says_ready_then_beats(
    broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    notify_socket: tuple[socket.socket, str],
) -> None:
    sock, path = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)  # the agent process inherits it
    proc = run_agent_process(write_yaml(broker, tmp_path))
    try:
        assert sock.recv(256) == b"READY=1\nWATCHDOG=1"
        assert sock.recv(256) == b"WATCHDOG=1"
        assert sock.recv(256) == b"WATCHDOG=1"
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(15)


def test_ingest_writer_beats_when_idle_and_after_commits(
    pg_url: str, broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    notify_socket: tuple[socket.socket, str],
) -> None:
    sock, path = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    # this process's heartbeat may have beaten in another test: start from a fresh one
    monkeypatch.setattr(core.sdnotify, "_process_heartbeat", core.sdnotify.Heartbeat())
    seed(pg_url)
    settings = Settings(api_port=free_port(), data_dir=tmp_path,
                        hub_client_id=f"hub-{uuid.uuid4().hex[:6]}")
    service = Hub(settings, database_url=pg_url, mqtt_url=broker.url, api=False)
    service.start()
    try:
        assert sock.recv(256) == b"READY=1\nWATCHDOG=1"
        assert sock.recv(256) == b"WATCHDOG=1"  # nothing arrived: the idle writer beats
        ingest = service.ingest
        assert ingest is not None
        wait_until(lambda: ingest.stats.subscribed, what="hub subscribed")
        client = mqtt.Client(CallbackAPIVersion.VERSION2)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        try:
            client.publish(f"ss/v1/{SCHOOL}/{GATE}/event", gate_event(1),
                           qos=1).wait_for_publish(5)
            wait_until(lambda: ingest.stats.batches >= 1, what="a committed batch")
        finally:
            client.disconnect()
            client.loop_stop()
        assert sock.recv(256) == b"WATCHDOG=1"
    finally:
        service.stop()
