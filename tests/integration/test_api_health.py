"""/api/health (no token, password redacted) and 503 when the database is down."""

from __future__ import annotations

import socket

import psycopg
import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from hub.accounts.auth import ensure_admin
from hub.api import deps
from hub.api.app import create_app
from hub.api.redact import redact_url
from hub.api.routes import health

pytestmark = pytest.mark.integration

ADMIN_PASSWORD = "health-admin-pass-123"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_for(tmp_path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, secret_key="s" * 48)


def test_health_ok_without_token_shows_hosts_only_with_one(pg_url: str, tmp_path) -> None:
    with psycopg.connect(pg_url) as conn:
        ensure_admin(conn, password=ADMIN_PASSWORD)
    app = create_app(settings_for(tmp_path), database_url=pg_url,
                     mqtt_display="mqtt://127.0.0.1:1883")
    with TestClient(app) as client:
        r = client.get("/api/health")
        assert r.status_code == 200
        # where the broker and the database live is not for anyone who asks
        assert r.json() == {"status": "ok", "mqtt": None, "database": None, "detail": None}
        forged = client.get("/api/health", headers={"Authorization": "Bearer not-a-token"})
        assert forged.status_code == 200 and forged.json()["database"] is None
        token = client.post("/api/v1/auth/token", data={
            "username": "admin", "password": ADMIN_PASSWORD}).json()["access_token"]
        r = client.get("/api/health", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "mqtt": "mqtt://127.0.0.1:1883",
                        "database": redact_url(pg_url), "detail": None}


def test_health_degraded_and_routes_503_when_database_down(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "HEALTH_DB_TIMEOUT_S", 0.5)
    monkeypatch.setattr(deps, "POOL_TIMEOUT_S", 0.5)
    url = f"postgresql://hub:s3cret-pw@127.0.0.1:{closed_port()}/smartschool?connect_timeout=1"
    app = create_app(settings_for(tmp_path), database_url=url, mqtt_display="mqtt://x:1883")
    with TestClient(app) as client:
        r = client.get("/api/health")
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "degraded"
        assert "s3cret-pw" not in r.text
        assert body["database"] is None  # no token could be checked: no hosts
        r = client.post("/api/v1/auth/token", data={"username": "admin", "password": "x"})
        assert r.status_code == 503
        assert r.json()["detail"] == "the database is unavailable; try again shortly"
        assert client.get("/api/v1/schools",
                          headers={"Authorization": "Bearer x"}).status_code == 503


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://postgres@127.0.0.1:5432/postgres",
         "postgresql://postgres@127.0.0.1:5432/postgres"),
        ("postgresql://hub:pw@db:5432/ss", "postgresql://hub:***@db:5432/ss"),
        ("postgresql://hub:p%40ss@db/ss", "postgresql://hub:***@db/ss"),
        ("postgres://u:pw@h/d?sslmode=require&password=pw2",
         "postgres://u:***@h/d?sslmode=require&password=***"),
        ("host=db user=hub password=pw dbname=ss", "host=db user=hub password=*** dbname=ss"),
        ("host=db dbname=ss", "host=db dbname=ss"),
        ("host='unterminated", "<unparseable database URL>"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
