"""Keyset cursors on the history lists (issue 15): events, dead letters, notifications and
alarms are still JSON lists, and a full page names the next in X-Next-Cursor; following
the cursors reaches every row once, in the list's order, past the old 1,000-row ceiling;
rows arriving meanwhile do not shift the pages; an edited cursor, or one of another list,
is a 422."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from hub.accounts.auth import create_user
from hub.api.app import create_app

pytestmark = pytest.mark.integration

PASSWORD = "pass-123456"
SEED = """
insert into schools (id, name, level, ward) values ('a', 'THCS A', 'thcs', 'Hải Thành');
insert into devices (id, school_id, role) values ('gate-a1', 'a', 'gate'), ('gate-a2', 'a', 'gate');
insert into students (code, school_id, full_name, birth_date, gender)
    values ('a-p1', 'a', 'Nguyễn Văn An', '2012-01-01', 'M');
-- 1,100 passages on two gates, in pairs that share both clocks (ties the key must break).
insert into gate_events (device_id, seq, ts, received_at, school_id, direction, method,
                         decision, resolved)
select g, n, timestamptz '2025-09-08 06:00+07' + (n / 2) * interval '1 s',
       timestamptz '2025-09-08 06:00+07' + (n / 2) * interval '1 s', 'a', 'in', 'card',
       'granted', false
  from generate_series(1, 550) as n, unnest(array['gate-a1', 'gate-a2']) as g;
-- 1,050 dead letters, many in the same instant.
insert into dead_letters (topic, payload, payload_size, reason, received_at)
select 'ss/v1/a/x/event', '\\x00', 1, 'bad-json',
       timestamptz '2025-09-08 06:00+07' + (n / 10) * interval '1 s'
  from generate_series(1, 1050) as n;
insert into notification_outbox (idempotency_key, student_id, channel, kind, day, payload)
select 'k' || n, (select id from students), 'sms', 'entry', '2025-09-08', '{"text": "x"}'
  from generate_series(1, 1020) as n;
-- 1,040 open alarms of every severity and acknowledgement, many raised together.
insert into alarms (subject, school_id, type, severity, state, message, raised_at,
                    last_raised_at)
select 'asset-' || n, 'a', 'lamp_life',
       (array['critical', 'major', 'minor', 'warning'])[1 + n % 4],
       (array['active_unack', 'active_ack', 'cleared_unack'])[1 + n % 3], 'm',
       timestamptz '2025-09-08 06:00+07',
       timestamptz '2025-09-08 06:00+07' + (n % 7) * interval '1 h'
  from generate_series(1, 1040) as n;
"""


@pytest.fixture
def client(pg_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(SEED.encode())
        create_user(conn, username="da", password=PASSWORD, role="district_admin")
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, secret_key="k" * 48),
                     database_url=pg_url, mqtt_display="mqtt://127.0.0.1:1883")
    with TestClient(app) as c:
        r = c.post("/api/v1/auth/token", data={"username": "da", "password": PASSWORD})
        yield c, {"Authorization": f"Bearer {r.json()['access_token']}"}


def follow(c: TestClient, h: dict[str, str], path: str, limit: int,
           **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {"limit": limit, **params} | ({"cursor": cursor} if cursor else {})
        r = c.get(path, params=query, headers=h)
        assert r.status_code == 200, r.text
        page = r.json()
        assert isinstance(page, list)
        rows += page
        cursor = r.headers.get("X-Next-Cursor")
        if cursor is None:
            return rows
        assert len(page) == limit  # only a full page names a next one


@pytest.mark.parametrize(("path", "key", "params", "total"), [
    ("/api/v1/events", ("device", "seq"), {}, 1100),
    ("/api/v1/dead-letters", ("id",), {}, 1050),
    ("/api/v1/notifications", ("id",), {}, 1020),
    ("/api/v1/alarms", ("id",), {"state": "all"}, 1040),
])
def test_cursors_reach_every_row_once_in_order(
        client: tuple[TestClient, dict[str, str]], path: str, key: tuple[str, ...],
        params: dict[str, Any], total: int) -> None:
    c, h = client
    one_page = c.get(path, params={"limit": 1000, **params}, headers=h)
    assert one_page.status_code == 200 and len(one_page.json()) == 1000
    assert "X-Next-Cursor" in one_page.headers
    pages = follow(c, h, path, 97, **params)
    ids = [tuple(r[k] for k in key) for r in pages]
    assert len(ids) == len(set(ids)) == total
    # The same order as one long page would have: the first 1,000 match it exactly.
    assert pages[:1000] == one_page.json()


def test_new_rows_do_not_shift_the_pages(client: tuple[TestClient, dict[str, str]],
                                         pg_url: str) -> None:
    c, h = client
    r = c.get("/api/v1/dead-letters", params={"limit": 500}, headers=h)
    first = r.json()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("insert into dead_letters (topic, payload, payload_size, reason)"
                     " select 't', '\\x00', 1, 'late' from generate_series(1, 300)")
    rest = follow(c, h, "/api/v1/dead-letters", 1000,
                  cursor=r.headers["X-Next-Cursor"])
    ids = [d["id"] for d in first + rest]
    assert len(ids) == len(set(ids)) == 1050
    assert all(d["reason"] == "bad-json" for d in rest)


def test_cursors_are_checked(client: tuple[TestClient, dict[str, str]]) -> None:
    c, h = client
    events = c.get("/api/v1/events", params={"limit": 5}, headers=h).headers["X-Next-Cursor"]
    body, mac = events.split(".")
    edited = ("A" if body[4] != "A" else "B").join((body[:4], body[5:]))
    for path, cursor in (("/api/v1/events", f"{edited}.{mac}"),
                         ("/api/v1/events", "garbage"),
                         ("/api/v1/alarms", events),
                         ("/api/v1/dead-letters", events),
                         ("/api/v1/notifications", events)):
        r = c.get(path, params={"cursor": cursor}, headers=h)
        assert r.status_code == 422, (path, r.text)
        assert "cursor" in r.json()["detail"]
    r = c.get("/api/v1/events", params={"cursor": "x" * 300}, headers=h)
    assert r.status_code == 422
