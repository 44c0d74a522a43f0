"""The compose stack's Mosquitto configuration (deploy/compose/mosquitto/mosquitto.conf
with deploy/mosquitto/hub.conf included) on the real Mosquitto: it starts, takes the hub's
login from the password file, refuses anonymous clients, and the stack's health check
command passes against it (issue #16)."""

from __future__ import annotations

import getpass
import shutil
import subprocess
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import ROOT, free_port, mosquitto_binary, wait_port

pytestmark = pytest.mark.integration
COMPOSE = ROOT / "deploy" / "compose"


def refused(port: int, username: str | None, password: str | None) -> bool:
    """Whether the broker answers the CONNECT with a refusal (read through the loop)."""
    outcome: list[object] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:6]}")
    if username:
        client.username_pw_set(username, password)
    client.on_connect = lambda _c, _u, _f, rc, _p: outcome.append(rc)
    client.connect("127.0.0.1", port)
    for _ in range(20):  # the CONNACK comes at once; 20 s at most
        if outcome:
            break
        client.loop(timeout=1.0)
    assert outcome, "no CONNACK"
    client.disconnect()
    return bool(outcome[0].is_failure)  # type: ignore[attr-defined]


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None or
                    shutil.which("mosquitto_sub") is None,
                    reason="mosquitto_passwd or mosquitto_sub missing (deploy/services.sh "
                           "installs mosquitto and mosquitto-clients)")
def test_compose_broker_config_on_the_real_mosquitto(tmp_path: Path) -> None:
    port = free_port()
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    password = uuid.uuid4().hex
    (secrets / "mqtt_hub_password").write_text(password + "\n")
    passwd = secrets / "mosquitto_passwd"
    passwd.touch(mode=0o600)
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), "hub", password], check=True,
                   timeout=30)
    confd = tmp_path / "conf.d"
    confd.mkdir()
    shutil.copy(ROOT / "deploy" / "mosquitto" / "hub.conf", confd / "hub.conf")
    (tmp_path / "data").mkdir()
    conf = (COMPOSE / "mosquitto" / "mosquitto.conf").read_text(encoding="utf-8")
    for container_path, here in [("/run/secrets/mosquitto_passwd", str(passwd)),
                                 ("/mosquitto/data/", f"{tmp_path}/data/"),
                                 ("/mosquitto/config/conf.d", str(confd)),
                                 ("listener 1883", f"listener {port} 127.0.0.1")]:
        assert container_path in conf
        conf = conf.replace(container_path, here)
    # as root Mosquitto drops to its own user, which cannot read pytest's tmp dirs
    (tmp_path / "mosquitto.conf").write_text(conf + f"user {getpass.getuser()}\n")
    log = (tmp_path / "mosquitto.log").open("wb")
    proc = subprocess.Popen([mosquitto_binary(), "-c", str(tmp_path / "mosquitto.conf")],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port)
        assert not refused(port, "hub", password)
        assert refused(port, None, None)
        assert refused(port, "hub", "wrong")

        # the health check exactly as compose.yaml has it, secrets path and port aside
        stack = yaml.safe_load((COMPOSE / "compose.yaml").read_text(encoding="utf-8"))
        kind, command = stack["services"]["broker"]["healthcheck"]["test"]
        assert kind == "CMD-SHELL"
        command = (command.replace("$$", "$")
                   .replace("/run/secrets/", f"{secrets}/")
                   .replace("-h 127.0.0.1", f"-h 127.0.0.1 -p {port}"))
        check = subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                               timeout=30, check=False)
        assert check.returncode == 0, check.stderr
        assert check.stdout.strip()  # the broker's uptime, read as the hub
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
    text = (tmp_path / "mosquitto.log").read_text(errors="replace")
    assert "Error" not in text, text
