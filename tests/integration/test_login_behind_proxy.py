"""Login throttling behind a reverse proxy, and the dashboard's Secure cookie (issue #12),
against the real PostgreSQL, the API app and the dashboard's Flask server.

Behind a proxy every request comes from the proxy's address: keyed on it, five typos by
one person would lock out everyone. With the proxy trusted, X-Forwarded-For names the
client; from anyone else the header is ignored, so it cannot be used to dodge the limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from dashboard.app import close_app
from dashboard.app import create_app as create_dashboard
from hub.accounts.auth import LOGIN_MAX_FAILURES, create_user
from hub.api.app import create_app

pytestmark = pytest.mark.integration

SECRET = "proxy-secret-" + "p" * 40
USER, PASSWORD, WRONG = "gv.proxy", "teacher-pass-123", "not-the-password"
PROXY = "10.0.0.5"


def settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, secret_key=SECRET, **extra)


@pytest.fixture
def db(pg_url: str) -> str:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("insert into schools (id, name, level, ward) values"
                     " ('thcs-a', 'THCS A', 'thcs', 'Hải Thành')")
        create_user(conn, username=USER, password=PASSWORD, role="teacher", school_id="thcs-a")
    return pg_url


@pytest.fixture
def api(db: str, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(settings(tmp_path, trusted_proxies=[f"{PROXY}/32"]), database_url=db,
                     mqtt_display="mqtt://127.0.0.1:1883")
    with TestClient(app, client=(PROXY, 40000)) as client:
        yield client


def login(client: TestClient, password: str, forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    r = client.post("/api/v1/auth/token", data={"username": USER, "password": password},
                    headers=headers)
    return r.status_code


def test_the_api_throttles_the_forwarded_client_not_the_proxy(api: TestClient) -> None:
    typist = "203.0.113.7"
    assert [login(api, WRONG, typist) for _ in range(LOGIN_MAX_FAILURES)] == \
        [401] * LOGIN_MAX_FAILURES
    assert login(api, PASSWORD, typist) == 429  # that client is held back
    # everyone else behind the same proxy still signs in
    assert login(api, PASSWORD, "203.0.113.8") == 200
    # a client cannot pick its own key: the proxy appends the real address on the right
    assert login(api, PASSWORD, f"198.51.100.1, {typist}") == 429


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(db: str, tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, trusted_proxies=[f"{PROXY}/32"]), database_url=db,
                     mqtt_display="mqtt://127.0.0.1:1883")
    with TestClient(app, client=("192.0.2.50", 40000)) as client:
        for n in range(LOGIN_MAX_FAILURES):  # a fresh made-up address each time
            assert login(client, WRONG, f"203.0.113.{n}") == 401
        assert login(client, PASSWORD, "203.0.113.99") == 429  # counted against its peer


def test_a_bad_trusted_proxies_entry_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape("'10.0.0.300' is not an address or network")):
        settings(tmp_path, trusted_proxies=["10.0.0.300"])


def _dashboard_login(client: Any, password: str, forwarded: str) -> Any:
    form = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf" value="([^"]+)"', form)
    assert match is not None
    return client.post("/login", data={"username": USER, "password": password,
                                       "csrf": match.group(1)},
                       headers={"X-Forwarded-For": forwarded})


def test_the_dashboard_throttles_the_forwarded_client_and_can_mark_its_cookie_secure(
    db: str, tmp_path: Path,
) -> None:
    app = create_dashboard(settings(tmp_path, trusted_proxies=[PROXY],
                                    dashboard_secure_cookie=True), database_url=db)
    try:
        typist = app.server.test_client()
        typist.environ_base["REMOTE_ADDR"] = PROXY
        for _ in range(LOGIN_MAX_FAILURES):
            assert _dashboard_login(typist, WRONG, "203.0.113.7").status_code == 401
        assert _dashboard_login(typist, PASSWORD, "203.0.113.7").status_code == 429
        colleague = app.server.test_client()
        colleague.environ_base["REMOTE_ADDR"] = PROXY
        done = _dashboard_login(colleague, PASSWORD, "203.0.113.8")
        assert done.status_code == 302
        cookie = done.headers["Set-Cookie"]
        assert "smartschool_dashboard=" in cookie and "; Secure" in cookie
    finally:
        close_app(app)

    plain = create_dashboard(settings(tmp_path), database_url=db)
    try:
        client = plain.server.test_client()
        done = _dashboard_login(client, PASSWORD, "203.0.113.9")
        assert done.status_code == 302
        assert "; Secure" not in done.headers["Set-Cookie"]  # default: plain HTTP works
    finally:
        close_app(plain)
