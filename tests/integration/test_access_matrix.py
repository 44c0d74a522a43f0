"""The role x endpoint matrix: who may read and act on what, through the real API.

Roles: district admin (all schools), school admin / teacher / facility manager of
school thcs-a, a school admin of another school (th-b), the read-only control room,
and no token at all. Each cell is the status the API must answer; a row reads as
the access policy in one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from hub.accounts.auth import create_user, ensure_admin
from hub.api.app import create_app
from tests.integration.test_notify_support import seed

pytestmark = pytest.mark.integration

PASSWORD = "pass-123456"
DAY = "2025-09-08"
USERS = {
    "da": ("district_admin", None),
    "sa": ("school_admin", "thcs-a"),
    "gv": ("teacher", "thcs-a"),
    "fm": ("facility_manager", "thcs-a"),
    "sb": ("school_admin", "th-b"),
    "cr": ("control_room", None),
}
ROLES = ["da", "sa", "gv", "fm", "sb", "cr", "anon"]

# (method, path, {role: expected status}); "class" in a path is replaced by the class id.
MATRIX: list[tuple[str, str, dict[str, int]]] = [
    # district-wide read views: every signed-in role, school-scoped ones see their school
    ("GET", "/api/v1/schools", dict.fromkeys(ROLES[:-1], 200) | {"anon": 401}),
    ("GET", f"/api/v1/attendance/summary?date={DAY}",
     dict.fromkeys(ROLES[:-1], 200) | {"anon": 401}),
    ("GET", "/api/v1/devices", dict.fromkeys(ROLES[:-1], 200) | {"anon": 401}),
    ("GET", "/api/v1/events", dict.fromkeys(ROLES[:-1], 200) | {"anon": 401}),
    ("GET", "/api/v1/assets", dict.fromkeys(ROLES[:-1], 200) | {"anon": 401}),
    ("GET", "/api/v1/alarms", dict.fromkeys(ROLES[:-1], 200) | {"anon": 401}),
    ("GET", "/api/v1/me", dict.fromkeys(ROLES[:-1], 200) | {"anon": 401}),
    # dead letters name every school's topics: unscoped roles only
    ("GET", "/api/v1/dead-letters",
     {"da": 200, "sa": 403, "gv": 403, "fm": 403, "sb": 403, "cr": 200, "anon": 401}),
    # a class register: the school's staff and the district; not another school, and not
    # the facility manager (equipment, not registers)
    ("GET", f"/api/v1/attendance/register?class_id=class&date={DAY}",
     {"da": 200, "sa": 200, "gv": 200, "fm": 403, "sb": 404, "cr": 200, "anon": 401}),
    ("GET", f"/api/v1/attendance/HS001/{DAY}/corrections",
     {"da": 200, "sa": 200, "gv": 200, "fm": 403, "sb": 404, "cr": 200, "anon": 401}),
    # corrections: the class's teacher and the school's admins; nobody read-only
    ("POST", f"/api/v1/attendance/HS004/{DAY}/correction",
     {"da": 201, "sa": 201, "gv": 201, "fm": 403, "sb": 403, "cr": 403, "anon": 401}),
    # parents' phone numbers: admins only
    ("GET", f"/api/v1/notifications?date={DAY}",
     {"da": 200, "sa": 200, "gv": 403, "fm": 403, "sb": 200, "cr": 403, "anon": 401}),
    # the records (personal data): admins of that school and the district
    ("GET", "/api/v1/records/export?school=thcs-a&kind=students&format=csv",
     {"da": 200, "sa": 200, "gv": 403, "fm": 403, "sb": 403, "cr": 403, "anon": 401}),
    ("GET", "/api/v1/students/HS001",
     {"da": 200, "sa": 200, "gv": 403, "fm": 403, "sb": 404, "cr": 403, "anon": 401}),
    ("GET", "/api/v1/students/HS001/consents",
     {"da": 200, "sa": 200, "gv": 403, "fm": 403, "sb": 404, "cr": 403, "anon": 401}),
    # accounts: the district's admins, and a school's admin for their own school's staff
    ("GET", "/api/v1/users",
     {"da": 200, "sa": 200, "gv": 403, "fm": 403, "sb": 200, "cr": 403, "anon": 401}),
    ("GET", "/api/v1/classes", dict.fromkeys(ROLES[:-1], 200) | {"anon": 401}),
    ("PUT", "/api/v1/classes/class/teacher",
     {"da": 200, "sa": 200, "gv": 403, "fm": 403, "sb": 404, "cr": 403, "anon": 401}),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, int]]:
    # One database for the whole matrix: every cell only reads, or corrects one record.
    from tests.conftest import ADMIN_PG, _db_url

    name = "ss_test_matrix"
    with psycopg.connect(ADMIN_PG, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    url = _db_url(name)
    from hub.db import migrate

    migrate(url)
    seed(url)
    with psycopg.connect(url, autocommit=True) as conn:
        ensure_admin(conn, password=PASSWORD)
        for username, (role, school) in USERS.items():
            create_user(conn, username=username, password=PASSWORD, role=role,  # type: ignore[arg-type]
                        school_id=school)
        conn.execute("update classes set teacher_username = 'gv'")
        row = conn.execute("select id from classes").fetchone()
        assert row is not None
    tmp = tmp_path_factory.mktemp("matrix")
    app = create_app(Settings(_env_file=None, data_dir=tmp, secret_key="k" * 48),
                     database_url=url, mqtt_display="mqtt://127.0.0.1:1883")
    try:
        with TestClient(app) as c:
            yield c, int(row[0])
    finally:
        with psycopg.connect(ADMIN_PG, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def headers(c: TestClient, role: str) -> dict[str, str]:
    if role == "anon":
        return {}
    r = c.post("/api/v1/auth/token", data={"username": role, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.mark.parametrize(("method", "path", "expected"), MATRIX,
                         ids=[f"{m} {p.split('?')[0]}" for m, p, _ in MATRIX])
def test_matrix(client: tuple[TestClient, int], method: str, path: str,
                expected: dict[str, int]) -> None:
    c, class_id = client
    url = (path.replace("class_id=class", f"class_id={class_id}")
           .replace("/classes/class/", f"/classes/{class_id}/"))
    got: dict[str, int] = {}
    for role in ROLES:
        body: dict[str, object] | None = None
        if method == "POST":
            body = {"status": "excused", "reason": f"giấy phép ({role})"}
        elif method == "PUT":
            body = {"username": "gv"}  # the school's own teacher
        r = c.request(method, url, headers=headers(c, role), json=body)
        got[role] = r.status_code
        assert r.status_code != 500, r.text
    assert got == expected


def test_scoped_reads_show_only_the_own_school(client: tuple[TestClient, int]) -> None:
    c, _ = client
    for role, school in (("sa", "thcs-a"), ("gv", "thcs-a"), ("fm", "thcs-a"), ("sb", "th-b")):
        schools = c.get("/api/v1/schools", headers=headers(c, role)).json()
        assert {s["id"] for s in schools} == {school}, role
        events = c.get("/api/v1/events", headers=headers(c, role)).json()
        assert all(e["school"] == school for e in events), role
    everything = c.get("/api/v1/schools", headers=headers(c, "da")).json()
    assert {s["id"] for s in everything} == {"thcs-a", "th-b"}


def test_card_uids_and_names_in_events_by_role(client: tuple[TestClient, int]) -> None:
    """Card UIDs only to roles that manage cards; a facility manager sees decisions, not
    who passed (issue 12). The field stays, null."""
    from tests.conftest import _db_url
    from tests.integration.test_notify_support import GATE, gate_payload, ingest

    c, _ = client
    at = datetime(2025, 9, 8, 6, 50, tzinfo=UTC)
    ingest(_db_url("ss_test_matrix"), [(GATE, gate_payload(900 + n, f"C0{n:03d}", at))
                                       for n in (1, 2)])
    seen = {role: c.get("/api/v1/events", headers=headers(c, role)).json()
            for role in ("da", "sa", "gv", "fm", "cr")}
    assert any(e["card_uid"] for e in seen["da"]) and any(e["card_uid"] for e in seen["sa"])
    assert any(e["person_name"] for e in seen["gv"])
    for role in ("gv", "fm", "cr"):
        assert seen[role] and all("card_uid" in e for e in seen[role]), role
        assert all(e["card_uid"] is None for e in seen[role]), role
    assert all(e["person"] is None and e["person_name"] is None and e["class_name"] is None
               for e in seen["fm"])
    assert [e["decision"] for e in seen["fm"]] == [e["decision"] for e in seen["sa"]]
