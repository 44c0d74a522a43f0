"""Transport rules (issue #11): plain MQTT stays on loopback unless a YAML or the hub's
settings say otherwise; TLS files go with mqtts:// only. Tables of cases."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.mqtt import BrokerAddress, TlsFiles, TransportRefused, transport_problem
from edge.config.mqtt import MqttConfig


@pytest.mark.parametrize(("url", "loopback"), [
    ("mqtt://127.0.0.1:1883", True),
    ("mqtt://127.8.9.10", True),
    ("mqtt://localhost:1883", True),
    ("mqtt://LOCALHOST", True),
    ("mqtt://[::1]:1883", True),
    ("mqtt://10.0.0.5:1883", False),
    ("mqtt://192.168.1.10", False),
    ("mqtt://broker.school.local", False),
    ("mqtt://localhost.evil.example", False),
    ("mqtt://0.0.0.0", False),
    ("mqtts://127.0.0.1:8883", True),
])
def test_loopback(url: str, loopback: bool) -> None:
    assert BrokerAddress.parse(url).loopback is loopback


CA = TlsFiles(ca_file="/etc/smartschool/district-ca.crt")


@pytest.mark.parametrize(("url", "files", "allow", "words"), [
    ("mqtt://127.0.0.1:1883", None, False, None),
    ("mqtt://localhost", None, False, None),
    ("mqtt://10.0.0.5:1883", None, False, "plain MQTT to another machine"),
    ("mqtt://broker.school.local", None, False, "in clear"),
    ("mqtt://10.0.0.5:1883", None, True, None),  # said explicitly
    ("mqtts://broker.school.local", None, False, None),  # the system trust store
    ("mqtts://broker.school.local", CA, False, None),
    ("mqtts://broker.school.local", TlsFiles(CA.ca_file, "/c.pem", "/k.pem"), False, None),
    ("mqtts://broker.school.local", TlsFiles(CA.ca_file, "/both.pem"), False, None),
    ("mqtts://broker.school.local", TlsFiles(CA.ca_file, None, "/k.pem"), False,
     "without its client certificate"),
    ("mqtt://127.0.0.1", CA, False, "use mqtts://"),  # a CA on a plain URL is a mistake
    ("mqtt://10.0.0.5", CA, True, "use mqtts://"),
])
def test_transport_problem(url: str, files: TlsFiles | None, allow: bool,
                           words: str | None) -> None:
    problem = transport_problem(BrokerAddress.parse(url, files), allow_plaintext=allow)
    if words is None:
        assert problem is None
    else:
        assert problem is not None and words in problem


@pytest.mark.parametrize(("section", "error"), [
    ({}, None),  # the default: a broker on the device itself
    ({"url": "mqtt://127.0.0.1:1883"}, None),
    ({"url": "mqtt://10.1.2.3:1883"}, "allow_plaintext: true"),
    ({"url": "mqtt://gate-broker.lan"}, "in clear"),
    ({"url": "mqtt://10.1.2.3:1883", "allow_plaintext": True}, None),
    ({"url": "mqtts://broker.example.vn:8883"}, None),
    ({"url": "mqtts://broker.example.vn:8883", "ca_file": "/etc/ca.crt"}, None),
    ({"url": "mqtts://broker.example.vn", "ca_file": "/etc/ca.crt",
      "cert_file": "/etc/c.pem", "key_file": "/etc/k.pem"}, None),
    ({"url": "mqtt://127.0.0.1", "ca_file": "/etc/ca.crt"}, "use mqtts://"),
    ({"url": "mqtts://broker.example.vn", "key_file": "/etc/k.pem"}, "client certificate"),
    ({"url": "mqtts://broker.example.vn", "allow_plaintext": "yes please"}, "bool"),
])
def test_device_yaml_refuses_plaintext_off_the_device(section: dict[str, object],
                                                      error: str | None) -> None:
    if error is None:
        config = MqttConfig.model_validate(section)
        address = config.address
        assert address.tls or address.loopback or config.allow_plaintext
        assert address.files.ca_file == section.get("ca_file")
    else:
        with pytest.raises(ValidationError, match=error.replace("://", ":/+")):
            MqttConfig.model_validate(section)


def test_addresses_with_other_files_are_other_addresses() -> None:
    # negotiate_protocol remembers versions per address; a different CA is another one
    plain = BrokerAddress.parse("mqtts://b:8883")
    assert plain == BrokerAddress.parse("mqtts://b:8883", TlsFiles())
    assert plain != BrokerAddress.parse("mqtts://b:8883", CA)
    assert str(BrokerAddress.parse("mqtts://b:8883", CA)) == "mqtts://b:8883"


@pytest.mark.parametrize(("url", "settings", "words"), [
    ("mqtt://10.1.2.3:1883", {}, "SMARTSCHOOL_MQTT_ALLOW_PLAINTEXT=true"),
    ("mqtt://broker.district.local", {}, "in clear"),
    ("mqtt://127.0.0.1:1883", {"mqtt_ca_file": "/etc/ca.crt"}, "use mqtts://"),
    ("mqtts://broker.district.local", {"mqtt_key_file": "/etc/k.pem"}, "client certificate"),
])
def test_the_hub_refuses_a_transport_before_starting_anything(
        url: str, settings: dict[str, object], words: str, tmp_path: Path) -> None:
    from core.settings import Settings
    from hub.service import Hub

    with pytest.raises(TransportRefused, match=re.escape(words)):
        Hub(Settings(_env_file=None, data_dir=tmp_path, **settings),  # type: ignore[arg-type]
            database_url="postgresql://nobody@127.0.0.1:1/none", mqtt_url=url)


def test_the_hub_reads_its_tls_files_from_the_settings(tmp_path: Path) -> None:
    from core.settings import Settings
    from hub.service import broker_tls

    settings = Settings(_env_file=None, data_dir=tmp_path, mqtt_ca_file=Path("/etc/ca.crt"),
                        mqtt_cert_file=Path("/etc/hub.pem"))
    assert broker_tls(settings) == TlsFiles("/etc/ca.crt", "/etc/hub.pem", None)
    assert not broker_tls(Settings(_env_file=None, data_dir=tmp_path))


@pytest.mark.parametrize(("url", "ca_file", "allow", "error"), [
    ("mqtt://127.0.0.1:1883", None, False, None),  # the embedded broker
    ("mqtts://broker.district.vn:8883", "/etc/smartschool/district-ca.crt", False, None),
    ("mqtt://10.1.2.3:1883", None, True, None),  # allowed for the hub, so for its agents
    ("mqtt://10.1.2.3:1883", None, False, "in clear"),
])
def test_the_demo_agents_take_the_hubs_transport(
        url: str, ca_file: str | None, allow: bool, error: str | None, tmp_path: Path) -> None:
    from datetime import UTC

    from smartschool.demo.district import generate_district
    from smartschool.demo.simulator import DistrictSimulator

    simulator = DistrictSimulator(generate_district(seed=1, students_target=50), mqtt_url=url,
                                  work_dir=tmp_path, speed=1.0, tz=UTC, ca_file=ca_file,
                                  allow_plaintext=allow)
    if error is not None:
        with pytest.raises(ValidationError, match=error):
            simulator._config("th-x-gate-1", "th-x", "gate", gate={})
        return
    config = simulator._config("th-x-gate-1", "th-x", "gate", gate={})
    assert config.mqtt.address.files.ca_file == ca_file
    assert config.mqtt.allow_plaintext is allow
