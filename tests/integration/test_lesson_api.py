"""Lesson registers through the API, on gate and room events stored by the real ingest
path: statuses, the daily register fixed by a sighting, exports, corrections, the school's
"in school, not in class" list, the timetable upload and who may see what."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from hub.accounts.auth import create_user, ensure_admin
from hub.api.app import create_app
from hub.ingest import store
from hub.ingest.routing import Incoming, Registered, Store, route
from tests.integration.test_notify_support import GATE, SCHOOL, VN, gate_payload, seed

pytestmark = pytest.mark.integration

SECRET = "test-secret-" + "x" * 40
PASSWORD = "pass-123456"
ROOM_DEVICE = "room-a-p101"
DAY = "2025-09-08"  # a Monday in the past
TIMETABLE = (
    "Lớp,Thứ,Tiết,Bắt đầu,Kết thúc,Môn,Giáo viên,Phòng\n"
    "6A1,Thứ 2,1,07:00,07:45,Toán,Cô An,P101\n"
    "6A1,Thứ 2,2,07:50,08:35,Ngữ văn,Thầy Bảo,P101\n"
)


def at(hh: int, mm: int) -> datetime:
    return datetime(2025, 9, 8, hh, mm, tzinfo=VN)


def room_payload(seq: int, card: str, when: datetime, **extra: Any) -> bytes:
    return gate_payload(seq, card, when, device=ROOM_DEVICE, room="P101", **extra)


def ingest(url: str, payloads: list[tuple[str, bytes]]) -> None:
    registry = {GATE: Registered(SCHOOL, "gate"), ROOM_DEVICE: Registered(SCHOOL, "classroom")}
    routed = [route(Incoming(f"ss/v1/{SCHOOL}/{d}/event", p, datetime.now(UTC)), registry)
              for d, p in payloads]
    stores = [r for r in routed if isinstance(r, Store)]
    assert len(stores) == len(routed), routed
    with psycopg.connect(url) as conn:
        store.prepare(conn)
        store.write_batch(conn, stores, [], tz="Asia/Ho_Chi_Minh")


@pytest.fixture
def client(pg_url: str, tmp_path: Path) -> Iterator[TestClient]:
    seed(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("insert into devices (id, school_id, role) values (%s, %s, 'classroom')",
                     (ROOM_DEVICE, SCHOOL))
        ensure_admin(conn, password=PASSWORD)
        for name, role, school in (("gv.an", "teacher", SCHOOL), ("gv.khac", "teacher", SCHOOL),
                                   ("bgh.a", "school_admin", SCHOOL),
                                   ("bgh.b", "school_admin", "th-b"),
                                   ("kt", "facility_manager", SCHOOL)):
            create_user(conn, username=name, password=PASSWORD, role=role,  # type: ignore[arg-type]
                        school_id=school)
        conn.execute("update classes set teacher_username = 'gv.an'")
    ingest(pg_url, [
        (GATE, gate_payload(1, "C0001", at(6, 50))),            # An: gate, then both lessons
        (ROOM_DEVICE, room_payload(1, "C0001", at(6, 55))),
        (ROOM_DEVICE, room_payload(2, "C0001", at(7, 48))),
        (GATE, gate_payload(2, "C0002", at(6, 52))),            # Bình: gate, late, then gone
        (ROOM_DEVICE, room_payload(3, "C0002", at(7, 9))),
        (ROOM_DEVICE, room_payload(4, "C0003", at(7, 1))),      # Cường: no gate entry
        (GATE, gate_payload(3, "C0004", at(6, 58))),            # Dung: in school, never in class
    ])
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, secret_key=SECRET),
                     database_url=pg_url, mqtt_display="mqtt://127.0.0.1:1883")
    with TestClient(app) as c:
        h = auth(c, "admin")
        r = c.post("/api/v1/timetable/import", headers=h, data={"school": SCHOOL},
                   files={"file": ("tkb.csv", TIMETABLE.encode(), "text/csv")})
        assert r.status_code == 200, r.text
        yield c


def auth(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def class_id(client: TestClient, h: dict[str, str]) -> int:
    r = client.get(f"/api/v1/timetable?school={SCHOOL}", headers=h)
    assert r.status_code == 200, r.text
    return int(r.json()[0]["class_id"])


def statuses(body: dict[str, Any]) -> list[dict[str, tuple[str, list[str]]]]:
    return [{p["student"]: (p["status"], p["flags"]) for p in lesson["students"]}
            for lesson in body["lessons"]]


def test_lesson_register_statuses_and_flags(client: TestClient) -> None:
    h = auth(client, "gv.an")
    r = client.get(f"/api/v1/attendance/lessons?class_id={class_id(client, h)}&date={DAY}",
                   headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["school_day"] is True and body["class_name"] == "6A1"
    assert [(x["period"], x["subject"], x["room"]) for x in body["lessons"]] == [
        (1, "Toán", "P101"), (2, "Ngữ văn", "P101")]
    assert statuses(body) == [
        {"HS001": ("present", []), "HS002": ("late", []),
         "HS003": ("present", ["no-gate-entry"]),
         "HS004": ("absent", ["in-school-not-in-class"])},
        {"HS001": ("present", []),
         "HS002": ("absent", ["in-school-not-in-class"]),
         "HS003": ("absent", []),  # never through the gate: not "in school" by the gate
         "HS004": ("absent", ["in-school-not-in-class"])},
    ]
    first = body["lessons"][0]
    assert (first["present"], first["late"], first["absent"], first["not_in_class"]) == (2, 1, 1, 1)


def test_a_sighting_fixes_the_daily_register(client: TestClient) -> None:
    h = auth(client, "gv.an")
    r = client.get(f"/api/v1/attendance/register?class_id={class_id(client, h)}&date={DAY}",
                   headers=h)
    assert r.status_code == 200, r.text
    rows = {row["student"]: row for row in r.json()["students"]}
    # Cường never tapped at the gate; the room saw him at 07:01: in school, a minute late
    assert rows["HS003"]["status"] == "late"
    assert rows["HS003"]["first_in"].startswith("2025-09-08T07:01")
    # An's gate entry stays the day's first
    assert rows["HS001"]["first_in"].startswith("2025-09-08T06:50")


def test_corrections_daily_excused_and_per_lesson(client: TestClient) -> None:
    h = auth(client, "gv.an")
    cid = class_id(client, h)
    lessons = client.get(f"/api/v1/attendance/lessons?class_id={cid}&date={DAY}",
                         headers=h).json()["lessons"]
    second = lessons[1]["lesson_id"]
    r = client.post(f"/api/v1/attendance/lessons/{second}/HS002/{DAY}/correction", headers=h,
                    json={"status": "excused", "reason": "Đi y tế"})
    assert r.status_code == 201, r.text
    assert r.json()["before"]["status"] == "absent" and r.json()["after"]["status"] == "excused"
    r = client.post(f"/api/v1/attendance/HS004/{DAY}/correction", headers=h,
                    json={"status": "excused", "reason": "Ốm, mẹ xin phép"})
    assert r.status_code == 201, r.text
    body = client.get(f"/api/v1/attendance/lessons?class_id={cid}&date={DAY}", headers=h).json()
    got = statuses(body)
    assert got[1]["HS002"] == ("excused", ["corrected"])
    assert got[0]["HS004"] == ("excused", ["day-excused"])
    assert got[1]["HS004"] == ("excused", ["day-excused"])

    other = auth(client, "gv.khac")
    r = client.post(f"/api/v1/attendance/lessons/{second}/HS002/{DAY}/correction",
                    headers=other, json={"status": "present", "reason": "x"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/attendance/lessons/999999/HS002/{DAY}/correction", headers=h,
                    json={"status": "present", "reason": "x"})
    assert r.status_code == 404


def test_exports_and_not_in_class_list(client: TestClient) -> None:
    h = auth(client, "bgh.a")
    cid = class_id(client, h)
    r = client.get(f"/api/v1/attendance/lessons?class_id={cid}&date={DAY}&format=csv",
                   headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["Tiết", "Môn", "Phòng", "Mã học sinh", "Họ và tên", "Trạng thái"]
    assert rows[3][:6] == ["1", "Toán", "P101", "HS004", "Phạm Thị Dung", "Vắng"]
    assert rows[3][7] == "Trong trường, không có mặt ở lớp"
    r = client.get(f"/api/v1/attendance/lessons?class_id={cid}&date={DAY}&format=xlsx&lang=en",
                   headers=h)
    assert r.status_code == 200 and r.content[:2] == b"PK"

    r = client.get(f"/api/v1/attendance/lessons/not-in-class?school={SCHOOL}&date={DAY}",
                   headers=h)
    assert r.status_code == 200, r.text
    assert [(x["student"], x["period"]) for x in r.json()] == [
        ("HS004", 1), ("HS004", 2), ("HS002", 2)]
    assert r.json()[0]["entered_at"].startswith("2025-09-08T06:58")


def test_who_sees_what(client: TestClient) -> None:
    cid = class_id(client, auth(client, "admin"))
    url = f"/api/v1/attendance/lessons?class_id={cid}&date={DAY}"
    assert client.get(url, headers=auth(client, "bgh.b")).status_code == 404
    assert client.get(url, headers=auth(client, "kt")).status_code == 403
    assert client.get(url).status_code == 401
    r = client.get(f"/api/v1/attendance/lessons/not-in-class?school={SCHOOL}&date={DAY}",
                   headers=auth(client, "bgh.b"))
    assert r.status_code == 200 and r.json() == []
    r = client.post("/api/v1/timetable/import", headers=auth(client, "bgh.b"),
                    data={"school": SCHOOL},
                    files={"file": ("tkb.csv", TIMETABLE.encode(), "text/csv")})
    assert r.status_code == 403


def test_timetable_upload_reports_rows_and_is_idempotent(client: TestClient) -> None:
    h = auth(client, "bgh.a")
    r = client.post("/api/v1/timetable/import", headers=h, data={"school": SCHOOL},
                    files={"file": ("tkb.csv", TIMETABLE.encode(), "text/csv")})
    assert r.status_code == 200, r.text
    assert (r.json()["unchanged"], r.json()["inserted"]) == (2, 0)
    bad = TIMETABLE + "6A1,Thứ 2,3,08:30,09:15,Sử,Cô An,P101\n"
    r = client.post("/api/v1/timetable/import", headers=h,
                    data={"school": SCHOOL, "dry_run": "true"},
                    files={"file": ("tkb.csv", bad.encode(), "text/csv")})
    assert r.status_code == 422
    assert r.json()["errors"] == [
        "tkb.csv:4:Bắt đầu: overlaps period 2 of 6A1 (row 3, 07:50-08:35)"]
    assert r.json()["written"] is False
