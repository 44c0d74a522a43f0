"""GET /api/v1/warnings and POST /api/v1/warnings/run (issue 15) on real PostgreSQL: who
sees what (a school's staff their school, a facility manager the equipment kinds), the
kind and state filters, keyset paging through X-Next-Cursor, 4xx for bad input."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from hub.accounts.auth import create_token
from hub.api.app import create_app
from hub.db import migrate
from hub.warnings import runner
from tests.conftest import ADMIN_PG, _db_url
from tests.integration.test_notify_support import VN
from tests.integration.test_warnings_runner import FAULTY, LAMP, NOW, seed

pytestmark = pytest.mark.integration

SECRET = "warnings-secret-" + "z" * 40
USERS = ("admin", "ht.w", "gv.w", "ql.w", "ht.x")


def _seeded(url: str) -> str:
    seed(url)
    with psycopg.connect(url) as conn:
        runner.run(conn, now=NOW, tz=VN, trigger="test")
    return url


@pytest.fixture
def url(pg_url: str) -> str:
    """A database of this test's own (for tests that change it)."""
    return _seeded(pg_url)


@pytest.fixture(scope="module")
def shared_url() -> Iterator[str]:
    """One database for the tests that only read."""
    name = f"ss_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_PG, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    try:
        migrate(_db_url(name))
        yield _seeded(_db_url(name))
    finally:
        with psycopg.connect(ADMIN_PG, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


class Clients:
    """One app; each account's requests carry its own token."""

    def __init__(self, url: str, tmp: Path) -> None:
        app = create_app(Settings(_env_file=None, data_dir=tmp, secret_key=SECRET),
                         database_url=url, mqtt_display="-")
        self.client = TestClient(app)
        self.client.__enter__()
        self.tokens = {u: create_token(username=u, secret=SECRET, ttl=timedelta(hours=1))
                       for u in USERS}

    def __getitem__(self, username: str) -> _As:
        return _As(self.client, {"Authorization": f"Bearer {self.tokens[username]}"})

    def close(self) -> None:
        self.client.__exit__(None, None, None)


class _As:
    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    def get(self, path: str) -> Any:
        return self.client.get(path, headers=self.headers)

    def post(self, path: str) -> Any:
        return self.client.post(path, headers=self.headers)


@pytest.fixture(scope="module")
def clients(shared_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clients]:
    made = Clients(shared_url, tmp_path_factory.mktemp("warnings-api"))
    yield made
    made.close()


@pytest.fixture
def own_clients(url: str, tmp_path: Path) -> Iterator[Clients]:
    made = Clients(url, tmp_path)
    yield made
    made.close()


def kinds(client: _As, query: str = "") -> list[str]:
    r = client.get(f"/api/v1/warnings{query}")
    assert r.status_code == 200, r.text
    return sorted(w["kind"] for w in r.json())


ALL = sorted(["chronic_absence", "lateness", "rising_absence", "lamp_end_of_life",
              "repeat_fault"])


def test_each_role_sees_its_scope(clients: Clients) -> None:
    assert kinds(clients["admin"]) == ALL
    assert kinds(clients["ht.w"]) == ALL
    assert kinds(clients["gv.w"]) == ALL
    # Equipment, not registers: no pupil's or class's warning for a facility manager.
    assert kinds(clients["ql.w"]) == ["lamp_end_of_life", "repeat_fault"]
    assert kinds(clients["ql.w"], "?kind=chronic_absence") == []
    # Another school's admin sees nothing of thcs-w, and asking for it narrows to nothing.
    assert kinds(clients["ht.x"]) == []
    assert kinds(clients["ht.x"], "?school=thcs-w") == []
    assert kinds(clients["admin"], "?school=th-x") == []


def test_a_warning_carries_its_subject_and_figures(clients: Clients) -> None:
    r = clients["admin"].get("/api/v1/warnings?kind=chronic_absence")
    (w,) = r.json()
    assert (w["student"], w["student_name"], w["class_name"]) == ("W001", "Học sinh 01", "7A")
    assert w["detail"]["absent_days"] == 3 and w["closed_at"] is None
    assert (w["school"], w["school_name"]) == ("thcs-w", "THCS W")
    (lamp,) = clients["ql.w"].get("/api/v1/warnings?kind=lamp_end_of_life").json()
    assert lamp["asset_tag"] == LAMP and lamp["student"] is None
    (fault,) = clients["ql.w"].get("/api/v1/warnings?kind=repeat_fault").json()
    assert fault["subject"] == f"{FAULTY}:projector_error" and fault["detail"]["count"] == 3


def test_closed_warnings_are_listed_apart(own_clients: Clients, url: str) -> None:
    clients = own_clients
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("delete from alarm_log")
        runner.run(conn, now=NOW, tz=VN, trigger="test")
    assert "repeat_fault" not in kinds(clients["admin"])
    assert kinds(clients["admin"], "?state=closed") == ["repeat_fault"]
    assert kinds(clients["admin"], "?state=all") == ALL


def test_pages_follow_the_cursor(clients: Clients) -> None:
    admin = clients["admin"]
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        r = admin.get(f"/api/v1/warnings{query}")
        assert r.status_code == 200, r.text
        seen += [w["id"] for w in r.json()]
        cursor = r.headers.get("X-Next-Cursor")
        if cursor is None:
            break
    whole = [w["id"] for w in admin.get("/api/v1/warnings").json()]
    assert seen == whole and len(whole) == 5


@pytest.mark.parametrize("query", ["?kind=nope", "?state=gone", "?limit=0", "?limit=1001",
                                   "?cursor=not-a-cursor", "?school=bad%00school"])
def test_bad_input_is_a_422(clients: Clients, query: str) -> None:
    r = clients["admin"].get(f"/api/v1/warnings{query}")
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


def test_a_run_on_demand_is_a_district_admins(own_clients: Clients) -> None:
    clients = own_clients
    for user in ("ht.w", "gv.w", "ql.w"):
        r = clients[user].post("/api/v1/warnings/run")
        assert r.status_code == 403, r.text
    r = clients["admin"].post("/api/v1/warnings/run")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == {"as_of", "findings", "opened", "closed", "notified", "seconds"}


def test_without_a_token_it_is_a_401(shared_url: str, tmp_path: Path) -> None:
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, secret_key=SECRET),
                     database_url=shared_url, mqtt_display="-")
    with TestClient(app) as client:
        assert client.get("/api/v1/warnings").status_code == 401
        assert client.post("/api/v1/warnings/run").status_code == 401
