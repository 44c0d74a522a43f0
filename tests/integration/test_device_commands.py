"""Commands to devices end to end (issue #13): the API, the hub's command client, a
real Mosquitto, a real card gate agent, ingest linking the reply back to the audited
command, PostgreSQL.

Nobody fakes the device: the gate agent runs the real command table against its real
SQLite outbox, so expiry and "never twice, also after a restart" are the device's own.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core.settings import Settings
from edge.agent import build_agent
from edge.config import AgentConfig, GateConfig, MqttConfig, OutboxConfig
from edge.gate.agent import GateAgent
from edge.hardware.relay import NoopRelay
from hub.accounts.auth import create_user, ensure_admin
from hub.devices.registry import add_device, upsert_school
from hub.service import Hub
from protocol import CmdPayload, ReplyPayload
from protocol.messages import to_json
from protocol.topics import Channel, Topic
from tests.conftest import Broker, running_hub, wait_until
from tests.integration.test_edge_link import Subscriber

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

SCHOOL, OTHER = "th-cmd", "th-cmd-other"
GATE, OTHER_GATE, ROOM = "th-cmd-gate-1", "th-cmd-other-gate-1", "th-cmd-r101"
PASSWORD = "cmd-test-pass-123"
REPLY_WITHIN_S = 5.0  # "replies within seconds": the measured round trip must fit


def seed(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        upsert_school(conn, code=SCHOOL, name="Trường Tiểu học Lệnh", level="tieu_hoc",
                      ward="Hải Thành")
        upsert_school(conn, code=OTHER, name="Trường Tiểu học Khác", level="tieu_hoc",
                      ward="Hòa Nghĩa")
        add_device(conn, school=SCHOOL, device=GATE, role="gate")
        add_device(conn, school=SCHOOL, device=ROOM, role="classroom")
        add_device(conn, school=OTHER, device=OTHER_GATE, role="gate")
        ensure_admin(conn, password=PASSWORD)
        for name, role, school in (("bgh.cmd", "school_admin", SCHOOL),
                                   ("bgh.other", "school_admin", OTHER),
                                   ("gv.cmd", "teacher", SCHOOL),
                                   ("ql.cmd", "facility_manager", SCHOOL),
                                   ("tt", "control_room", None)):
            create_user(conn, username=name, password=PASSWORD, role=role,  # type: ignore[arg-type]
                        school_id=school)


@pytest.fixture
def hub(pg_url: str, broker: Broker, tmp_path: Path) -> Iterator[Hub]:
    seed(pg_url)
    with running_hub(pg_url, broker, tmp_path) as service:
        yield service


def client(hub: Hub, username: str) -> httpx.Client:
    assert hub.api is not None
    base = f"http://127.0.0.1:{hub.api.port}"
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": username,
                                                       "password": PASSWORD})
    assert r.status_code == 200, r.text
    return httpx.Client(base_url=base, timeout=30,
                        headers={"Authorization": f"Bearer {r.json()['access_token']}"})


def start_gate(broker: Broker, tmp_path: Path) -> GateAgent:
    """A card gate with the system clock, its outbox in ``tmp_path`` (kept across
    restarts, as on the Pi's SD card)."""
    config = AgentConfig(
        device=GATE, school=SCHOOL, role="gate", heartbeat_s=3600,
        mqtt=MqttConfig(url=broker.url, keepalive_s=5),
        outbox=OutboxConfig(path=tmp_path / "gate-outbox.sqlite3", synchronous="normal"),
        gate=GateConfig(),
    )
    agent = build_agent(config, relay=NoopRelay(), cards={}, password="")
    assert isinstance(agent, GateAgent)
    agent.start()
    assert agent.link.wait_connected(10)
    return agent


def pulses(agent: GateAgent) -> int:
    assert isinstance(agent.relay, NoopRelay)
    return agent.relay.pulses


def command(api: httpx.Client, cid: str, device: str = GATE) -> dict[str, Any]:
    r = api.get(f"/api/v1/devices/{device}/commands/{cid}")
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def settled(api: httpx.Client, cid: str, timeout: float = 15.0) -> dict[str, Any]:
    """The command once it has left ``sent``."""
    found: dict[str, Any] = wait_until(
        lambda: (c := command(api, cid))["state"] != "sent" and c, timeout,
        f"command {cid} settled")
    return found


def replay(broker: Broker, payload: CmdPayload, *, retain: bool) -> None:
    """Publish a command again, byte for byte as the broker would redeliver it."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"replay-{uuid.uuid4().hex[:6]}")
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    try:
        c.publish(str(Topic(SCHOOL, payload.device, Channel.CMD)), to_json(payload), qos=1,
                  retain=retain).wait_for_publish(5)
    finally:
        c.disconnect()
        c.loop_stop()


def clear_retained(broker: Broker, device: str) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"clear-{uuid.uuid4().hex[:6]}")
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    try:
        c.publish(str(Topic(SCHOOL, device, Channel.CMD)), b"", qos=1,
                  retain=True).wait_for_publish(5)
    finally:
        c.disconnect()
        c.loop_stop()


def sent_command(sub: Subscriber, cid: str) -> CmdPayload:
    found: list[CmdPayload] = wait_until(
        lambda: [p for p in sub.of(CmdPayload, GATE) if str(p.id) == cid],
        what=f"command {cid} on the broker")
    return found[0]


def manual_events(pg_url: str) -> int:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("select count(*) from gate_events where device_id = %s"
                           " and method = 'manual'", (GATE,)).fetchone()
        assert row is not None
        return int(row[0])


def replies_to(pg_url: str, cid: str) -> int:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("select count(*) from device_replies where cmd_id = %s",
                           (cid,)).fetchone()
        assert row is not None
        return int(row[0])


def test_open_gate_round_trip_and_who_may_command(hub: Hub, broker: Broker,
                                                  tmp_path: Path, pg_url: str) -> None:
    agent = start_gate(broker, tmp_path)
    try:
        with client(hub, "admin") as admin:
            started = time.monotonic()
            r = admin.post(f"/api/v1/devices/{GATE}/commands",
                           json={"command": "open-gate", "args": {"seconds": 2}})
            assert r.status_code == 202, r.text
            sent = r.json()
            assert sent["state"] in ("sent", "replied") and sent["issued_by"] == "admin"
            assert sent["command"] == "open-gate" and sent["args"] == {"seconds": 2}
            done = settled(admin, sent["id"], REPLY_WITHIN_S)
            elapsed = time.monotonic() - started
            print(f"open-gate: POST to replied in {elapsed:.3f} s")
            assert done["state"] == "replied" and done["ok"] is True
            assert isinstance(done["reply"]["event_seq"], int)
            assert done["replied_at"] is not None and pulses(agent) == 1
            wait_until(lambda: manual_events(pg_url) == 1, what="the remote-open event stored")

            # the audit: who, when, what, the reply, newest first
            log = admin.get(f"/api/v1/devices/{GATE}/commands").json()
            assert [(c["id"], c["issued_by"], c["state"]) for c in log] == [
                (sent["id"], "admin", "replied")]

            # a gate's command to a classroom, an unknown command, a bad expiry: 422
            assert admin.post(f"/api/v1/devices/{ROOM}/commands",
                              json={"command": "open-gate"}).status_code == 422
            assert admin.post(f"/api/v1/devices/{GATE}/commands",
                              json={"command": "self-destruct"}).status_code == 422
            assert admin.post(f"/api/v1/devices/{GATE}/commands",
                              json={"command": "ping", "expires_in_s": 0}).status_code == 422
            assert admin.post("/api/v1/devices/th-cmd-nope/commands",
                              json={"command": "ping"}).status_code == 404
            assert admin.get(f"/api/v1/devices/{GATE}/commands/{uuid.uuid4()}"
                             ).status_code == 404

        with client(hub, "bgh.other") as other_admin:
            # another school's gate does not exist for this school admin
            r = other_admin.post(f"/api/v1/devices/{GATE}/commands",
                                 json={"command": "open-gate"})
            assert r.status_code == 404, r.text
            assert other_admin.get(f"/api/v1/devices/{GATE}/commands/{sent['id']}"
                                   ).status_code == 404
            assert other_admin.get(f"/api/v1/devices/{GATE}/commands").status_code == 404
        for name in ("gv.cmd", "ql.cmd"):
            with client(hub, name) as staff:
                assert staff.post(f"/api/v1/devices/{GATE}/commands",
                                  json={"command": "ping"}).status_code == 403
        assert pulses(agent) == 1  # none of the refused commands reached the gate

        with client(hub, "bgh.cmd") as own_admin:
            r = own_admin.post(f"/api/v1/devices/{GATE}/commands", json={"command": "hold-open"})
            assert r.status_code == 202, r.text
            assert settled(own_admin, r.json()["id"])["state"] == "replied"
        with client(hub, "tt") as control_room:
            r = control_room.post(f"/api/v1/devices/{GATE}/commands", json={"command": "release"})
            assert r.status_code == 202, r.text
            released = settled(control_room, r.json()["id"])
            assert released["state"] == "replied" and released["reply"] == {"was_held": True}
            assert released["issued_by"] == "tt"
            r = control_room.post(f"/api/v1/devices/{GATE}/commands", json={"command": "ping"})
            assert settled(control_room, r.json()["id"])["reply"]["role"] == "gate"
    finally:
        agent.stop()


def test_an_expired_command_is_refused_by_the_device(hub: Hub, broker: Broker,
                                                     tmp_path: Path, pg_url: str) -> None:
    sub = Subscriber(broker, "cmd-watch")
    try:
        with client(hub, "tt") as api:
            # the gate is away: nobody answers, and the command runs out
            r = api.post(f"/api/v1/devices/{GATE}/commands",
                         json={"command": "open-gate", "expires_in_s": 1})
            assert r.status_code == 202, r.text
            cid = r.json()["id"]
            payload = sent_command(sub, cid)
            assert payload.expires is not None
            assert settled(api, cid)["state"] == "expired"
            assert command(api, cid)["ok"] is None  # expired at the hub: no answer yet

            # the broker hands it over late (a retained copy), when the gate comes back
            replay(broker, payload, retain=True)
            agent = start_gate(broker, tmp_path)
            try:
                refused = wait_until(lambda: (c := command(api, cid))["ok"] is not None and c,
                                     what="the device's refusal")
                assert refused["state"] == "expired" and refused["ok"] is False
                assert refused["reply"]["refused"] == "expired"
                assert pulses(agent) == 0  # the door stayed shut
                assert manual_events(pg_url) == 0
            finally:
                agent.stop()
                clear_retained(broker, GATE)
    finally:
        sub.close()


def test_a_command_redelivered_after_a_restart_is_not_run_again(
        hub: Hub, broker: Broker, tmp_path: Path, pg_url: str) -> None:
    sub = Subscriber(broker, "cmd-watch")
    agent = start_gate(broker, tmp_path)
    try:
        with client(hub, "admin") as api:
            r = api.post(f"/api/v1/devices/{GATE}/commands",
                         json={"command": "open-gate", "expires_in_s": 600})
            cid = r.json()["id"]
            first = settled(api, cid)
            assert first["state"] == "replied" and pulses(agent) == 1
            payload = sent_command(sub, cid)
            wait_until(lambda: manual_events(pg_url) == 1, what="the remote-open event stored")

            agent.stop()
            agent = start_gate(broker, tmp_path)  # same outbox file, a new process's table
            replay(broker, payload, retain=True)  # e.g. a retained copy replays
            again = wait_until(
                lambda: [p for p in sub.of(ReplyPayload, GATE) if str(p.id) == cid][1:],
                what="the restarted gate's answer to the same command")
            assert again[0].ok and again[0].detail == first["reply"]  # the first answer
            assert pulses(agent) == 0  # not opened again
            assert command(api, cid)["reply"] == first["reply"]
            # the hub stored the second answer, and after the first no gate event came
            wait_until(lambda: replies_to(pg_url, cid) == 2, what="both answers stored")
            assert manual_events(pg_url) == 1
    finally:
        agent.stop()
        clear_retained(broker, GATE)
        sub.close()


def test_a_command_the_broker_never_took_is_audited_as_failed(pg_url: str,
                                                               tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from hub.api.app import create_app

    seed(pg_url)
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, secret_key="s" * 48),
                     database_url=pg_url, mqtt_display="mqtt://127.0.0.1:1")  # no broker
    with TestClient(app) as api:
        token = api.post("/api/v1/auth/token", data={"username": "tt", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        r = api.post(f"/api/v1/devices/{OTHER_GATE}/commands", headers=headers,
                     json={"command": "open-gate"})
        assert r.status_code == 202, r.text
        assert r.json()["state"] == "failed" and r.json()["issued_by"] == "tt"
        log = api.get(f"/api/v1/devices/{OTHER_GATE}/commands", headers=headers).json()
        assert [c["state"] for c in log] == ["failed"]


def test_the_command_line_sends_the_same_command(hub: Hub, broker: Broker, tmp_path: Path,
                                                 pg_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from core.settings import get_settings
    from smartschool.cli import app

    monkeypatch.setenv("SMARTSCHOOL_DATABASE_URL", pg_url)
    monkeypatch.setenv("SMARTSCHOOL_MQTT_URL", broker.url)
    monkeypatch.setattr("getpass.getuser", lambda: "vanhanh")
    agent = start_gate(broker, tmp_path)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["devices", "command", GATE, "open-gate",
                                          "--arg", "seconds=1.5"])
        assert result.exit_code == 0, result.output
        sent, done = (json.loads(line) for line in result.stdout.splitlines())
        assert sent["args"] == {"seconds": 1.5} and sent["issued_by"] == "cli:vanhanh"
        assert done["state"] == "replied" and "event_seq" in done["reply"]
        assert pulses(agent) == 1 and agent.relay.last_pulse_s == 1.5  # type: ignore[attr-defined]

        result = CliRunner().invoke(app, ["devices", "command", ROOM, "open-gate"])
        assert result.exit_code == 2 and "a gate's command" in result.stderr
        result = CliRunner().invoke(app, ["devices", "command", GATE, "ping", "--arg", "x"])
        assert result.exit_code == 2 and "not key=value" in result.stderr
    finally:
        get_settings.cache_clear()
        agent.stop()
