"""Transport on a broker as a district runs it (issue #11): no anonymous clients, a
password file (mosquitto_passwd), and a TLS-only listener whose certificate comes from
the district's own CA, made here with ``cryptography``.

Every client (the hub's ingest and sync publisher, a gate and a classroom agent) must
negotiate MQTT 5 with its real credentials and the CA file (the broker's log is the
witness); a refusal is reported, never read as "this broker speaks 3.1.1"; the hub's
persistent session outlives a hub restart, which on MQTT 5 only a session expiry does.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import MQTTProtocolVersion

from core.mqtt import BrokerAddress, BrokerRefused, TlsFiles, is_v5, make_client, negotiate_protocol
from core.settings import Settings
from edge.agent import build_agent
from edge.classroom import ClassroomAgent
from edge.config import AgentConfig, ClassroomConfig, GateConfig, MqttConfig, OutboxConfig
from edge.gate.agent import GateAgent
from edge.gate.policy import CardEntry
from edge.hardware.relay import NoopRelay
from hub.devices.registry import add_device, upsert_school
from hub.service import Hub
from tests.conftest import Broker, free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

SCHOOL = "th-tls"
GATE, ROOM = "th-tls-gate-1", "th-tls-room-1"
HUB_USER = "smartschool-hub"
PASSWORDS = {HUB_USER: "hub-secret-1", GATE: "gate-secret-1", ROOM: "room-secret-1"}
CARDS = {"04A1B2C3": CardEntry(f"{SCHOOL}-00001", "active"),
         "04A1B2C5": CardEntry(f"{SCHOOL}-00002", "active")}


# --- a district CA and a broker certificate ------------------------------------------------


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(common: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(_name(common)).issuer_name(_name(common))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_server_cert(ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate
                     ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(_name("localhost")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def write_pem(path: Path, item: x509.Certificate | ec.EllipticCurvePrivateKey) -> Path:
    if isinstance(item, x509.Certificate):
        path.write_bytes(item.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(item.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return path


class SecureBroker(Broker):
    """The conftest broker, reconfigured: TLS only, passwords only."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        ca_key, ca = make_ca("Sở GD&ĐT test district CA")
        key, cert = make_server_cert(ca_key, ca)
        self.ca_file = write_pem(workdir / "district-ca.crt", ca)
        self.other_ca_file = write_pem(workdir / "other-ca.crt", make_ca("someone else")[1])
        passwords = workdir / "passwords"
        for n, (user, password) in enumerate(PASSWORDS.items()):
            subprocess.run(["mosquitto_passwd", *(["-c"] if n == 0 else []), "-b",
                            str(passwords), user, password], check=True, capture_output=True)
        self.log = workdir / "mosquitto.log"
        common = self.conf.read_text().split("\n", 1)[1]  # all but the plain listener line
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"cafile {self.ca_file}\n"
            f"certfile {write_pem(workdir / 'broker.crt', cert)}\n"
            f"keyfile {write_pem(workdir / 'broker.key', key)}\n"
            "allow_anonymous false\n"
            f"password_file {passwords}\n"
            "connection_messages true\n"
            + common.replace("allow_anonymous true\n", ""))

    @property
    def url(self) -> str:
        return f"mqtts://localhost:{self.port}"

    def address(self, ca_file: Path | None = None) -> BrokerAddress:
        return BrokerAddress.parse(self.url, TlsFiles(str(ca_file or self.ca_file)))

    def connections(self) -> dict[str, str]:
        """Client id -> the 'pN, cN' the broker logged for its latest connection."""
        found = re.findall(r"New client connected from \S+ as (\S+) \((p\d+), (c\d)",
                           self.log.read_text(errors="replace"))
        return {client: f"{proto}, {clean}" for client, proto, clean in found}


@pytest.fixture
def secure_broker(tmp_path: Path) -> Iterator[SecureBroker]:
    broker = SecureBroker(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


# --- refusals are errors, not downgrades ------------------------------------------------------


def test_refusals_are_reported_not_read_as_mqtt_3(secure_broker: SecureBroker,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    good = secure_broker.address()
    refused = {
        "anonymous": (good, None, None, "refused an anonymous client"),
        "wrong password": (good, GATE, "not-the-password", f"refused {GATE}"),
        "unknown user": (good, "th-tls-gate-9", "x", "refused th-tls-gate-9"),
        "wrong CA": (secure_broker.address(secure_broker.other_ca_file), GATE,
                     PASSWORDS[GATE], "TLS"),
        # the district CA is not in the system trust store
        "system trust store": (BrokerAddress.parse(secure_broker.url), GATE, PASSWORDS[GATE],
                               "TLS"),
    }
    for what, (address, user, password, words) in refused.items():
        with pytest.raises(BrokerRefused, match=re.escape(words)):
            negotiate_protocol(address, client_id=user or "", username=user, password=password)
        # make_client probes the same way; a device keeps working offline, so it gets
        # its client anyway, on MQTT 5 (never 3.1.1), and the refusal is logged
        caplog.clear()
        client = make_client(address, user or "x", username=user, password=password)
        assert is_v5(client), what
        assert [r for r in caplog.records
                if r.levelno == logging.ERROR and words in r.getMessage()], what
    assert negotiate_protocol(good, client_id=GATE, username=GATE,
                              password=PASSWORDS[GATE]) == MQTTProtocolVersion.MQTTv5
    # remembered per address: the version is the broker's
    assert negotiate_protocol(good) == MQTTProtocolVersion.MQTTv5


def test_plain_mqtt_to_the_tls_listener_gets_no_answer_taken_for_a_version(
        secure_broker: SecureBroker) -> None:
    # Speaking plain MQTT to a TLS port: the broker drops the connection without a
    # CONNACK. That is not "unsupported protocol version", so no 3.1.1 fallback.
    plain = BrokerAddress.parse(f"mqtt://127.0.0.1:{secure_broker.port}")
    assert negotiate_protocol(plain, username=GATE, password=PASSWORDS[GATE]) \
        == MQTTProtocolVersion.MQTTv5


# --- every client on MQTT 5 ------------------------------------------------------------------


def seed(url: str) -> None:
    with psycopg.connect(url) as conn:
        upsert_school(conn, code=SCHOOL, name="Trường Thử TLS", level="tieu_hoc",
                      ward="Hải Thành")
        add_device(conn, school=SCHOOL, device=GATE, role="gate")
        add_device(conn, school=SCHOOL, device=ROOM, role="classroom")


def hub_settings(broker: SecureBroker, tmp_path: Path, client_id: str) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "hub", api_port=free_port(),
                    hub_client_id=client_id, secret_key="s" * 48,
                    mqtt_url=broker.url, mqtt_ca_file=broker.ca_file,
                    mqtt_username=HUB_USER, mqtt_password=PASSWORDS[HUB_USER])


def start_hub(pg_url: str, broker: SecureBroker, tmp_path: Path, client_id: str) -> Hub:
    hub = Hub(hub_settings(broker, tmp_path, client_id), database_url=pg_url,
              mqtt_url=broker.url)
    hub.start()
    wait_until(lambda: hub.ingest and hub.ingest.stats.subscribed, what="hub subscribed")
    return hub


def agents(broker: SecureBroker, tmp_path: Path) -> tuple[GateAgent, ClassroomAgent]:
    mqtt = MqttConfig(url=broker.url, ca_file=str(broker.ca_file), keepalive_s=5)
    gate = build_agent(AgentConfig(
        device=GATE, school=SCHOOL, role="gate", mqtt=mqtt, heartbeat_s=3600,
        outbox=OutboxConfig(path=tmp_path / f"{GATE}.sqlite3"), gate=GateConfig(),
    ), cards=CARDS, relay=NoopRelay(), password=PASSWORDS[GATE])
    room = build_agent(AgentConfig(
        device=ROOM, school=SCHOOL, role="classroom", mqtt=mqtt, heartbeat_s=3600,
        outbox=OutboxConfig(path=tmp_path / f"{ROOM}.sqlite3"), classroom=ClassroomConfig(),
    ), password=PASSWORDS[ROOM])
    assert isinstance(gate, GateAgent) and isinstance(room, ClassroomAgent)
    return gate, room


def stored(url: str) -> list[tuple[str, int]]:
    with psycopg.connect(url) as conn:
        return [(str(d), int(s)) for d, s in conn.execute(
            "select device_id, seq from gate_events order by seq").fetchall()]


def test_every_client_runs_mqtt5_and_the_hub_session_outlives_the_hub(
        pg_url: str, secure_broker: SecureBroker, tmp_path: Path) -> None:
    seed(pg_url)
    client_id = f"smartschool-hub-{uuid.uuid4().hex[:6]}"
    hub = start_hub(pg_url, secure_broker, tmp_path, client_id)
    gate, room = agents(secure_broker, tmp_path)
    restarted: Hub | None = None
    try:
        gate.start()
        room.start()
        assert gate.link.wait_connected(10) and room.link.wait_connected(10)
        assert hub.ingest is not None and hub.sync_publisher is not None
        assert is_v5(hub.ingest.client) and is_v5(gate.link.client) and is_v5(room.link.client)

        first = gate.handle_tap("04A1B2C3")
        assert first is not None
        wait_until(lambda: stored(pg_url) == [(GATE, first.seq)], what="the tap stored")

        # The hub goes away; the broker keeps its session (clean start 0 and a session
        # expiry: on MQTT 5 a session without one ends with the connection).
        hub.stop()
        second = gate.handle_tap("04A1B2C5")
        assert second is not None
        assert gate.link.wait_drained(10)  # the broker has it, and no hub is connected
        assert stored(pg_url) == [(GATE, first.seq)]
        restarted = start_hub(pg_url, secure_broker, tmp_path, client_id)
        wait_until(lambda: stored(pg_url) == [(GATE, first.seq), (GATE, second.seq)],
                   what="the tap made while the hub was down")

        # The broker's own account of every connection: all MQTT 5; the hub's resumes
        # its session (c0), the devices start clean.
        seen = wait_until(lambda: (c := secure_broker.connections())
                          and f"{client_id}-sync" in c and c, what="the sync publisher")
        assert seen[client_id] == "p5, c0"
        assert seen[f"{client_id}-sync"].startswith("p5")
        assert seen[GATE] == "p5, c1" and seen[ROOM] == "p5, c1"
        assert {proto.split(",")[0] for proto in seen.values()} == {"p5"}, seen
    finally:
        gate.stop()
        room.stop()
        (restarted or hub).stop()


@pytest.mark.parametrize(("env", "words"), [
    ({"SMARTSCHOOL_MQTT_URL": "mqtt://10.1.2.3:1883"}, "in clear"),
    ({"SMARTSCHOOL_MQTT_URL": "{tls}", "SMARTSCHOOL_MQTT_USERNAME": HUB_USER,
      "SMARTSCHOOL_MQTT_PASSWORD": "wrong", "SMARTSCHOOL_MQTT_CA_FILE": "{ca}"},
     f"refused {HUB_USER}"),
    ({"SMARTSCHOOL_MQTT_URL": "{tls}", "SMARTSCHOOL_MQTT_USERNAME": HUB_USER,
      "SMARTSCHOOL_MQTT_PASSWORD": PASSWORDS[HUB_USER]}, "TLS"),  # no district CA
])
def test_smartschool_hub_exits_with_the_reason(
        env: dict[str, str], words: str, pg_url: str, secure_broker: SecureBroker,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from core.settings import get_settings
    from smartschool.cli import app

    for name, value in {"SMARTSCHOOL_DATABASE_URL": pg_url,
                        "SMARTSCHOOL_SECRET_KEY": "k" * 48,
                        "SMARTSCHOOL_DATA_DIR": str(tmp_path / "data"),
                        "SMARTSCHOOL_API_PORT": str(free_port()), **env}.items():
        monkeypatch.setenv(name, value.format(tls=secure_broker.url,
                                              ca=secure_broker.ca_file))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["hub"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert words in result.output


def test_a_gate_refused_by_the_broker_keeps_deciding_and_keeps_its_taps(
        pg_url: str, secure_broker: SecureBroker, tmp_path: Path) -> None:
    """A wrong password is reported, not a downgrade and not a dead door: the gate
    decides and queues; the broker lets nothing of it through."""
    seed(pg_url)
    hub = start_hub(pg_url, secure_broker, tmp_path, f"hub-{uuid.uuid4().hex[:6]}")
    mqtt = MqttConfig(url=secure_broker.url, ca_file=str(secure_broker.ca_file), keepalive_s=5)
    gate = build_agent(AgentConfig(
        device=GATE, school=SCHOOL, role="gate", mqtt=mqtt, heartbeat_s=3600,
        outbox=OutboxConfig(path=tmp_path / f"{GATE}.sqlite3"), gate=GateConfig(),
    ), cards=CARDS, relay=NoopRelay(), password="an-old-password")
    assert isinstance(gate, GateAgent)
    try:
        gate.start()
        outcome = gate.handle_tap("04A1B2C3")
        assert outcome is not None and outcome.decision.decision == "granted"
        assert is_v5(gate.link.client)
        # (the hub is admitted, so the refused client is the gate; Mosquitto names it
        # <unknown> since it never got in)
        wait_until(lambda: "disconnected, not authorised"
                   in secure_broker.log.read_text(errors="replace"),
                   what="the broker refusing the gate")
        assert not gate.link.connected
        assert len(gate.outbox) >= 1  # the tap waits for a connection the broker admits
        assert stored(pg_url) == []
    finally:
        gate.stop()
        hub.stop()
