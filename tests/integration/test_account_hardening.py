"""Issue #12's smaller account items against the real PostgreSQL and API: a password
change ends the account's tokens; weak secrets stop the hub before it starts;
`smartschool settings` never prints the database password."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from core.settings import Settings, get_settings
from hub.accounts.auth import WeakSecretError, create_user, ensure_admin
from hub.api.app import create_app
from smartschool.cli import app as cli_app

pytestmark = pytest.mark.integration

SECRET = "hardening-secret-" + "q" * 40
ADMIN_PASSWORD = "admin-pass-12345"
PASSWORD, NEW_PASSWORD = "teacher-pass-123", "teacher-pass-456"


@pytest.fixture
def client(pg_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("insert into schools (id, name, level, ward) values"
                     " ('thcs-a', 'THCS A', 'thcs', 'Hải Thành')")
        ensure_admin(conn, password=ADMIN_PASSWORD)
        create_user(conn, username="gv", password=PASSWORD, role="teacher", school_id="thcs-a")
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, secret_key=SECRET),
                     database_url=pg_url, mqtt_display="mqtt://127.0.0.1:1883")
    with TestClient(app) as c:
        yield c


def token(client: TestClient, username: str, password: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def cli(args: list[str], monkeypatch: pytest.MonkeyPatch, *, stdin: str | None = None,
        **env: str) -> Result:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli_app, args, input=stdin)
    finally:
        get_settings.cache_clear()


def test_a_password_change_ends_the_accounts_tokens(
    client: TestClient, pg_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = token(client, "admin", ADMIN_PASSWORD)
    teacher = token(client, "gv", PASSWORD)
    assert client.get("/api/v1/me", headers=teacher).status_code == 200

    # through the API, by an admin
    r = client.patch("/api/v1/users/gv", headers=admin, json={"password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    r = client.get("/api/v1/me", headers=teacher)
    assert r.status_code == 401 and "password changed" in r.json()["detail"]
    assert client.get("/api/v1/me", headers=admin).status_code == 200  # others unaffected
    fresh = token(client, "gv", NEW_PASSWORD)
    assert client.get("/api/v1/me", headers=fresh).status_code == 200
    # a change of something else (the name) keeps the tokens
    r = client.patch("/api/v1/users/gv", headers=admin, json={"full_name": "Nguyễn Thị An"})
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/me", headers=fresh).status_code == 200

    # on the command line
    result = cli(["users", "set-password", "gv", "--password-stdin"], monkeypatch,
                 stdin="another-pass-789\n", SMARTSCHOOL_DATABASE_URL=pg_url)
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/me", headers=fresh).status_code == 401
    # the health probe does not take a stale token as a sign-in either
    r = client.get("/api/health", headers=fresh)
    assert r.status_code == 200 and r.json()["database"] is None


def test_a_rehash_on_login_is_not_a_password_change(client: TestClient, pg_url: str) -> None:
    teacher = token(client, "gv", PASSWORD)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        # an old-parameter hash: the next login rehashes it
        from argon2 import PasswordHasher

        weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
        conn.execute("update users set password_hash = %s where username = 'gv'", (weak,))
    token(client, "gv", PASSWORD)
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("select password_hash, password_version from users"
                           " where username = 'gv'").fetchone()
    assert row is not None and row[0] != weak and row[1] == 0  # rehashed, same version
    assert client.get("/api/v1/me", headers=teacher).status_code == 200


@pytest.mark.parametrize("command", [["hub"], ["dashboard"], ["demo", "--duration", "1"]])
def test_weak_secrets_stop_the_start_with_a_clear_message(
    command: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    env = {"SMARTSCHOOL_DATA_DIR": str(tmp_path), "SMARTSCHOOL_MQTT_URL": "mqtt://127.0.0.1:1",
           "SMARTSCHOOL_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    weak_key = cli(command, monkeypatch, SMARTSCHOOL_SECRET_KEY="changeme", **env)
    assert weak_key.exit_code == 2
    assert "SMARTSCHOOL_SECRET_KEY is too short: at least 32 characters" in weak_key.stderr
    weak_admin = cli(command, monkeypatch, SMARTSCHOOL_SECRET_KEY="k" * 40,
                     SMARTSCHOOL_ADMIN_PASSWORD="admin123", **env)
    assert weak_admin.exit_code == 2
    assert "SMARTSCHOOL_ADMIN_PASSWORD: password: at least 10 characters" in weak_admin.stderr
    assert not (tmp_path / "demo").exists()  # refused before anything started


def test_ensure_admin_refuses_a_weak_password(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn, pytest.raises(WeakSecretError):
        ensure_admin(conn, password="admin")
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("select count(*) from users").fetchone() == (0,)


def test_settings_mask_the_database_and_broker_passwords(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = cli(["settings"], monkeypatch,
                 SMARTSCHOOL_DATABASE_URL="postgresql://hub:db-s3cret@db.lan:5432/ss",
                 SMARTSCHOOL_MQTT_URL="mqtt://hub:mq-s3cret@broker.lan:1883",
                 SMARTSCHOOL_SECRET_KEY="key-s3cret-" + "k" * 40)
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.stdout
    shown = json.loads(result.stdout)
    assert shown["database_url"] == "postgresql://hub:***@db.lan:5432/ss"
    assert shown["mqtt_url"] == "mqtt://hub:***@broker.lan:1883"
    assert shown["secret_key"] == "**********"
    # and the retention windows are there to read
    assert shown["notification_retention_days"] == 90
    assert shown["dead_letter_retention_days"] == 30
    assert shown["leaver_retention_days"] == 365
