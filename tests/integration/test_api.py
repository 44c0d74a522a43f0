"""The hub API against the real PostgreSQL: auth, every route's shape, scoping, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from hub.accounts.auth import create_token, create_user, ensure_admin, get_user, verify_password
from hub.api.app import create_app

pytestmark = pytest.mark.integration

SECRET = "test-secret-" + "x" * 40
ADMIN_PASSWORD = "admin-pass-123"
TEACHER_PASSWORD = "teacher-pass-123"
DAY = "2025-09-05"

SEED = f"""
insert into schools (id, name, level, ward, start_time) values
    ('thcs-a', 'THCS A', 'thcs', 'Phường 1', '07:00'),
    ('th-b', 'Tiểu học B', 'tieu_hoc', 'Phường 2', '07:15');
insert into classes (school_id, name, grade) values ('thcs-a', '6A1', 6), ('th-b', '1B1', 1);
insert into students (code, school_id, class_id, full_name, birth_date, gender) values
    ('HS001', 'thcs-a', (select id from classes where name = '6A1'), 'Nguyễn Văn An',
     '2014-01-02', 'M'),
    ('HS002', 'thcs-a', (select id from classes where name = '6A1'), 'Trần Thị Bình',
     '2014-03-04', 'F'),
    ('HS003', 'thcs-a', (select id from classes where name = '6A1'), 'Lê Văn Cường',
     '2014-05-06', 'M'),
    ('HS101', 'th-b', (select id from classes where name = '1B1'), 'Phạm Thị Dung',
     '2019-07-08', 'F');
insert into cards (uid, student_id) values ('04A1B2C3D4', (select id from students
    where code = 'HS001'));
insert into devices (id, school_id, role, last_seen, state, fw, ip) values
    ('gate-a1', 'thcs-a', 'gate', now(), 'online', '0.1.0', '10.0.0.11'),
    ('class-a1', 'thcs-a', 'classroom', null, 'unknown', null, null),
    ('gate-b1', 'th-b', 'gate', now() - interval '1 hour', 'online', '0.1.0', '10.0.1.11');
insert into gate_events (device_id, seq, ts, received_at, school_id, direction, method,
                         card_uid, person_ref, decision, student_id, resolved) values
    ('gate-a1', 1, '{DAY} 06:50+07', '{DAY} 06:50:01+07', 'thcs-a', 'in', 'card',
     '04A1B2C3D4', null, 'granted', (select id from students where code = 'HS001'), true),
    ('gate-a1', 2, '{DAY} 07:10+07', '{DAY} 07:10:01+07', 'thcs-a', 'in', 'face',
     null, 'HS002', 'granted', (select id from students where code = 'HS002'), true),
    ('gate-a1', 3, '{DAY} 07:20+07', '{DAY} 07:20:01+07', 'thcs-a', 'in', 'card',
     'DEADBEEF', null, 'denied', null, false),
    ('gate-b1', 1, '{DAY} 07:00+07', '{DAY} 07:00:01+07', 'th-b', 'in', 'card',
     null, null, 'granted', (select id from students where code = 'HS101'), true);
insert into attendance_daily (student_id, day, school_id, first_in) values
    ((select id from students where code = 'HS001'), '{DAY}', 'thcs-a', '{DAY} 06:50+07'),
    ((select id from students where code = 'HS002'), '{DAY}', 'thcs-a', '{DAY} 07:10+07'),
    ((select id from students where code = 'HS101'), '{DAY}', 'th-b', '{DAY} 07:00+07');
insert into dead_letters (topic, payload, payload_size, reason, detail, received_at) values
    ('ss/v1/thcs-a/ghost/event', 'x', 1, 'unregistered-device', null, '{DAY} 07:00+07'),
    ('ss/v1/thcs-a/gate-a1/event', 'not json', 8, 'not-json', 'Expecting value',
     '{DAY} 07:05+07');
"""


def settings_for(tmp_path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, secret_key=SECRET)


@pytest.fixture
def seeded(pg_url: str) -> str:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(SEED.encode())
        assert ensure_admin(conn, password=ADMIN_PASSWORD) is None
        create_user(conn, username="gv.binh", password=TEACHER_PASSWORD, role="teacher",
                    school_id="th-b", full_name="Cô Bình")
    return pg_url


@pytest.fixture
def client(seeded: str, tmp_path) -> Iterator[TestClient]:
    app = create_app(settings_for(tmp_path), database_url=seeded,
                     mqtt_display="mqtt://127.0.0.1:1883")
    with TestClient(app) as c:
        yield c


def login(client: TestClient, username: str, password: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return login(client, "admin", ADMIN_PASSWORD)


@pytest.fixture
def teacher(client: TestClient) -> dict[str, str]:
    return login(client, "gv.binh", TEACHER_PASSWORD)


# --- auth ------------------------------------------------------------------------------


def test_login_issues_a_bearer_token(client: TestClient) -> None:
    r = client.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 12 * 60 * 60
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json() == {"username": "admin", "role": "district_admin", "school": None,
                         "full_name": "Administrator"}


# Loops rather than parametrize: each case would otherwise build and migrate a database.
LOGIN_FAILURES = [("admin", "wrong"), ("nobody", ADMIN_PASSWORD), ("ad\x00min", "x"),
                  ("a" * 500, "x"), ("admin", "p" * 5000)]


def test_login_failure_is_401(client: TestClient) -> None:
    for username, password in LOGIN_FAILURES:
        r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
        assert r.status_code == 401, (username[:20], r.text)
        assert r.json()["detail"] == "incorrect username or password"
        assert r.headers["www-authenticate"] == "Bearer"
    r = client.post("/api/v1/auth/token", data={"username": "admin"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "password"]


def test_repeated_failures_are_throttled(client: TestClient) -> None:
    for _ in range(5):
        r = client.post("/api/v1/auth/token", data={"username": "admin", "password": "bad"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", data={"username": "admin", "password": "bad"})
    assert r.status_code == 429
    assert "too many failed logins" in r.json()["detail"]
    assert 1 <= int(r.headers["retry-after"]) <= 60
    # The right password does not get through a throttled account either ...
    r = client.post("/api/v1/auth/token", data={"username": "ADMIN", "password": ADMIN_PASSWORD})
    assert r.status_code == 429
    # ... while another account is unaffected.
    login(client, "gv.binh", TEACHER_PASSWORD)


def test_success_resets_the_failure_count(client: TestClient) -> None:
    for _ in range(4):
        client.post("/api/v1/auth/token", data={"username": "admin", "password": "bad"})
    login(client, "admin", ADMIN_PASSWORD)
    for _ in range(4):
        r = client.post("/api/v1/auth/token", data={"username": "admin", "password": "bad"})
        assert r.status_code == 401


PROTECTED = ["/api/v1/schools", "/api/v1/attendance/summary", "/api/v1/devices",
             "/api/v1/events", "/api/v1/dead-letters", "/api/v1/me"]


def test_routes_need_a_token(client: TestClient) -> None:
    for path in PROTECTED:
        for headers in ({}, {"Authorization": "Bearer not.a.token"},
                        {"Authorization": "Basic YWRtaW46eA=="}):
            r = client.get(path, headers=headers)
            assert r.status_code == 401, (path, headers)
            assert r.headers["www-authenticate"] == "Bearer"


def test_expired_and_foreign_tokens_are_401(client: TestClient) -> None:
    old = create_token(username="admin", secret=SECRET, ttl=timedelta(minutes=1),
                       now=datetime.now(UTC) - timedelta(hours=1))
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 401
    assert r.json()["detail"] == "token expired"
    foreign = create_token(username="admin", secret="another-key-" + "y" * 40,
                           ttl=timedelta(minutes=5))
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {foreign}"}
                      ).status_code == 401


def test_disabled_or_deleted_account_loses_access(client: TestClient, seeded: str,
                                                  teacher: dict[str, str]) -> None:
    assert client.get("/api/v1/me", headers=teacher).status_code == 200
    with psycopg.connect(seeded, autocommit=True) as conn:
        conn.execute("update users set disabled = true where username = 'gv.binh'")
    assert client.get("/api/v1/me", headers=teacher).status_code == 401
    r = client.post("/api/v1/auth/token",
                    data={"username": "gv.binh", "password": TEACHER_PASSWORD})
    assert r.status_code == 401


def test_ensure_admin(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        generated = ensure_admin(conn, password=None)
        assert generated and len(generated) >= 12
        user = get_user(conn, username="admin")
        assert user and user.role == "district_admin"
        assert verify_password(user.password_hash, generated)
        assert ensure_admin(conn, password=None) is None
        assert ensure_admin(conn, password="from-the-environment") is None
        user = get_user(conn, username="admin")
        assert user and verify_password(user.password_hash, "from-the-environment")


def test_create_user_refuses_a_scoped_role_without_school(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn, pytest.raises(ValueError,
                                                                          match="school_id"):
        create_user(conn, username="t", password="p", role="teacher")


# --- routes ----------------------------------------------------------------------------


def test_schools(client: TestClient, admin: dict[str, str]) -> None:
    r = client.get("/api/v1/schools", headers=admin)
    assert r.status_code == 200
    assert r.json() == [
        {"id": "th-b", "name": "Tiểu học B", "level": "tieu_hoc", "ward": "Phường 2",
         "start_time": "07:15", "students": 1, "devices": 1},
        {"id": "thcs-a", "name": "THCS A", "level": "thcs", "ward": "Phường 1",
         "start_time": "07:00", "students": 3, "devices": 2},
    ]


def test_attendance_summary(client: TestClient, admin: dict[str, str]) -> None:
    r = client.get(f"/api/v1/attendance/summary?date={DAY}", headers=admin)
    assert r.status_code == 200
    body = r.json()
    assert body["date"] == DAY
    by_school = {s["school"]: s for s in body["schools"]}
    assert by_school["thcs-a"] == {
        "school": "thcs-a", "name": "THCS A", "level": "thcs", "enrolled": 3, "present": 1,
        "late": 1, "absent": 1, "devices_online": 1, "devices_total": 2,
    }
    assert by_school["th-b"]["present"] == 1
    assert by_school["th-b"]["devices_online"] == 0  # silent for an hour
    assert body["totals"] == {"enrolled": 4, "present": 2, "late": 1, "absent": 1}


def test_attendance_summary_defaults_to_today(client: TestClient, admin: dict[str, str]) -> None:
    body = client.get("/api/v1/attendance/summary", headers=admin).json()
    from zoneinfo import ZoneInfo

    assert body["date"] == datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    assert body["totals"] == {"enrolled": 4, "present": 0, "late": 0, "absent": 4}


def test_devices(client: TestClient, admin: dict[str, str]) -> None:
    rows = client.get("/api/v1/devices", headers=admin).json()
    assert [(d["id"], d["school"], d["role"], d["state"]) for d in rows] == [
        ("gate-b1", "th-b", "gate", "offline"),
        ("class-a1", "thcs-a", "classroom", "unknown"),
        ("gate-a1", "thcs-a", "gate", "online"),
    ]
    assert set(rows[0]) == {"id", "school", "role", "state", "last_seen", "fw", "ip"}
    only_a = client.get("/api/v1/devices?school=thcs-a", headers=admin).json()
    assert {d["id"] for d in only_a} == {"gate-a1", "class-a1"}


def test_events(client: TestClient, admin: dict[str, str]) -> None:
    rows = client.get("/api/v1/events", headers=admin).json()
    assert [(e["device"], e["seq"]) for e in rows] == [
        ("gate-a1", 3), ("gate-a1", 2), ("gate-b1", 1), ("gate-a1", 1)]
    unresolved, face, card = rows[0], rows[1], rows[3]
    assert unresolved["resolved"] is False
    assert unresolved["card_uid"] == "DEADBEEF"
    assert unresolved["decision"] == "denied"
    assert face["person"] == "HS002"
    assert face["method"] == "face"
    assert card["person_name"] == "Nguyễn Văn An"
    assert card["class_name"] == "6A1"
    assert card["direction"] == "in"
    assert card["ts"] == f"{DAY}T06:50:00+07:00"
    assert [e["seq"] for e in client.get("/api/v1/events?device=gate-a1&limit=2",
                                         headers=admin).json()] == [3, 2]
    assert len(client.get("/api/v1/events?school=th-b", headers=admin).json()) == 1


def test_dead_letters(client: TestClient, admin: dict[str, str]) -> None:
    rows = client.get("/api/v1/dead-letters", headers=admin).json()
    assert [(d["topic"], d["reason"]) for d in rows] == [
        ("ss/v1/thcs-a/gate-a1/event", "not-json"),
        ("ss/v1/thcs-a/ghost/event", "unregistered-device"),
    ]
    assert set(rows[0]) == {"id", "topic", "reason", "detail", "payload_size", "received_at"}
    assert len(client.get("/api/v1/dead-letters?limit=1", headers=admin).json()) == 1


def test_unknown_school_or_device_is_an_empty_list(client: TestClient,
                                                   admin: dict[str, str]) -> None:
    for path in ("/api/v1/schools?school=nowhere", "/api/v1/devices?school=nowhere",
                 "/api/v1/events?school=nowhere", "/api/v1/events?device=nowhere"):
        r = client.get(path, headers=admin)
        assert (r.status_code, r.json()) == (200, []), path
    body = client.get(f"/api/v1/attendance/summary?date={DAY}&school=nowhere",
                      headers=admin).json()
    assert body["schools"] == []
    assert body["totals"] == {"enrolled": 0, "present": 0, "late": 0, "absent": 0}


# --- school scope ----------------------------------------------------------------------


def test_school_scoped_user_sees_only_its_school(client: TestClient,
                                                 teacher: dict[str, str]) -> None:
    me = client.get("/api/v1/me", headers=teacher).json()
    assert me == {"username": "gv.binh", "role": "teacher", "school": "th-b",
                  "full_name": "Cô Bình"}
    assert [s["id"] for s in client.get("/api/v1/schools", headers=teacher).json()] == ["th-b"]
    assert [d["id"] for d in client.get("/api/v1/devices", headers=teacher).json()] == [
        "gate-b1"]
    assert {e["school"] for e in client.get("/api/v1/events", headers=teacher).json()} == {
        "th-b"}
    summary = client.get(f"/api/v1/attendance/summary?date={DAY}", headers=teacher).json()
    assert [s["school"] for s in summary["schools"]] == ["th-b"]
    assert summary["totals"] == {"enrolled": 1, "present": 1, "late": 0, "absent": 0}
    # Asking for another school narrows to nothing; it never widens the view.
    for path in ("/api/v1/schools?school=thcs-a", "/api/v1/devices?school=thcs-a",
                 "/api/v1/events?school=thcs-a", "/api/v1/events?device=gate-a1"):
        assert client.get(path, headers=teacher).json() == [], path
    r = client.get("/api/v1/dead-letters", headers=teacher)
    assert r.status_code == 403


def test_scoped_role_without_school_sees_nothing(client: TestClient, seeded: str) -> None:
    with psycopg.connect(seeded, autocommit=True) as conn:
        # Bypasses create_user's check, as a hand-written insert would.
        conn.execute("insert into users (username, password_hash, role) values"
                     " ('orphan', (select password_hash from users where username = 'gv.binh'),"
                     " 'school_admin')")
    headers = login(client, "orphan", TEACHER_PASSWORD)
    assert client.get("/api/v1/schools", headers=headers).json() == []
    assert client.get("/api/v1/devices", headers=headers).json() == []


# --- bad input -------------------------------------------------------------------------


BAD_QUERIES = [
    "/api/v1/attendance/summary?date=05-09-2025",
    "/api/v1/attendance/summary?date=2025-13-01",
    "/api/v1/attendance/summary?date=yesterday",
    "/api/v1/events?limit=0",
    "/api/v1/events?limit=1001",
    "/api/v1/events?limit=abc",
    "/api/v1/dead-letters?limit=0",
    "/api/v1/dead-letters?limit=99999999999999999999",
    "/api/v1/events?school=THCS%20A",
    "/api/v1/events?device=gate%00a1",
    "/api/v1/devices?school=" + "a" * 100,
]


def test_bad_query_is_422(client: TestClient, admin: dict[str, str]) -> None:
    for path in BAD_QUERIES:
        r = client.get(path, headers=admin)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["detail"][0]["msg"]


def test_openapi_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "smartschool hub API"
    assert "/api/v1/attendance/summary" in spec["paths"]
