"""Provisioning on the real thing: `smartschool broker init --tls` writes the setup, a
real Mosquitto runs it, `smartschool devices add/rotate/decommission` manage accounts
through its dynamic security plugin, and real edge agents run from their bundles.

Every refusal is shown against a witness: a message the same client may send, sent
after the forbidden one and seen by a subscriber that reads everything, so "nothing
arrived" means refused, not "not arrived yet".
"""

from __future__ import annotations

import getpass
import json
import os
import ssl
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode
from typer.testing import CliRunner

from core.mqtt import is_v5
from core.settings import get_settings
from edge.agent import build_agent
from edge.cards.readers import SimulatedCardReader
from edge.config import load_config
from edge.gate.agent import GateAgent
from edge.hardware.relay import NoopRelay
from hub.broker.acl import HUB_USER
from hub.devices.registry import upsert_school
from hub.ingest.worker import Ingest
from smartschool.cli import app
from tests.conftest import ROOT, free_port, mosquitto_binary, wait_port, wait_until

pytestmark = pytest.mark.integration

SCHOOL = "th-prov"
GATE_A, GATE_B, ROOM = "th-prov-gate-a", "th-prov-gate-b", "th-prov-r101"
HUB_ID = "smartschool-hub"  # the hub's client id (Settings.hub_client_id's default)


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


def read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines()
             if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


@dataclass
class District:
    directory: Path
    env: dict[str, str]
    port: int  # loopback, plain: the hub and the CLI
    tls_port: int  # devices
    bundles: Path
    db: str
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.directory / "mosquitto.conf")],
            stdout=subprocess.DEVNULL, stderr=self.log.open("ab"))
        wait_port(self.port)
        wait_port(self.tls_port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    @property
    def ca(self) -> str:
        return self.env["SMARTSCHOOL_BROKER_CA_FILE"]

    def bundle(self, device: str) -> Path:
        return self.bundles / device

    def password(self, device: str) -> str:
        return (self.bundle(device) / "mqtt-password").read_text().strip()


@pytest.fixture
def district(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[District]:
    directory, port, tls_port = tmp_path / "broker", free_port(), free_port()
    out = cli("broker", "init", str(directory), "--tls", "--port", str(port),
              "--tls-port", str(tls_port), "--hostname", "127.0.0.1",
              "--user", getpass.getuser())
    assert f"conf: {directory / 'mosquitto.conf'}" in out
    env = read_env(directory / "smartschool.env")
    d = District(directory, env, port, tls_port, tmp_path / "bundles", pg_url,
                 tmp_path / "mosquitto.log")
    d.start()
    try:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("SMARTSCHOOL_DATABASE_URL", pg_url)
        monkeypatch.setenv("SMARTSCHOOL_DATA_DIR", str(tmp_path / "data"))
        get_settings.cache_clear()
        with psycopg.connect(pg_url) as conn:
            upsert_school(conn, code=SCHOOL, name="Trường Tiểu học Thử", level="tieu_hoc",
                          ward="Hải Thành")
        bundles = d.bundles
        for device, role in ((GATE_A, "gate"), (GATE_B, "gate"), (ROOM, "classroom")):
            out = cli("devices", "add", SCHOOL, device, "--role", role,
                      "--bundle", str(bundles / device), "--device-dir", str(bundles / device))
            assert f"device {device} registered to {SCHOOL} as {role}" in out
        yield d
    finally:
        d.stop()
        get_settings.cache_clear()


# --- plain clients ------------------------------------------------------------------------


@dataclass
class Probe:
    """A paho client that records what happened to it."""

    client: mqtt.Client
    connack: ReasonCode | None = None
    suback: list[ReasonCode] = field(default_factory=list)
    pubacks: dict[int, ReasonCode] = field(default_factory=dict)
    received: list[tuple[str, bytes]] = field(default_factory=list)
    disconnected: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def publish(self, topic: str, body: bytes) -> ReasonCode:
        info = self.client.publish(topic, body, qos=1)
        wait_until(lambda: info.mid in self.pubacks, what=f"PUBACK of {topic}")
        return self.pubacks[info.mid]

    def subscribe(self, topic: str) -> ReasonCode:
        self.suback.clear()
        self.client.subscribe(topic, qos=1)
        wait_until(lambda: self.suback, what=f"SUBACK of {topic}")
        return self.suback[0]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def probe(district: District, *, username: str | None, password: str | None,
          client_id: str, tls: bool = True, port: int | None = None) -> Probe:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=MQTTProtocolVersion.MQTTv5)
    p = Probe(client)
    if username is not None:
        client.username_pw_set(username, password)
    if tls:
        client.tls_set(ca_certs=district.ca, cert_reqs=ssl.CERT_REQUIRED)

    def on_connect(_c: Any, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        p.connack = rc
        p.done.set()

    def on_disconnect(_c: Any, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        p.disconnected.set()
        p.done.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_subscribe = lambda _c, _u, _m, codes, _p: p.suback.extend(codes)
    client.on_publish = lambda _c, _u, mid, rc, _p: p.pubacks.__setitem__(mid, rc)
    client.on_message = lambda _c, _u, m: p.received.append((m.topic, m.payload))
    client.reconnect_delay_set(30, 60)  # a refused probe must not retry within the test
    if port is None:
        port = district.tls_port if tls else district.port
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    assert p.done.wait(10), "no CONNACK"
    return p


def device_probe(district: District, device: str, *, password: str | None = None,
                 client_id: str | None = None) -> Probe:
    return probe(district, username=device,
                 password=password if password is not None else district.password(device),
                 client_id=client_id or device)


@pytest.fixture
def spy(district: District) -> Iterator[Probe]:
    """The hub's account (the one reader of everything) under a client id of its own."""
    p = probe(district, username=HUB_USER, password=district.env["SMARTSCHOOL_MQTT_PASSWORD"],
              client_id=f"spy-{uuid.uuid4().hex[:6]}", tls=False)
    assert p.connack is not None and not p.connack.is_failure
    assert not p.subscribe("ss/v1/#").is_failure
    yield p
    p.close()


@pytest.fixture
def ingest(district: District) -> Iterator[Ingest]:
    """The hub's ingest with the account and URL `broker init` wrote for it."""
    env = district.env
    hub = Ingest(database_url=district.db, mqtt_url=env["SMARTSCHOOL_MQTT_URL"],
                 client_id=HUB_ID, tz="Asia/Ho_Chi_Minh",
                 username=env["SMARTSCHOOL_MQTT_USERNAME"],
                 password=env["SMARTSCHOOL_MQTT_PASSWORD"])
    hub.start()
    try:
        wait_until(lambda: hub.stats.subscribed, what="hub subscribed")
        yield hub
    finally:
        hub.stop()


def gate_event(device: str, seq: int) -> bytes:
    return json.dumps({
        "v": 1, "type": "gate", "device": device, "seq": seq,
        "ts": "2025-09-08T06:50:00.000+07:00", "direction": "in", "method": "card",
        "card_uid": "04A1B2C3", "person": None, "distance": None, "decision": "unknown",
        "reason": "unknown-card"}).encode()


def stored_seqs(district: District, device: str) -> list[int]:
    with psycopg.connect(district.db) as conn:
        return [int(r[0]) for r in conn.execute(
            "select seq from gate_events where device_id = %s order by seq", (device,))]


def topic(device: str, channel: str) -> str:
    return f"ss/v1/{SCHOOL}/{device}/{channel}"


def seen(spy: Probe, t: str) -> list[bytes]:
    return [body for got, body in spy.received if got == t]


def accepted(p: Probe) -> bool:
    return p.connack is not None and not p.connack.is_failure


def refused_publish(district: District, device: str, t: str) -> None:
    """A publish the device's ACL forbids: Mosquitto 2.0 answers "not authorised" and
    drops the connection (observed on 2.0.11), so each attempt gets a connection of its
    own."""
    p = device_probe(district, device)
    try:
        assert accepted(p)
        assert p.publish(t, b"forged").is_failure
        assert p.disconnected.wait(10), f"{device} still connected after publishing on {t}"
    finally:
        p.close()


# --- the tests ------------------------------------------------------------------------------


def test_init_writes_a_tls_only_device_listener_and_private_secrets(district: District) -> None:
    d = district.directory
    conf = (d / "mosquitto.conf").read_text().splitlines()
    assert f"listener {district.port} 127.0.0.1" in conf and f"listener {district.tls_port}" in conf
    for secret in ("smartschool.env", "dynamic-security.json", "tls/broker.key",
                   "tls/district-ca.key"):
        assert (d / secret).stat().st_mode & 0o077 == 0, secret
    for device in (GATE_A, GATE_B, ROOM):
        b = district.bundle(device)
        assert (b / "mqtt-password").stat().st_mode & 0o777 == 0o600
        assert (b / "district-ca.crt").read_bytes() == Path(district.ca).read_bytes()
        assert load_config(b / f"{device}.yaml").mqtt.url == (
            f"mqtts://127.0.0.1:{district.tls_port}")
    assert (district.bundle(GATE_A) / "device_token").stat().st_mode & 0o777 == 0o600
    assert not (district.bundle(ROOM) / "device_token").exists()  # nothing to sync
    # Plain MQTT on the device listener gets no CONNACK: the broker drops the connection.
    plain = probe(district, username=GATE_A, password=district.password(GATE_A),
                  client_id=GATE_A, tls=False, port=district.tls_port)
    assert plain.connack is None and plain.disconnected.is_set()
    plain.close()
    ok = device_probe(district, GATE_A)
    assert accepted(ok)
    ok.close()


def test_agents_run_from_their_bundles_over_tls_and_their_messages_are_stored(
        district: District, ingest: Ingest, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    agents: list[Any] = []
    try:
        assert is_v5(ingest.client)  # so its session expiry and receive maximum apply
        for device in (GATE_A, ROOM):
            # The agent reads its password as the systemd credential of its bundle.
            monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(district.bundle(device)))
            monkeypatch.delenv("SMARTSCHOOL_MQTT_PASSWORD", raising=False)
            config = load_config(district.bundle(device) / f"{device}.yaml")
            assert config.mqtt.address.tls
            agent = build_agent(config, relay=NoopRelay(), card_reader=SimulatedCardReader(),
                                data_dir=tmp_path / device)
            agents.append(agent)
            agent.start()
            assert agent.link.wait_connected(10), f"{device} did not connect"
            # The version probe used the device's credentials and TLS, so it got MQTT 5.
            assert is_v5(agent.link.client), device
        gate = agents[0]
        assert isinstance(gate, GateAgent)
        taps = [gate.handle_tap(uid) for uid in ("04A1B2C3", "04A1B2C4")]
        assert all(taps)
        with psycopg.connect(district.db) as conn:
            def stored() -> list[tuple[Any, ...]]:
                return conn.execute(
                    "select seq, card_uid from gate_events where device_id = %s order by seq",
                    (GATE_A,)).fetchall()
            rows = wait_until(lambda: len(stored()) == 2 and stored(), what="2 taps stored")
            assert [r[1] for r in rows] == ["04A1B2C3", "04A1B2C4"]
            online = wait_until(lambda: conn.execute(
                "select id from devices where state = 'online' order by id").fetchall() == [
                    (GATE_A,), (ROOM,)] or None, what="both agents online")
            assert online
        assert ingest.stats.connections == 1 and ingest.stats.dead_lettered == 0
    finally:
        for agent in agents:
            agent.stop()


def test_refused_anonymous_and_wrong_password(district: District) -> None:
    for tls in (True, False):
        anonymous = probe(district, username=None, password=None, client_id="anon", tls=tls)
        assert not accepted(anonymous), tls
        anonymous.close()
    wrong = device_probe(district, GATE_A, password="not-the-password")
    assert not accepted(wrong)
    wrong.close()
    # A device account does not open the hub's plain loopback listener either.
    local = probe(district, username=GATE_A, password="not-the-password", client_id=GATE_A,
                  tls=False)
    assert not accepted(local)
    local.close()


def test_a_gate_cannot_speak_for_another_nor_take_the_hubs_client_id(
        district: District, spy: Probe) -> None:
    for channel in ("event", "status", "telemetry", "reply", "cmd"):  # cmd: the hub's
        refused_publish(district, GATE_A, topic(GATE_B, channel))
    a = device_probe(district, GATE_A)
    try:
        assert accepted(a)
        assert not a.publish(topic(GATE_A, "event"), b"witness").is_failure
        wait_until(lambda: seen(spy, topic(GATE_A, "event")), what="the witness")
        assert [t for t, _ in spy.received if GATE_B in t] == []

    finally:
        a.close()


def test_a_gate_cannot_take_the_hubs_client_id_and_the_hub_keeps_ingesting(
        district: District, ingest: Ingest) -> None:
    for client_id in (HUB_ID, GATE_B):
        taker = device_probe(district, GATE_A, client_id=client_id)
        assert not accepted(taker), client_id
        taker.close()
    a = device_probe(district, GATE_A)
    try:
        assert not a.publish(topic(GATE_A, "event"), gate_event(GATE_A, 0)).is_failure
        wait_until(lambda: stored_seqs(district, GATE_A) == [0], what="the event stored")
    finally:
        a.close()
    # The hub's session was never taken over: one connection all along.
    assert ingest.stats.connected and ingest.stats.connections == 1


def test_a_gate_subscribing_to_everything_receives_nothing_of_others(
        district: District, spy: Probe) -> None:
    a = device_probe(district, GATE_A)
    b = device_probe(district, GATE_B)
    try:
        assert a.subscribe("ss/v1/#").is_failure
        assert a.subscribe(topic(GATE_B, "cmd")).is_failure
        assert not a.subscribe(topic(GATE_A, "cmd")).is_failure  # its own commands
        assert not b.publish(topic(GATE_B, "event"), b"b's event").is_failure
        hub = probe(district, username=HUB_USER,
                    password=district.env["SMARTSCHOOL_MQTT_PASSWORD"],
                    client_id=f"cmd-{uuid.uuid4().hex[:6]}", tls=False)
        assert not hub.publish(topic(GATE_B, "cmd"), b"for b").is_failure
        assert not hub.publish(topic(GATE_A, "cmd"), b"for a").is_failure  # the witness
        hub.close()
        wait_until(lambda: a.received, what="a's own command")
        assert a.received == [(topic(GATE_A, "cmd"), b"for a")]
        assert seen(spy, topic(GATE_B, "event")) == [b"b's event"]
    finally:
        a.close()
        b.close()


def test_hub_workers_read_through_the_shared_subscription(district: District) -> None:
    worker = probe(district, username=HUB_USER,
                   password=district.env["SMARTSCHOOL_MQTT_PASSWORD"],
                   client_id=f"{HUB_ID}-w0", tls=False)
    try:
        assert not worker.subscribe(f"$share/hub/{topic('+', 'event')}").is_failure
        a = device_probe(district, GATE_A)
        assert not a.publish(topic(GATE_A, "event"), b"shared").is_failure
        a.close()
        wait_until(lambda: worker.received, what="the event through $share/hub")
        assert worker.received == [(topic(GATE_A, "event"), b"shared")]
    finally:
        worker.close()


def test_a_classroom_agent_publishes_only_under_its_own_id(district: District,
                                                           spy: Probe) -> None:
    # Its attendance role (issue 14) sends sightings on its own event topic; whether a
    # gate event may come from a classroom is the hub's routing (a room named, or not).
    refused_publish(district, ROOM, topic(GATE_A, "event"))
    room = device_probe(district, ROOM)
    try:
        assert not room.publish(topic(ROOM, "event"), b"sighting").is_failure
        wait_until(lambda: seen(spy, topic(ROOM, "event")), what="the sighting")
        assert seen(spy, topic(GATE_A, "event")) == []
    finally:
        room.close()


def test_rotation_stops_the_old_password_and_decommissioning_the_account(
        district: District, spy: Probe) -> None:
    old = district.password(GATE_A)
    with psycopg.connect(district.db) as conn:
        old_token = conn.execute("select token_hash from devices where id = %s",
                                 (GATE_A,)).fetchone()
    connected = device_probe(district, GATE_A)
    assert accepted(connected)
    out = cli("devices", "rotate", GATE_A, "--bundle", str(district.bundle(GATE_A)),
              "--device-dir", str(district.bundle(GATE_A)))
    assert "old ones no longer work" in out
    assert connected.disconnected.wait(10), "the broker kept the old password's connection"
    connected.close()
    assert district.password(GATE_A) != old
    stale = device_probe(district, GATE_A, password=old)
    assert not accepted(stale)
    stale.close()
    fresh = device_probe(district, GATE_A)
    assert accepted(fresh)
    assert not fresh.publish(topic(GATE_A, "event"), b"after rotation").is_failure
    fresh.close()
    with psycopg.connect(district.db) as conn:
        assert conn.execute("select token_hash from devices where id = %s",
                            (GATE_A,)).fetchone() != old_token

    b = device_probe(district, GATE_B)
    assert accepted(b)
    assert not b.publish(topic(GATE_B, "event"), b"before").is_failure
    out = cli("devices", "decommission", GATE_B)
    assert "broker account removed, token revoked" in out
    assert b.disconnected.wait(10), "the broker kept the decommissioned device connected"
    b.close()
    gone = device_probe(district, GATE_B)
    assert not accepted(gone)
    gone.close()
    with psycopg.connect(district.db) as conn:
        row = conn.execute("select school_id, token_revoked_at is not null from devices"
                           " where id = %s", (GATE_B,)).fetchone()
    assert row == (SCHOOL, True)  # still registered (its history stays), token revoked
    assert seen(spy, topic(GATE_B, "event")) == [b"before"]
    # Nothing of the broker account is left: adding it again starts afresh.
    again = cli("devices", "add", SCHOOL, GATE_B, "--role", "gate",
                "--bundle", str(district.bundle(GATE_B)))
    assert "registered" in again
    back = device_probe(district, GATE_B)
    assert accepted(back)
    back.close()


def test_accounts_and_the_hubs_session_survive_a_broker_restart(
        district: District, ingest: Ingest) -> None:
    ingest.stop()  # the hub away: the broker keeps its session and queues for it
    a = device_probe(district, GATE_A)
    assert not a.publish(topic(GATE_A, "event"), gate_event(GATE_A, 0)).is_failure
    a.close()
    district.stop()
    district.start()
    # The account `devices add` created at run time was saved by the plugin.
    a = device_probe(district, GATE_A)
    assert accepted(a)
    assert not a.publish(topic(GATE_A, "event"), gate_event(GATE_A, 1)).is_failure
    a.close()
    env = district.env
    back = Ingest(database_url=district.db, mqtt_url=env["SMARTSCHOOL_MQTT_URL"],
                  client_id=HUB_ID, tz="Asia/Ho_Chi_Minh",
                  username=env["SMARTSCHOOL_MQTT_USERNAME"],
                  password=env["SMARTSCHOOL_MQTT_PASSWORD"])
    back.start()
    try:
        wait_until(lambda: stored_seqs(district, GATE_A) == [0, 1],
                   what="both events, one queued across the restart")
    finally:
        back.stop()


def test_clear_errors_without_the_broker(pg_url: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTSCHOOL_DATABASE_URL", pg_url)
    for key in ("URL", "USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"SMARTSCHOOL_BROKER_ADMIN_{key}", raising=False)
    get_settings.cache_clear()
    with psycopg.connect(pg_url) as conn:
        upsert_school(conn, code=SCHOOL, name="Trường Thử", level="tieu_hoc", ward="Hải Thành")

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args))
        return result.exit_code, result.stderr

    try:
        # No admin settings: a bundle or a rotation cannot be made; add only registers.
        code, err = run("devices", "add", SCHOOL, GATE_A, "--role", "gate",
                        "--bundle", str(tmp_path / "b"))
        assert code == 2 and "broker admin settings" in err and not (tmp_path / "b").exists()
        assert run("devices", "add", SCHOOL, GATE_A, "--role", "gate")[0] == 0
        code, err = run("devices", "rotate", GATE_A)
        assert code == 2 and "broker admin settings" in err
        # Admin settings naming a broker that is not there: one error line, no traceback.
        monkeypatch.setenv("SMARTSCHOOL_BROKER_ADMIN_URL", f"mqtt://127.0.0.1:{free_port()}")
        monkeypatch.setenv("SMARTSCHOOL_BROKER_ADMIN_USERNAME", "smartschool-admin")
        monkeypatch.setenv("SMARTSCHOOL_BROKER_ADMIN_PASSWORD", "x")
        get_settings.cache_clear()
        for args in (("devices", "add", SCHOOL, GATE_B, "--role", "gate"),
                     ("devices", "rotate", GATE_A), ("devices", "decommission", GATE_A)):
            code, err = run(*args)
            assert code == 2 and err.startswith("error: cannot reach the broker"), (args, err)
        code, err = run("devices", "rotate", "no-such-device")
        assert code == 2 and "no device 'no-such-device'" in err
    finally:
        get_settings.cache_clear()


def test_only_the_admin_account_administers(district: District,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for username, password, why in (
            ("smartschool-admin", "wrong", "refused the admin account"),
            (HUB_USER, district.env["SMARTSCHOOL_MQTT_PASSWORD"], "may not administer")):
        monkeypatch.setenv("SMARTSCHOOL_BROKER_ADMIN_USERNAME", username)
        monkeypatch.setenv("SMARTSCHOOL_BROKER_ADMIN_PASSWORD", password)
        get_settings.cache_clear()
        result = CliRunner().invoke(app, ["devices", "rotate", GATE_A])
        assert result.exit_code == 2 and why in result.stderr, result.stderr
    # The gate's password is what the bundle holds: nothing was rotated.
    a = device_probe(district, GATE_A)
    assert accepted(a)
    a.close()


def test_administering_over_tls_with_the_district_ca(district: District,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTSCHOOL_BROKER_ADMIN_URL", f"mqtts://127.0.0.1:{district.tls_port}")
    get_settings.cache_clear()
    out = cli("devices", "add", SCHOOL, "th-prov-gate-c", "--role", "gate")
    printed = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    assert set(printed) == {"mqtt-password", "device_token"}  # shown once, no bundle
    c = device_probe(district, "th-prov-gate-c", password=printed["mqtt-password"])
    assert accepted(c)
    c.close()


def test_smartschool_edge_run_from_a_bundle_as_systemd_would(
        district: District, ingest: Ingest, tmp_path: Path) -> None:
    """The unit's way: `smartschool edge run --config`, the password as a credential
    ($CREDENTIALS_DIRECTORY, never the environment), SIGTERM to stop."""
    bundle = district.bundle(ROOM)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTSCHOOL_")}
    env.update(CREDENTIALS_DIRECTORY=str(bundle), SMARTSCHOOL_DATA_DIR=str(tmp_path / "pi"),
               PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "smartschool", "edge", "run", "--config",
         str(bundle / f"{ROOM}.yaml")], env=env, cwd=tmp_path, stdin=subprocess.DEVNULL)

    def state() -> str | None:
        with psycopg.connect(district.db) as conn:
            row = conn.execute("select state from devices where id = %s", (ROOM,)).fetchone()
        return str(row[0]) if row else None

    try:
        wait_until(lambda: state() == "online", timeout=30, what="the agent's birth stored")
        proc.terminate()
        assert proc.wait(20) == 0
        wait_until(lambda: state() == "offline", what="its clean offline stored")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
