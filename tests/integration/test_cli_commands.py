"""The spine's CLI commands run as a user runs them, against a real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from smartschool.cli import app

pytestmark = pytest.mark.integration


@pytest.fixture
def cli_env(empty_pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SMARTSCHOOL_DATABASE_URL", empty_pg_url)
    get_settings.cache_clear()
    yield empty_pg_url
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_migrate_then_register_a_school_and_its_devices(cli_env: str) -> None:
    code, out, _ = run("db", "migrate")
    assert code == 0, out
    assert "applied 0001_core" in out and out.rstrip().splitlines()[-1].startswith(
        "schema at version ")
    again = run("db", "migrate")
    assert again[0] == 0 and "applied" not in again[1]  # idempotent

    assert run("schools", "add", "thcs-hn", "Trường THCS Hòa Nghĩa", "--level", "thcs",
               "--ward", "Hòa Nghĩa")[0] == 0
    code, out, _ = run("devices", "add", "thcs-hn", "thcs-hn-gate-1", "--role", "gate")
    assert code == 0 and "registered to thcs-hn as gate" in out
    code, _, err = run("devices", "add", "no-such-school", "x-gate-1", "--role", "gate")
    assert code == 2 and err.startswith("error: ")
    code, _, err = run("devices", "add", "thcs-hn", "Bad Id", "--role", "gate")
    assert code == 2 and err.startswith("error: ")
    code, out, _ = run("devices", "list")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["id"], r["school"], r["role"]) for r in rows] == [
        ("thcs-hn-gate-1", "thcs-hn", "gate")]
    with psycopg.connect(cli_env) as conn:
        name = conn.execute("select name from schools where id = 'thcs-hn'").fetchone()
    assert name == ("Trường THCS Hòa Nghĩa",)


def test_protocol_schema_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    code, out, _ = run("protocol", "schema", "--output", str(target))
    assert code == 0 and out.strip() == f"wrote {target}"
    schema = json.loads(target.read_text(encoding="utf-8"))
    text = json.dumps(schema)
    for kind in ("gate", "telemetry", "status", "cmd", "reply"):
        assert f'"{kind}"' in text, kind


def test_help_on_every_command_group() -> None:
    for group in ([], ["db"], ["devices"], ["schools"], ["protocol"], ["hub"], ["demo"],
                  ["dashboard"]):
        code, out, _ = run(*group, "--help")
        assert code == 0 and "Usage" in out, group
