"""`smartschool users ...` and the account API against the real PostgreSQL: an account made
on the command line logs in through the API and holds exactly the classes assigned to it;
admins' limits hold; bad input is a 4xx with a message, never a 500."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from core.settings import Settings, get_settings
from hub.accounts.auth import create_token, create_user, ensure_admin
from hub.api.app import create_app
from smartschool.cli import app as cli_app
from tests.integration.test_notify_support import seed

pytestmark = pytest.mark.integration

ADMIN_PASSWORD = "admin-pass-123"
PASSWORD = "gv-an-pass-123"
DAY = "2025-09-08"
# thcs-a has 6A1 (HS001-HS004, from the notify seed) and 6A2 (HS005); th-b has 1B1.
MORE = """
insert into classes (school_id, name, grade) values ('thcs-a', '6A2', 6), ('th-b', '1B1', 1);
insert into students (code, school_id, class_id, full_name, birth_date, gender) values
    ('HS005', 'thcs-a', (select id from classes where name = '6A2'), 'Võ Văn Em',
     '2014-02-03', 'M');
"""


SECRET = "k" * 48
# Accounts in every test's database: the district admin `admin`, then these.
STAFF = {
    "sa": ("school_admin", "thcs-a"),
    "sb": ("school_admin", "th-b"),
    "gv": ("teacher", "thcs-a"),
    "gv.b": ("teacher", "th-b"),
    "fm": ("facility_manager", "thcs-a"),
    "cr": ("control_room", None),
}


@pytest.fixture(scope="module")
def template() -> Iterator[str]:
    """A migrated, seeded database with the staff accounts, copied for each test: hashing
    passwords and migrating once per module instead of once per case."""
    from hub.db import migrate
    from tests.conftest import ADMIN_PG, _db_url

    name = f"ss_test_users_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_PG, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        url = _db_url(name)
        migrate(url)
        seed(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(MORE.encode())
            ensure_admin(conn, password=ADMIN_PASSWORD)
            for username, (role, school) in STAFF.items():
                create_user(conn, username=username, password=PASSWORD,
                            role=role, school_id=school)  # type: ignore[arg-type]
        yield name
    finally:
        with psycopg.connect(ADMIN_PG, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def db(template: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from tests.conftest import ADMIN_PG, _db_url

    name = f"ss_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_PG, autocommit=True) as conn:
        conn.execute(f'create database "{name}" template "{template}"')
    monkeypatch.setenv("SMARTSCHOOL_DATABASE_URL", _db_url(name))
    get_settings.cache_clear()
    try:
        yield _db_url(name)
    finally:
        get_settings.cache_clear()
        with psycopg.connect(ADMIN_PG, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def client(db: str, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, secret_key=SECRET),
                     database_url=db, mqtt_display="mqtt://127.0.0.1:1883")
    with TestClient(app) as c:
        yield c


def users(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli_app, ["users", *args], input=stdin)


def ok(*args: str, stdin: str | None = None) -> str:
    result = users(*args, stdin=stdin)
    assert result.exit_code == 0, result.output
    return result.stdout


def token(c: TestClient, username: str, password: str = PASSWORD) -> int | dict[str, str]:
    """The auth header, or the status of a refused login."""
    r = c.post("/api/v1/auth/token", data={"username": username, "password": password})
    if r.status_code != 200:
        return int(r.status_code)
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def auth(c: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    h = token(c, username, password)
    assert isinstance(h, dict), h
    return h


def correct(c: TestClient, h: dict[str, str], student: str) -> int:
    r = c.post(f"/api/v1/attendance/{student}/{DAY}/correction", headers=h,
               json={"status": "excused", "reason": "Ốm, có giấy xin phép"})
    assert r.status_code != 500, r.text
    return int(r.status_code)


def class_id(url: str, school: str, name: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("select id from classes where school_id = %s and name = %s",
                           (school, name)).fetchone()
    assert row is not None
    return int(row[0])


def add_teacher(username: str = "gv.an", school: str = "thcs-a") -> None:
    ok("add", username, "--role", "teacher", "--school", school, "--password-stdin",
       stdin=PASSWORD + "\n")


# --- the command line ------------------------------------------------------------------


def test_cli_teacher_corrects_only_their_class_until_disabled(client: TestClient) -> None:
    out = ok("add", "gv.an", "--role", "teacher", "--school", "thcs-a",
             "--full-name", "Cô Nguyễn Thị An", "--password-stdin", stdin=PASSWORD + "\n")
    assert out.strip() == "added teacher gv.an of thcs-a"
    out = ok("assign-class", "gv.an", "--school", "thcs-a", "--class", "6A1")
    assert out.strip() == "class 6A1 of thcs-a: teacher gv.an"

    h = auth(client, "gv.an")
    me = client.get("/api/v1/me", headers=h).json()
    assert me == {"username": "gv.an", "role": "teacher", "school": "thcs-a",
                  "full_name": "Cô Nguyễn Thị An"}
    assert correct(client, h, "HS001") == 201  # 6A1: theirs
    assert correct(client, h, "HS005") == 403  # 6A2: the same school, not theirs

    ok("disable", "gv.an")
    assert client.get("/api/v1/me", headers=h).status_code == 401  # the token stops at once
    assert token(client, "gv.an") == 401
    ok("enable", "gv.an")
    assert correct(client, auth(client, "gv.an"), "HS001") == 201

    out = ok("unassign-class", "gv.an", "--school", "thcs-a", "--class", "6A1")
    assert out.strip() == "class 6A1 of thcs-a: no teacher (was gv.an)"
    assert correct(client, auth(client, "gv.an"), "HS001") == 403


def test_cli_generated_password_list_and_set_password(client: TestClient) -> None:
    # CliRunner's stdin is no terminal: the password is generated and shown once.
    out = ok("add", "kt.binh", "--role", "facility_manager", "--school", "thcs-a")
    line = next(x for x in out.splitlines() if x.startswith("password for kt.binh: "))
    generated = line.removeprefix("password for kt.binh: ")
    assert len(generated) >= 16
    assert token(client, "kt.binh", generated) != 401

    add_teacher()
    ok("assign-class", "gv.an", "--school", "thcs-a", "--class", "6A2")
    ok("assign-class", "gv.an", "--school", "thcs-a", "--class", "6A1")
    ok("add", "tt", "--role", "control_room", "--password-stdin", stdin=PASSWORD + "\n")
    listing = ok("list")
    assert "$argon2" not in listing and generated not in listing
    lines = listing.splitlines()
    assert lines[0].split() == ["USERNAME", "ROLE", "SCHOOL", "FULL", "NAME", "STATE",
                                "CLASSES"]
    rows = {ln.split()[0]: ln.split() for ln in lines[1:]}
    assert rows["admin"][:3] == ["admin", "district_admin", "-"]
    assert rows["gv.an"] == ["gv.an", "teacher", "thcs-a", "-", "active", "6A1,", "6A2"]
    assert set(rows) == {"admin", *STAFF, "tt", "gv.an", "kt.binh"}
    assert ok("list", "--school", "thcs-a", "--role", "teacher").count("\n") == 3  # gv, gv.an
    assert '"classes": [{"id":' in ok("list", "--json", "--role", "teacher")

    out = ok("set-password", "gv.an", "--password-stdin", stdin="mật-khẩu-mới-2025\n")
    assert out.strip() == "password of gv.an changed"
    assert token(client, "gv.an") == 401
    assert isinstance(token(client, "gv.an", "mật-khẩu-mới-2025"), dict)
    out = ok("set-password", "gv.an")
    assert out.startswith("password of gv.an changed\npassword for gv.an: ")


# (arguments, stdin, exit code, message on stderr)
REFUSALS: list[tuple[list[str], str | None, int, str]] = [
    (["add", "gv.x", "--role", "teacher"], None, 2,
     "a teacher acts for one school: give the school"),
    (["add", "tt", "--role", "control_room", "--school", "thcs-a"], None, 2,
     "a control_room acts for the whole district: give no school"),
    (["add", "gv.x", "--role", "teacher", "--school", "nowhere"], None, 2,
     "school 'nowhere' does not exist"),
    (["add", "gv x", "--role", "teacher", "--school", "thcs-a"], None, 2, "username 'gv x'"),
    (["add", "gv.x", "--role", "principal"], None, 2, "role 'principal': one of"),
    (["add", "gv.x", "--role", "teacher", "--school", "thcs-a", "--password-stdin"],
     "short\n", 2, "password: at least 10 characters"),
    (["add", "gv", "--role", "teacher", "--school", "th-b"], None, 1,
     "account 'gv' already exists"),
    (["add", "GV", "--role", "teacher", "--school", "thcs-a"], None, 1,
     "account 'gv' already exists"),
    (["assign-class", "fm", "--school", "thcs-a", "--class", "6A1"], None, 2,
     "fm is a facility_manager, not a teacher"),
    (["assign-class", "gv.b", "--school", "thcs-a", "--class", "6A1"], None, 2,
     "gv.b teaches at th-b, not thcs-a"),
    (["assign-class", "nobody", "--school", "thcs-a", "--class", "6A1"], None, 2,
     "no account 'nobody'"),
    (["assign-class", "gv", "--school", "thcs-a", "--class", "9Z9"], None, 1,
     "no class '9Z9' in school 'thcs-a'"),
    (["unassign-class", "gv", "--school", "thcs-a", "--class", "6A2"], None, 1,
     "class 6A2 of thcs-a is without a teacher, not gv"),
    (["disable", "nobody"], None, 1, "no account 'nobody'"),
    (["disable", "admin"], None, 1, "admin is the last active district admin"),
    (["set-password", "nobody", "--password-stdin"], "x" * 12 + "\n", 1,
     "no account 'nobody'"),
    (["list", "--role", "boss"], None, 2, "role 'boss'"),
    (["list", "--school", "THCS\x00"], None, 2, "school 'THCS\\x00' is not a school code"),
]


@pytest.mark.parametrize(("args", "stdin", "code", "message"), REFUSALS,
                         ids=[" ".join(a[:2]) + f" {i}" for i, (a, *_) in enumerate(REFUSALS)])
def test_cli_refusals(db: str, args: list[str], stdin: str | None, code: int,
                      message: str) -> None:
    before = ok("list", "--json")
    result = users(*args, stdin=stdin)
    assert result.exit_code == code, result.output
    assert f"error: {message}" in result.stderr
    assert ok("list", "--json") == before  # nothing changed


def test_cli_help_everywhere() -> None:
    for command in ([], ["add"], ["list"], ["set-password"], ["disable"], ["enable"],
                    ["assign-class"], ["unassign-class"]):
        result = users(*command, "--help")
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.stdout


def test_cli_without_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMARTSCHOOL_DATABASE_URL", raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no .env here
    get_settings.cache_clear()
    try:
        result = users("list")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "SMARTSCHOOL_DATABASE_URL is not set" in result.stderr


# --- the API ---------------------------------------------------------------------------


def api_user(c: TestClient, admin: dict[str, str], username: str, role: str,
             school: str | None) -> None:
    r = c.post("/api/v1/users", headers=admin, json={"username": username, "role": role,
                                                       "school": school,
                                                       "password": PASSWORD})
    assert r.status_code == 201, r.text


@pytest.fixture
def staff(client: TestClient) -> dict[str, dict[str, str]]:
    """Headers of `admin` and the STAFF accounts. Signed here rather than by logging in:
    logins (argon2 on purpose) are tested where they matter."""
    return {u: {"Authorization": "Bearer " + create_token(username=u, secret=SECRET,
                                                          ttl=timedelta(hours=1))}
            for u in ("admin", *STAFF)}


def test_api_create_with_generated_password_then_login(client: TestClient,
                                                       staff: dict[str, dict[str, str]]) -> None:
    r = client.post("/api/v1/users", headers=staff["admin"],
                    json={"username": "gv.moi", "role": "teacher", "school": "thcs-a",
                          "full_name": " Thầy Mới "})
    assert r.status_code == 201, r.text
    body = r.json()
    password = body.pop("password")
    assert body.pop("created_at")
    assert body == {"username": "gv.moi", "role": "teacher", "school": "thcs-a",
                    "full_name": "Thầy Mới", "disabled": False, "classes": []}
    assert isinstance(token(client, "gv.moi", password), dict)
    # A given password is never echoed back.
    r = client.post("/api/v1/users", headers=staff["admin"],
                    json={"username": "gv.hai", "role": "teacher", "school": "thcs-a",
                          "password": PASSWORD})
    assert r.status_code == 201 and r.json()["password"] is None


def test_api_list_is_scoped(client: TestClient, staff: dict[str, dict[str, str]]) -> None:
    def names(who: str, query: str = "") -> set[str]:
        r = client.get(f"/api/v1/users{query}", headers=staff[who])
        assert r.status_code == 200, r.text
        assert all("password" not in u and "password_hash" not in u for u in r.json())
        return {u["username"] for u in r.json()}

    assert names("admin") == {"admin", *STAFF}
    assert names("admin", "?school=thcs-a") == {"sa", "gv", "fm"}
    assert names("admin", "?role=control_room") == {"cr"}
    assert names("sa") == {"sa", "gv", "fm"}
    assert names("sa", "?school=th-b") == set()  # filters only narrow
    assert names("sb") == {"sb", "gv.b"}
    for who in ("gv", "fm", "cr"):
        assert client.get("/api/v1/users", headers=staff[who]).status_code == 403
    assert client.get("/api/v1/users").status_code == 401
    assert client.get("/api/v1/users?role=boss", headers=staff["admin"]).status_code == 422


# (who, body, status, message): what POST /users answers.
CREATE_CASES: list[tuple[str, dict[str, Any], int, str | None]] = [
    ("sa", {"username": "gv.2", "role": "teacher", "school": "thcs-a"}, 201, None),
    ("sa", {"username": "kt.2", "role": "facility_manager", "school": "thcs-a"}, 201, None),
    ("sa", {"username": "gv.2", "role": "teacher", "school": "th-b"}, 403,
     "a school admin manages only their school's teachers and facility managers"),
    ("sa", {"username": "bgh.2", "role": "school_admin", "school": "thcs-a"}, 403, None),
    ("sa", {"username": "pgd", "role": "district_admin"}, 403, None),
    ("sa", {"username": "tt.2", "role": "control_room"}, 403, None),
    ("gv", {"username": "gv.2", "role": "teacher", "school": "thcs-a"}, 403,
     "only a district or school admin manages accounts"),
    ("cr", {"username": "gv.2", "role": "teacher", "school": "thcs-a"}, 403, None),
    ("fm", {"username": "gv.2", "role": "teacher", "school": "thcs-a"}, 403, None),
    ("admin", {"username": "bgh.2", "role": "school_admin", "school": "th-b"}, 201, None),
    ("admin", {"username": "pgd.2", "role": "district_admin"}, 201, None),
    ("admin", {"username": "gv.2", "role": "teacher"}, 422,
     "a teacher acts for one school: give the school"),
    ("admin", {"username": "tt.2", "role": "control_room", "school": "thcs-a"}, 422,
     "a control_room acts for the whole district: give no school"),
    ("admin", {"username": "gv.2", "role": "teacher", "school": "nowhere"}, 422,
     "school 'nowhere' does not exist"),
    ("admin", {"username": "gv.2", "role": "teacher", "school": "NO\x00"}, 422,
     "is not a school code"),
    ("admin", {"username": "gv\x00", "role": "teacher", "school": "thcs-a"}, 422, None),
    ("admin", {"username": "gv.2", "role": "root"}, 422, "role 'root'"),
    ("admin", {"username": "gv.2", "role": "teacher", "school": "thcs-a",
               "password": "short"}, 422, "password: at least 10 characters"),
    ("admin", {"username": "gv.2", "role": "teacher", "school": "thcs-a",
               "full_name": "A\x00"}, 422, "full name: no control characters"),
    ("admin", {"username": "gv", "role": "teacher", "school": "thcs-a"}, 409,
     "account 'gv' already exists"),
    ("admin", {"username": "GV", "role": "teacher", "school": "thcs-a"}, 409, None),
    ("admin", {"username": "gv.2", "role": "teacher", "school": "thcs-a", "admin": True},
     422, None),
    ("admin", {"role": "teacher", "school": "thcs-a"}, 422, None),
]


@pytest.mark.parametrize(("who", "body", "code", "message"), CREATE_CASES,
                         ids=[f"{w} {b.get('role')} {c}" for w, b, c, _ in CREATE_CASES])
def test_api_create(client: TestClient, staff: dict[str, dict[str, str]], who: str,
                    body: dict[str, Any], code: int, message: str | None) -> None:
    r = client.post("/api/v1/users", headers=staff[who], json=body)
    assert r.status_code == code, r.text
    if message is not None:
        assert message in r.json()["detail"]


# (who, target, body, status, message): what PATCH /users/{target} answers.
PATCH_CASES: list[tuple[str, str, dict[str, Any], int, str | None]] = [
    ("sa", "gv", {"full_name": "Cô Giáo"}, 200, None),
    ("sa", "gv", {"password": "x" * 12}, 200, None),
    ("sa", "gv", {"role": "facility_manager"}, 200, None),
    ("sa", "gv", {"role": "school_admin"}, 403, None),  # no promoting to admin
    ("sa", "gv", {"school": "th-b"}, 403, None),  # no giving staff away
    ("sa", "sb", {"disabled": True}, 404, "no account 'sb'"),  # another school: invisible
    ("sa", "admin", {"disabled": True}, 404, None),
    ("sa", "cr", {"full_name": "x"}, 404, None),
    ("sa", "sa", {"full_name": "Hiệu trưởng"}, 403, None),  # own record: admins above do it
    ("gv", "gv", {"full_name": "x"}, 403, None),
    ("cr", "gv", {"disabled": True}, 403, None),
    ("admin", "gv", {"role": "control_room"}, 422,
     "a control_room acts for the whole district: give no school"),
    ("admin", "gv", {"role": "control_room", "school": None}, 200, None),
    ("admin", "cr", {"role": "teacher", "school": "th-b"}, 200, None),
    ("admin", "gv", {"school": "nowhere"}, 422, "school 'nowhere' does not exist"),
    ("admin", "gv", {"role": None}, 422, "role cannot be null"),
    ("admin", "gv", {"disabled": None}, 422, "disabled cannot be null"),
    ("admin", "gv", {}, 422, "nothing to change"),
    ("admin", "gv", {"password": "short"}, 422, "password: at least 10 characters"),
    ("admin", "gv", {"username": "gv2"}, 422, None),
    ("admin", "nobody", {"disabled": True}, 404, "no account 'nobody'"),
    ("admin", "bad name", {"disabled": True}, 404, None),
    ("admin", "admin", {"disabled": True}, 403, "you cannot disable your own account"),
    ("admin", "admin", {"role": "control_room"}, 403, None),
    ("admin", "sa", {"role": "district_admin", "school": None}, 200, None),
]


@pytest.mark.parametrize(("who", "target", "body", "code", "message"), PATCH_CASES,
                         ids=[f"{w}->{t} {c}" for w, t, _, c, _ in PATCH_CASES])
def test_api_patch(client: TestClient, staff: dict[str, dict[str, str]], who: str, target: str,
                   body: dict[str, Any], code: int, message: str | None) -> None:
    r = client.patch(f"/api/v1/users/{target}", headers=staff[who], json=body)
    assert r.status_code == code, r.text
    if message is not None:
        assert r.json()["detail"] == message
    if code == 200:
        got = r.json()
        for key, value in body.items():
            if key != "password":
                assert got[key] == value, key
        assert "password" not in got


def test_api_disable_password_and_the_last_admin(client: TestClient,
                                                 staff: dict[str, dict[str, str]]) -> None:
    r = client.patch("/api/v1/users/gv", headers=staff["sa"], json={"disabled": True})
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert client.get("/api/v1/me", headers=staff["gv"]).status_code == 401
    assert token(client, "gv") == 401
    r = client.patch("/api/v1/users/gv", headers=staff["sa"],
                     json={"disabled": False, "password": "mật-khẩu-mới-2025"})
    assert r.status_code == 200
    assert token(client, "gv") == 401
    assert isinstance(token(client, "gv", "mật-khẩu-mới-2025"), dict)

    api_user(client, staff["admin"], "pgd", "district_admin", None)
    pgd = auth(client, "pgd")
    assert client.patch("/api/v1/users/admin", headers=pgd,
                        json={"disabled": True}).status_code == 200
    # pgd is now the only active district admin: nobody may take that away, not even the CLI.
    result = users("disable", "pgd")
    assert result.exit_code == 1 and "last active district admin" in result.stderr


def test_api_class_teacher(db: str, client: TestClient,
                           staff: dict[str, dict[str, str]]) -> None:
    a1 = class_id(db, "thcs-a", "6A1")
    b1 = class_id(db, "th-b", "1B1")

    def put(who: str, cid: int, username: str | None) -> Any:
        return client.put(f"/api/v1/classes/{cid}/teacher", headers=staff[who],
                          json={"username": username})

    assert correct(client, staff["gv"], "HS001") == 403
    r = put("sa", a1, "gv")
    assert r.status_code == 200, r.text
    assert r.json() == {"id": a1, "school": "thcs-a", "name": "6A1", "grade": 6,
                        "homeroom_teacher": None, "teacher": "gv"}
    assert correct(client, staff["gv"], "HS001") == 201
    assert correct(client, staff["gv"], "HS005") == 403

    assert put("sb", a1, "gv").status_code == 404  # another school's class
    assert put("gv", a1, "gv").status_code == 403
    assert put("fm", a1, "gv").status_code == 403
    assert put("cr", a1, "gv").status_code == 403
    assert put("admin", 999_999, "gv").status_code == 404
    for who, cid, username, message in (
        ("sa", a1, "fm", "fm is a facility_manager, not a teacher"),
        ("sa", a1, "gv.b", "gv.b teaches at th-b, not thcs-a"),
        ("admin", b1, "gv", "gv teaches at thcs-a, not th-b"),
        ("sa", a1, "nobody", "no account 'nobody'"),
        ("sa", a1, "bad\x00", "no account 'bad\\x00'"),
    ):
        r = put(who, cid, username)
        assert (r.status_code, r.json()["detail"]) == (422, message)
    assert client.put(f"/api/v1/classes/{a1}/teacher", headers=staff["sa"],
                      json={}).status_code == 422
    assert client.put("/api/v1/classes/0/teacher", headers=staff["sa"],
                      json={"username": None}).status_code == 422

    # The class shows on the teacher's account, and moving the teacher releases it.
    listed = client.get("/api/v1/users?role=teacher", headers=staff["sa"]).json()
    assert [u["classes"] for u in listed if u["username"] == "gv"] == [[{"id": a1,
                                                                         "name": "6A1"}]]
    classes = client.get("/api/v1/classes", headers=staff["gv"]).json()
    assert {(k["name"], k["teacher"]) for k in classes} == {("6A1", "gv"), ("6A2", None)}
    assert client.get("/api/v1/classes", headers=staff["sb"]).json()[0]["name"] == "1B1"
    r = client.patch("/api/v1/users/gv", headers=staff["admin"], json={"school": "th-b"})
    assert r.status_code == 200, r.text
    assert r.json()["released_classes"] == [{"id": a1, "name": "6A1"}]
    assert r.json()["classes"] == []

    assert put("admin", b1, "gv").json()["teacher"] == "gv"
    assert put("admin", b1, None).json()["teacher"] is None
