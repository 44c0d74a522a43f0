"""Issue #6 "done when", end to end on real parts: a PJLink projector (the asyncio
simulator, with a password) -> the classroom agent built from its config -> Mosquitto
-> the hub (ingest, evaluator, API) -> PostgreSQL -> the API as the school's facility
manager: live state, the lamp alarm at 90 % of the rated life, acknowledge and clear
with comments, and a projector fault raising its own alarm. Every wait is bounded."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from core.settings import Settings
from edge.agent import build_agent
from edge.classroom import ClassroomAgent
from edge.config import AgentConfig, ClassroomConfig, MqttConfig, OutboxConfig
from hub.accounts.auth import create_user
from hub.devices.registry import add_device, upsert_school
from hub.equipment.importer import AssetRecord, write_assets
from hub.service import Hub
from smartschool.demo.pjlink_simulator import ProjectorServerThread, ProjectorState
from tests.conftest import Broker, free_port

pytestmark = pytest.mark.integration

SCHOOL = "thcs-e2e"
DEVICE = "thcs-e2e-r101"
TAG = "PJ-E2E-101"
RATED = 4000
FM, PASSWORD = "fm.e2e", "fm-pass-word-123"
PJLINK_PASSWORD = "pj-secret"
POLL_S = 5  # the agent's projector interval (the config's minimum)
# A reading is due within POLL_S; the hub stores it and the evaluator (0.5 s poll) raises
# the alarm within about a second of that. Slack for a shared two-core machine.
ALARM_WITHIN_S = POLL_S + 5.0


@pytest.fixture
def projector() -> Iterator[ProjectorServerThread]:
    state = ProjectorState(power="on", lamp_hours=1500, password=PJLINK_PASSWORD,
                           model="EB-X51")
    with ProjectorServerThread(state) as sim:
        yield sim


@pytest.fixture
def hub(pg_url: str, broker: Broker, tmp_path: Path) -> Iterator[Hub]:
    with psycopg.connect(pg_url) as conn:
        upsert_school(conn, code=SCHOOL, name="THCS Thử", level="thcs", ward="Hải Thành")
        add_device(conn, school=SCHOOL, device=DEVICE, role="classroom")
        write_assets(conn, [AssetRecord(row=2, tag=TAG, type="projector", model="EB-X51",
                                        serial="SN-E2E", room="P.101",
                                        rated_lamp_hours=RATED, device=DEVICE)],
                     school=SCHOOL)
        create_user(conn, username=FM, password=PASSWORD, role="facility_manager",
                    school_id=SCHOOL)
    settings = Settings(_env_file=None, api_port=free_port(), data_dir=tmp_path / "hub",
                        hub_client_id=f"hub-{uuid.uuid4().hex[:6]}")
    service = Hub(settings, database_url=pg_url, mqtt_url=broker.url)
    service.start()
    try:
        assert service.ingest is not None
        deadline = time.monotonic() + 30
        # the SUBACK, not the CONNACK: a message published before it finds no subscriber
        while not service.ingest.stats.subscribed:
            assert time.monotonic() < deadline, "the hub did not subscribe at the broker"
            time.sleep(0.05)
        yield service
    finally:
        service.stop()


@pytest.fixture
def agent(broker: Broker, projector: ProjectorServerThread, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch, hub: Hub) -> Iterator[ClassroomAgent]:
    monkeypatch.setenv("E2E_PJLINK_PASSWORD", PJLINK_PASSWORD)
    config = AgentConfig(
        device=DEVICE, school=SCHOOL, role="classroom",
        mqtt=MqttConfig(url=broker.url),
        outbox=OutboxConfig(path=tmp_path / "edge" / f"{DEVICE}.sqlite3",
                            synchronous="normal"),
        heartbeat_s=60,
        classroom=ClassroomConfig.model_validate({
            "telemetry_interval_s": 60,
            "assets": [{"tag": TAG, "kind": "projector", "source": "pjlink",
                        "interval_s": POLL_S,
                        "pjlink": {"host": "127.0.0.1", "port": projector.port,
                                   "password_env": "E2E_PJLINK_PASSWORD", "timeout_s": 2}}],
        }),
    )
    built = build_agent(config, password="")
    assert isinstance(built, ClassroomAgent)
    built.start()
    try:
        assert built.link.wait_connected(10)
        yield built
    finally:
        built.stop()


def api(hub: Hub) -> httpx.Client:
    assert hub.api is not None
    base = f"http://127.0.0.1:{hub.api.port}"
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": FM, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return httpx.Client(base_url=base, timeout=10,
                        headers={"Authorization": f"Bearer {r.json()['access_token']}"})


def drive(agent: ClassroomAgent, check: Callable[[], Any], *, timeout: float,
          what: str) -> Any:
    """Run the agent's loop (its owner calls ``tick``) until ``check`` answers."""
    deadline = time.monotonic() + timeout
    while True:
        agent.tick()
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def asset(client: httpx.Client) -> dict[str, Any]:
    r = client.get("/api/v1/assets")
    assert r.status_code == 200, r.text
    [only] = r.json()
    assert only["tag"] == TAG
    return dict(only)


def open_alarm(client: httpx.Client, alarm_type: str) -> dict[str, Any] | None:
    r = client.get("/api/v1/alarms")
    assert r.status_code == 200, r.text
    return next((a for a in r.json() if a["subject"] == TAG and a["type"] == alarm_type),
                None)


def test_projector_to_alarm_through_the_whole_platform(
        hub: Hub, agent: ClassroomAgent, projector: ProjectorServerThread) -> None:
    client = api(hub)

    # live state: the projector's power and lamp hours, read over PJLink with its password
    live = drive(agent, lambda: (a := asset(client))["lamp_hours"] is not None and a,
                 timeout=POLL_S + 10, what="the projector's state in the API")
    assert (live["power"], live["lamp_hours"], live["error"]) == ("on", 1500.0, "ok")
    assert live["rated_lamp_hours"] == RATED and live["device_id"] == DEVICE
    assert live["open_alarms"] == 0 and open_alarm(client, "lamp_life") is None

    # the lamp reaches 90 % of its rated life: a lamp alarm within a few seconds
    with projector.state.lock:
        projector.state.lamp_hours = 0.9 * RATED + 10
    started = time.monotonic()
    lamp = drive(agent, lambda: open_alarm(client, "lamp_life"), timeout=ALARM_WITHIN_S + 5,
                 what="the lamp alarm")
    assert time.monotonic() - started < ALARM_WITHIN_S
    assert lamp["state"] == "active_unack" and "3610" in lamp["message"]
    assert asset(client)["lamp_hours"] == 3610.0

    # the facility manager acknowledges it, then clears it, each with a comment
    r = client.post(f"/api/v1/alarms/{lamp['id']}/ack", json={"comment": "đã đặt bóng đèn"})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["acked_by"], r.json()["ack_comment"]) == (
        "active_ack", FM, "đã đặt bóng đèn")
    r = client.post(f"/api/v1/alarms/{lamp['id']}/clear", json={"comment": "đã thay bóng"})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["cleared_by"], r.json()["clear_comment"]) == (
        "cleared", FM, "đã thay bóng")
    assert open_alarm(client, "lamp_life") is None

    # a projector fault (over-temperature in ERST) raises a projector-error alarm
    projector.state.set_fault("temp", 2)
    started = time.monotonic()
    fault = drive(agent, lambda: open_alarm(client, "projector_error"),
                  timeout=ALARM_WITHIN_S + 5, what="the projector-error alarm")
    assert time.monotonic() - started < ALARM_WITHIN_S
    assert fault["state"] == "active_unack" and "temp" in fault["message"]
    after = asset(client)
    assert (after["error"], after["power"]) == ("temp", "off")  # the lamp goes off with it
    client.close()
