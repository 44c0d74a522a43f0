"""Broker provisioning, pure parts: the role ACLs, the plugin's password form, the
generated mosquitto.conf and env file, and the device YAML a bundle carries."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from edge.config import load_config
from hub.broker.acl import (
    FIXED_ACCOUNTS,
    FIXED_ROLES,
    HUB_USER,
    device_grants,
    reads_everything,
)
from hub.broker.config import BrokerPlan, env_file, mosquitto_conf
from hub.broker.dynsec import initial_config, password_fields
from hub.devices.provision import DeviceInfo, device_yaml

S, D = "th-a", "th-a-gate-1"


def _sends(grants: tuple) -> set[str]:
    return {g.topic for g in grants if g.acltype == "publishClientSend"}


def _reads(grants: tuple) -> set[str]:
    subs = {g.topic for g in grants
            if g.acltype == "subscribePattern" and not g.topic.startswith("$share/")}
    recv = {g.topic for g in grants if g.acltype == "publishClientReceive"}
    assert subs == recv, "every readable topic needs both subscribe and receive"
    return recv


@pytest.mark.parametrize(("role", "sends", "reads"), [
    ("gate", {"event", "telemetry", "status", "reply"}, {"cmd", "ack"}),
    ("classroom", {"event", "telemetry", "status", "reply"}, {"cmd", "ack"}),  # issue 14
])
def test_a_device_writes_and_reads_only_its_own_topics(role: str, sends: set[str],
                                                        reads: set[str]) -> None:
    grants = device_grants(role, S, D)
    assert _sends(grants) == {f"ss/v1/{S}/{D}/{ch}" for ch in sends}
    # What the hub sends a device: cmd, and ack where the protocol has it.
    got = _reads(grants)
    assert f"ss/v1/{S}/{D}/cmd" in got
    assert got <= {f"ss/v1/{S}/{D}/{ch}" for ch in reads}
    assert not any("+" in g.topic or "#" in g.topic
                   for g in grants if g.acltype != "unsubscribePattern")


def test_an_unknown_device_role_is_refused() -> None:
    with pytest.raises(ValueError, match="operator"):
        device_grants("operator", S, D)


@pytest.mark.parametrize(("role", "everything"), [
    ("hub", True), ("dashboard", False), ("operator", False), ("admin", False),
])
def test_only_the_hub_reads_the_whole_district(role: str, everything: bool) -> None:
    assert reads_everything(FIXED_ROLES[role]) is everything


def test_the_hub_may_subscribe_as_its_shared_group() -> None:
    from hub.ingest.worker import SHARE_GROUP

    assert ("subscribePattern", f"$share/{SHARE_GROUP}/ss/v1/#") in {
        (g.acltype, g.topic) for g in FIXED_ROLES["hub"]}


def test_only_the_hub_and_operators_send_commands() -> None:
    senders = {name for name, grants in FIXED_ROLES.items()
               if any(t.endswith("/cmd") for t in _sends(grants))}
    assert senders == {"hub", "operator"}


def test_password_form_matches_what_mosquitto_ctrl_writes() -> None:
    # `mosquitto_ctrl dynsec init x.json admin` with password "secretpw" (2.0.11) wrote:
    salt = base64.b64decode("1HCzh6ch2AUa8Uys")
    assert password_fields("secretpw", salt=salt, iterations=101) == {
        "password": "RktOjYoMwNNfXlOFQqCRJNETSp8sjffSZZj84vf0HM5BUHx0G4NgrdXcJOXMQz62cRVy"
                    "MokYfrf5vMSZ+4SZCA==",
        "salt": "1HCzh6ch2AUa8Uys", "iterations": 101}
    fresh = password_fields("secretpw")
    assert fresh["salt"] != "1HCzh6ch2AUa8Uys"  # a new salt each time


def test_initial_config_binds_accounts_and_denies_by_default() -> None:
    config = initial_config({user: f"pw-{user}" for user in FIXED_ACCOUNTS})
    clients = {c["username"]: c for c in config["clients"]}  # type: ignore[index, union-attr]
    assert set(clients) == set(FIXED_ACCOUNTS)
    for user, client in clients.items():
        assert client.get("clientid") == (None if user == HUB_USER else user)
        assert "pw-" not in str(client)  # only the hash is stored
    assert config["defaultACLAccess"] == {"publishClientSend": False,
                                          "publishClientReceive": False,
                                          "subscribe": False, "unsubscribe": True}


@pytest.mark.parametrize(("tls", "listeners", "device_url"), [
    (False, ["listener 1883"], "mqtt://broker.example:1883"),
    (True, ["listener 1883 127.0.0.1", "listener 8883"], "mqtts://broker.example:8883"),
])
def test_conf_and_env(tmp_path: Path, tls: bool, listeners: list[str], device_url: str) -> None:
    plan = BrokerPlan(tmp_path, tls=tls, hostname="broker.example")
    conf = mosquitto_conf(plan).splitlines()
    assert [line for line in conf if line.startswith("listener")] == listeners
    for line in ("allow_anonymous false", "persistence true", "autosave_on_changes true",
                 "max_queued_messages 0", "max_inflight_messages 1000",
                 f"plugin_opt_config_file {tmp_path}/dynamic-security.json"):
        assert line in conf
    assert ("certfile " + str(tmp_path / "tls" / "broker.crt") in conf) is tls
    env = env_file(plan, {user: "pw" for user in FIXED_ACCOUNTS})
    assert f"SMARTSCHOOL_BROKER_DEVICE_URL={device_url}" in env
    assert "SMARTSCHOOL_MQTT_URL=mqtt://127.0.0.1:1883" in env
    assert ("SMARTSCHOOL_BROKER_CA_FILE=" in env) is tls


@pytest.mark.parametrize(("role", "face", "hub_url"), [
    ("gate", False, None),
    ("gate", False, "https://hub.example.vn"),
    ("gate", True, "https://hub.example.vn"),
    ("classroom", False, "https://hub.example.vn"),
])
def test_bundle_yaml_is_a_valid_device_config(tmp_path: Path, role: str, face: bool,
                                              hub_url: str | None) -> None:
    info = DeviceInfo(D if role == "gate" else "th-a-r101", S, role, face)
    path = tmp_path / "device.yaml"
    path.write_text(device_yaml(info, mqtt_url="mqtts://broker.example:8883", ca_file=None,
                                hub_url=hub_url), encoding="utf-8")
    config = load_config(path)
    assert (config.device, config.school, config.role) == (info.id, S, role)
    assert config.mqtt.url == "mqtts://broker.example:8883"
    if role == "gate":
        assert config.gate is not None
        assert (config.gate.sync is not None) is (hub_url is not None)
        assert config.gate.uses_face is face
    else:
        assert config.gate is None and config.classroom is not None


def test_init_never_overwrites_a_broker_setup(tmp_path: Path) -> None:
    from hub.broker.config import BrokerInitError, init_broker

    plan = BrokerPlan(tmp_path / "b", tls=True, hostname="broker.example")
    written = init_broker(plan)
    before = {p: p.read_bytes() for p in written.values()}
    with pytest.raises(BrokerInitError, match="already holds"):
        init_broker(plan)
    assert {p: p.read_bytes() for p in written.values()} == before
    with pytest.raises(BrokerInitError, match="absolute"):
        init_broker(BrokerPlan(Path("relative/dir")))
    with pytest.raises(BrokerInitError, match="differ"):
        init_broker(BrokerPlan(tmp_path / "c", tls=True, port=8883, tls_port=8883))


def test_a_bundle_for_a_plain_broker_says_so_and_loads() -> None:
    """A broker set up without --tls: the bundle's YAML allows plain MQTT in the open,
    and the agent's own config check accepts it; a TLS or loopback URL needs no flag."""
    import yaml

    from edge.config import AgentConfig
    from hub.devices.provision import DeviceInfo, device_yaml

    gate = DeviceInfo(id="gate-x", school="sch-a", role="gate", face=False)
    for url, flagged in (("mqtt://broker.school.lan:1883", True),
                         ("mqtts://broker.school.lan:8883", False),
                         ("mqtt://127.0.0.1:1883", False)):
        doc = yaml.safe_load(device_yaml(gate, mqtt_url=url, ca_file=None, hub_url=None))
        assert doc["mqtt"].get("allow_plaintext", False) is flagged, url
        AgentConfig.model_validate(doc)
