"""The plan's targets (issue #13) against real PostgreSQL through the real API: each
indicator's numerator and denominator on a small seeded district, the ward and school
scopes, school-scoped roles, monthly snapshots that survive later edits, the CLI snapshot
and the Vietnamese XLSX."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from core.settings import Settings
from hub.accounts.auth import create_user, ensure_admin
from hub.api.app import create_app
from hub.kpi import snapshots

pytestmark = pytest.mark.integration

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SECRET = "test-secret-" + "x" * 40
PASSWORD = "admin-pass-123"
PID_M_2015 = "031215000{:03d}"  # Hải Phòng, male, born 2015
MOET = "031000{:04d}"
ALL_DAYS = "{1,2,3,4,5,6,7}"  # open every day: today is always a school day

# Ward 1: s-a (rooms, assets, staff, guardians, a gate) and s-b (nothing but pupils).
# Ward 2: s-c (one pupil, a face gate).
SEED = f"""
insert into schools (id, name, level, ward, school_weekdays) values
    ('s-a', 'Trường THCS A', 'thcs', 'Phường 1', '{ALL_DAYS}'),
    ('s-b', 'Trường THCS B', 'thcs', 'Phường 1', '{ALL_DAYS}'),
    ('s-c', 'Trường Tiểu học C', 'tieu_hoc', 'Phường 2', '{ALL_DAYS}');
insert into rooms (school_id, name) values ('s-a', 'P.101'), ('s-a', 'P.102'),
    ('s-a', 'Văn phòng');
insert into classes (school_id, name, grade, room_id) values
    ('s-a', '6A1', 6, (select id from rooms where name = 'P.101')),
    ('s-a', '6A2', 6, (select id from rooms where name = 'P.102')),
    ('s-b', '6B1', 6, null), ('s-c', '1C1', 1, null);
insert into devices (id, school_id, role, last_seen, state, room_id) values
    ('s-a-gate-1', 's-a', 'gate', now(), 'online', null),
    ('s-c-gate-1', 's-c', 'gate', now(), 'online', null),
    ('s-a-r101', 's-a', 'classroom', now(), 'online', (select id from rooms where name = 'P.101')),
    ('s-a-r102', 's-a', 'classroom', now(), 'online', (select id from rooms where name = 'P.102'));
insert into staff (code, school_id, full_name, personal_id, moet_id, position, gender,
                   birth_date) values
    ('t1', 's-a', 'Giáo viên Một', '031185000007', '0310000901', 'Giáo viên', 'F', '1985-03-01'),
    ('t2', 's-a', 'Giáo viên Hai', null, '0310000902', 'giáo viên chủ nhiệm', 'F', null),
    ('g1', 's-a', 'Bảo vệ', null, null, 'Bảo vệ', 'M', null);
"""


def _asset(tag: str, kind: str, room: str, device: str | None, *, status: str = "in_service",
           serial: str | None = "SN1") -> str:
    dev = "null" if device is None else f"'{device}'"
    ser = "null" if serial is None else f"'{serial}'"
    return (f"insert into assets (tag, type, model, serial, school_id, room_id, purchase_date,"
            f" warranty_end, rated_lamp_hours, status, device_id) values ('{tag}', '{kind}',"
            f" 'M', {ser}, 's-a', (select id from rooms where name = '{room}'), '2022-01-01',"
            f" '2025-01-01', 4000, '{status}', {dev});")


ASSETS = [
    # P.101: computer and projector both heard from today: ready.
    _asset("PC-101", "pc", "P.101", "s-a-r101"),
    _asset("PJ-101", "projector", "P.101", "s-a-r101"),
    # P.102: the projector is in repair: not ready; its record lacks the serial.
    _asset("PC-102", "pc", "P.102", "s-a-r102"),
    _asset("PJ-102", "projector", "P.102", "s-a-r102", status="repair", serial=None),
    # Retired equipment is neither counted nor missing.
    _asset("PJ-OLD", "projector", "Văn phòng", None, status="retired", serial=None),
]

# (code, school, class, personal id, MOET id, guardian channel or None, gate method or None)
PUPILS = [
    ("a1", "s-a", "6A1", PID_M_2015.format(1), MOET.format(1), "sms", "card"),
    ("a2", "s-a", "6A1", PID_M_2015.format(2), MOET.format(2), "sms", "card"),
    ("a3", "s-a", "6A2", PID_M_2015.format(3), MOET.format(3), "none", "card"),
    ("a4", "s-a", "6A2", PID_M_2015.format(4), None, None, None),        # no MOET id
    ("b1", "s-b", "6B1", PID_M_2015.format(5), MOET.format(5), None, None),
    ("b2", "s-b", "6B1", PID_M_2015.format(6), MOET.format(6), None, None),
    ("c1", "s-c", "1C1", PID_M_2015.format(7), MOET.format(7), None, "face"),
]


def seed(url: str) -> None:
    now = datetime.now(VN)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED.encode())
        for statement in ASSETS:
            conn.execute(statement.encode())
        for n, (code, school, cls, pid, moet, channel, method) in enumerate(PUPILS, 1):
            row = conn.execute(
                "insert into students (code, school_id, class_id, full_name, birth_date,"
                " gender, personal_id, moet_id) values (%s, %s, (select id from classes"
                " where name = %s), %s, '2015-05-05', 'M', %s, %s) returning id",
                (code, school, cls, f"Học sinh {code}", pid, moet)).fetchone()
            assert row is not None
            if channel is not None:
                conn.execute(
                    "insert into guardians (student_id, full_name, relation, phone, channel)"
                    " values (%s, 'Mẹ', 'mother', '+84912345678', %s)", (row[0], channel))
            if method is not None:
                conn.execute(
                    "insert into gate_events (device_id, seq, ts, received_at, school_id,"
                    " direction, method, decision, student_id, resolved) values"
                    " (%s, %s, %s, %s, %s, 'in', %s, 'granted', %s, true)",
                    (f"{school}-gate-1", n, now, now, school, method, row[0]))
        # A pupil who left counts nowhere.
        conn.execute("insert into students (code, school_id, full_name, birth_date, gender,"
                     " active) values ('gone', 's-a', 'Đã chuyển', '2015-05-05', 'M', false)")
        ensure_admin(conn, password=PASSWORD)
        create_user(conn, username="admin-b", password=PASSWORD, role="school_admin",
                    school_id="s-b")
        create_user(conn, username="fm-a", password=PASSWORD, role="facility_manager",
                    school_id="s-a")


@pytest.fixture
def url(pg_url: str) -> str:
    seed(pg_url)
    return pg_url


def _client(url: str, tmp_path: Path, username: str) -> TestClient:
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, secret_key=SECRET),
                     database_url=url, mqtt_display="-")
    client = TestClient(app)
    client.__enter__()
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return client


@pytest.fixture
def clients(url: str, tmp_path: Path) -> Iterator[dict[str, TestClient]]:
    made = {u: _client(url, tmp_path, u) for u in ("admin", "admin-b", "fm-a")}
    yield made
    for c in made.values():
        c.__exit__(None, None, None)


def kpi(client: TestClient, query: str = "") -> dict[str, dict[str, Any]]:
    r = client.get(f"/api/v1/kpi{query}")
    assert r.status_code == 200, r.text
    return {row["id"]: row for row in r.json()}


def ratios(rows: dict[str, dict[str, Any]]) -> dict[str, tuple[int, int]]:
    return {k: (v["numerator"], v["denominator"]) for k, v in rows.items()}


def test_the_district_against_the_plan(clients: dict[str, TestClient]) -> None:
    rows = kpi(clients["admin"])
    assert ratios(rows) == {
        "learners_e_records": (6, 7),     # a4 lacks the MOET id; the leaver is not counted
        "teachers_e_records": (1, 2),     # t2 lacks the personal id; the guard is no teacher
        "equipment_e_records": (3, 4),    # PJ-102 lacks its serial; PJ-OLD is retired
        "classrooms_ready": (1, 2),       # P.102's projector is in repair; the office has no class
        "smart_gate_schools": (2, 3),     # s-b's gate took nothing today
        "data_driven_schools": (2, 3),    # s-a 3 of 4 pupils, s-c 1 of 1
        "parents_reachable": (2, 7),      # a3's mother chose no channel
    }
    eq = rows["equipment_e_records"]
    assert (eq["target"], eq["target_year"], eq["value"], eq["met"], eq["shortfall"]) == (
        80.0, 2025, 75.0, False, 1)
    assert rows["classrooms_ready"]["target_year"] is None
    assert rows["learners_e_records"]["value"] == 85.7
    assert rows["learners_e_records"]["name"].startswith("Người học")
    assert all(r["history"] == [] for r in rows.values())


def test_a_ward_and_a_school(clients: dict[str, TestClient]) -> None:
    ward = ratios(kpi(clients["admin"], "?ward=Phường 1"))
    assert ward["learners_e_records"] == (5, 6)
    assert ward["smart_gate_schools"] == (1, 2)
    school = ratios(kpi(clients["admin"], "?school=s-b"))
    assert school["smart_gate_schools"] == (0, 1)
    assert school["data_driven_schools"] == (0, 1)
    assert school["classrooms_ready"] == (0, 0)
    assert kpi(clients["admin"], "?school=s-b")["classrooms_ready"]["value"] is None
    for query in ("?school=nope", "?ward=Phường 9", "?school=s-c&ward=Phường 1",
                  "?month=2020-01", "?month=2100-12"):
        r = clients["admin"].get(f"/api/v1/kpi{query}")
        assert r.status_code == 404, (query, r.text)
    for query in ("?month=2026-13", "?school=a%00b", "?month=0"):
        r = clients["admin"].get(f"/api/v1/kpi{query}")
        assert r.status_code == 422, (query, r.text)


def test_school_scoped_roles_see_their_school(clients: dict[str, TestClient]) -> None:
    assert ratios(kpi(clients["admin-b"]))["learners_e_records"] == (2, 2)
    assert ratios(kpi(clients["admin-b"], "?ward=Phường 1"))["learners_e_records"] == (2, 2)
    for query in ("?school=s-a", "?ward=Phường 2"):
        assert clients["admin-b"].get(f"/api/v1/kpi{query}").status_code == 404
    # Counts, never a person: a facility manager reads them too.
    assert ratios(kpi(clients["fm-a"]))["classrooms_ready"] == (1, 2)
    assert clients["admin"].get("/api/v1/kpi", headers={"Authorization": ""}
                                ).status_code == 401


def test_snapshots_keep_the_month_as_it_was(clients: dict[str, TestClient], url: str,
                                            tmp_path: Path) -> None:
    past = datetime(2025, 10, 31, 20, 0, tzinfo=VN)
    with psycopg.connect(url, autocommit=True) as conn:
        assert snapshots.take_if_month_end(conn, now=past.replace(day=30), tz=VN) is None
        rows = snapshots.take_if_month_end(conn, now=past, tz=VN)
        assert rows == 7 * (1 + 2 + 3)  # district, two wards, three schools
        # Then the clerk fixes a4's MOET id: today's value moves, October's stays.
        conn.execute("update students set moet_id = '0310000004' where code = 'a4'")
    now = kpi(clients["admin"])
    assert ratios(now)["learners_e_records"] == (7, 7)
    assert now["learners_e_records"]["history"] == [
        {"month": "2025-10", "value": 85.7, "numerator": 6, "denominator": 7}]
    october = kpi(clients["admin"], "?month=2025-10")
    assert ratios(october)["learners_e_records"] == (6, 7)
    assert ratios(kpi(clients["admin"], "?month=2025-10&school=s-a"))[
        "learners_e_records"] == (3, 4)
    # The command line takes this month on demand; taking it again replaces it. It runs
    # outside the work tree, so no .env there leaks into it.
    env = {**os.environ, "SMARTSCHOOL_DATABASE_URL": url, "SMARTSCHOOL_TIMEZONE": str(VN)}
    for _ in range(2):
        out = subprocess.run([sys.executable, "-m", "smartschool", "kpi", "snapshot"],
                             cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=120, check=False)
        assert out.returncode == 0, out.stderr
        assert "42 values stored" in out.stdout
    this_month = datetime.now(VN).strftime("%Y-%m")
    history = kpi(clients["admin"])["learners_e_records"]["history"]
    assert [(h["month"], h["numerator"]) for h in history][-1] == (this_month, 7)
    assert len([h for h in history if h["month"] == this_month]) == 1


def test_the_yearly_report_in_vietnamese(clients: dict[str, TestClient]) -> None:
    r = clients["admin"].get("/api/v1/kpi/export?format=xlsx")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "chi-tieu-chuyen-doi-so-" in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert str(rows[0][0]).startswith("Báo cáo chỉ tiêu chuyển đổi số - Toàn quận")
    assert rows[1][:3] == ("Cấp", "Mã đơn vị", "Đơn vị")
    body = rows[2:]
    assert len(body) == 7 * (1 + 2 + 3)
    levels = [row[0] for row in body]
    assert levels[:7] == ["Quận"] * 7 and levels[-7:] == ["Trường"] * 7
    equipment = next(row for row in body if row[0] == "Quận" and row[3] == "equipment_e_records")
    assert equipment[5:] == (80, 2025, 75, 3, 4, 1, "Chưa đạt")
    # A school admin's report holds their school only.
    r = clients["admin-b"].get("/api/v1/kpi/export?format=xlsx")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    assert {row[1] for row in list(sheet.iter_rows(values_only=True))[2:]} == {"s-b"}
    assert clients["admin"].get("/api/v1/kpi/export?format=csv").status_code == 422


def test_the_hourly_maintenance_takes_the_month_on_its_last_day(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.equipment.evaluator import Evaluator

    ev = Evaluator(url, kpi_tz=VN)
    with psycopg.connect(url, autocommit=True) as conn:
        # Not the month's last day (whatever today is, for this run): nothing taken.
        monkeypatch.setattr(snapshots, "is_month_end", lambda _day: False)
        ev._maintain(conn)
        assert conn.execute("select count(*) from kpi_snapshots").fetchone() == (0,)
        # The last day: every hourly run (re)takes the month, the last one wins.
        monkeypatch.setattr(snapshots, "is_month_end", lambda _day: True)
        ev._maintain(conn)
        ev._maintain(conn)
        month = datetime.now(VN).date().replace(day=1)
        assert conn.execute("select count(*), min(month), max(month) from kpi_snapshots"
                            ).fetchone() == (42, month, month)
