"""Device YAML: the examples load, mistakes are reported as file:field: reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.config import AgentConfig, ConfigError, load_config
from edge.secrets import PASSWORD_ENV, mqtt_password

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "firmware_configs"


def test_gate_example_loads():
    config = load_config(EXAMPLES / "gate.example.yaml")
    assert config.role == "gate" and config.gate is not None
    assert config.gate.direction == "in"
    # relative to the YAML, not to the working directory
    assert config.gate.cards_file == EXAMPLES / "cards.example.yaml"
    assert config.mqtt_username == config.device
    assert config.mqtt.address.tls


def test_classroom_example_loads():
    config = load_config(EXAMPLES / "classroom.example.yaml")
    assert config.role == "classroom" and config.classroom is not None
    assert [a.tag for a in config.classroom.assets] == ["PJ-th-hai-thanh-101"]


def test_example_cards_load():
    from edge.cards.cardlist import load_cards

    cards = load_cards(EXAMPLES / "cards.example.yaml")
    assert cards["04A1B2C4"].person == "th-hai-thanh-00002"


def test_published_schema_is_current():
    published = json.loads((EXAMPLES / "agent.schema.json").read_text())
    assert published == AgentConfig.model_json_schema(), (
        "regenerate: smartschool edge schema > firmware_configs/agent.schema.json"
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "device.yaml"
    path.write_text(text)
    return path


MINIMAL_GATE = "device: g1\nschool: s1\nrole: gate\ngate: {}\n"


def test_minimal_gate_gets_defaults(tmp_path):
    config = load_config(write(tmp_path, MINIMAL_GATE))
    assert config.heartbeat_s == 60
    assert config.gate is not None and config.gate.anti_passback_minutes == 5
    assert config.outbox.synchronous == "full"


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ("device: G1\nschool: s1\nrole: gate\ngate: {}\n", "device", "should match pattern"),
        ("device: g1\nschool: s1\nrole: gate\n", "(top level)", "no gate section"),
        ("device: g1\nschool: s1\nrole: classroom\ngate: {}\n", "(top level)",
         "no classroom section"),
        (MINIMAL_GATE + "classroom: {}\n", "(top level)", "has a classroom section"),
        (MINIMAL_GATE + "mqtt: {password: hunter2}\n", "mqtt", "SMARTSCHOOL_MQTT_PASSWORD"),
        (MINIMAL_GATE + "mqtt: {url: 'http://x'}\n", "mqtt.url", "scheme"),
        (MINIMAL_GATE + "mqtt: {username: other}\n", "(top level)", "broker ACL"),
        (MINIMAL_GATE + "heartbeat_s: 1\n", "heartbeat_s", "greater than or equal to 5"),
        (MINIMAL_GATE + "hearbeat_s: 60\n", "hearbeat_s", "Extra inputs"),
        ("device: g1\nschool: s1\nrole: gate\ngate: {direction: sideways}\n",
         "gate.direction", "'in' or 'out'"),
        ("device: g1\nschool: s1\nrole: gate\ngate: {cards_file: nope.csv}\n",
         "gate.cards_file", "does not exist"),
        ("device: c1\nschool: s1\nrole: classroom\nclassroom:\n  assets: [{tag: A}, {tag: A}]\n",
         "classroom", "repeated: A"),
    ],
)
def test_mistakes_name_file_and_field(tmp_path, text, field, reason):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert any(
        p.startswith(f"{path}:{field}:") and reason in p for p in info.value.problems
    ), info.value.problems


def test_unreadable_and_broken_yaml(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match=r"device.yaml:2: not valid YAML"):
        load_config(write(tmp_path, "device: g1\n  school: [\n"))
    with pytest.raises(ConfigError, match="mapping"):
        load_config(write(tmp_path, "- a\n- b\n"))


def test_password_from_env_then_credentials(tmp_path, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    assert mqtt_password() is None
    (tmp_path / "mqtt-password").write_text("from-systemd\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert mqtt_password() == "from-systemd"
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    assert mqtt_password() == "from-env"


def test_face_gate_example_loads():
    config = load_config(EXAMPLES / "gate-face.example.yaml")
    assert config.gate is not None and config.gate.mode == "card-or-face"
    assert config.gate.face is not None and config.gate.hours is not None
    assert config.gate.hours.schedule().is_open(
        __import__("datetime").datetime(2025, 9, 8, 7, 0)
    )


def test_example_staff_card_has_its_kind():
    from edge.cards.cardlist import load_cards

    assert load_cards(EXAMPLES / "cards.example.yaml")["9C8D7E6F"].kind == "staff"


@pytest.mark.parametrize(
    ("gate", "field", "reason"),
    [
        ("{mode: face}", "gate", "needs a face section"),
        ("{mode: card-and-face}", "gate", "needs a face section"),
        ("{mode: card, face: {}}", "gate", "there is a face section"),
        ("{mode: turnstile}", "gate.mode", "'card'"),
        ("{hours: {windows: [{days: [mon], open: 7:30, close: '17:00'}]}}",
         "gate.hours.windows.0.open", "quotes"),
        ("{hours: {windows: [{days: [mon], open: '17:00', close: '06:30'}]}}",
         "gate.hours.windows.0", "closes at"),
        ("{hours: {windows: [{days: [monday], open: '06:00', close: '07:00'}]}}",
         "gate.hours.windows.0.days.0", "'mon'"),
        ("{feedback: {buzzer_pin: 5, red_pin: 5}}", "gate.feedback", "must differ"),
    ],
)
def test_gate_mode_and_hours_mistakes(tmp_path, gate, field, reason):
    path = write(tmp_path, f"device: g1\nschool: s1\nrole: gate\ngate: {gate}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert any(f":{field}: " in p and reason in p for p in caught.value.problems), \
        caught.value.problems
