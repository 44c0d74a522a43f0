"""The district daily summary follows the attendance rules, through the API and on the
dashboard's district page alike: per-level and per-school cutoffs, the school calendar
(holidays, make-up days), corrections (excused) and ``pending`` before the absent cutoff.

GET /api/v1/attendance/summary is the older start-time head count; where it differs the
tests say so, so the difference stays deliberate.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from dashboard.data.district import load_district
from hub.accounts.auth import ensure_admin
from hub.api.app import create_app
from hub.attendance import reports
from hub.read import queries

pytestmark = pytest.mark.integration

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SECRET = "test-secret-" + "x" * 40
PASSWORD = "admin-pass-123"
DAY = date(2025, 9, 8)  # a Monday, in the past whatever the clock says
HOLIDAY = date(2025, 9, 2)  # Quốc khánh, a Tuesday: a district holiday
COUNTS = ("enrolled", "present", "late", "absent", "excused", "pending")

# thcs-a: level defaults (start 07:00, late after 0 min, absent after 15).
# mn-b: a kindergarten with its own late cutoff (07:30 + 10 min; absent after the level's
#       30) that keeps HOLIDAY as a make-up day.
# th-c: no students (its tile still shows).
# th-p: open every day, starting 23:00 and absent only 240 min later: whenever the tests
#       run, today is a school day before its absent cutoff.
SEED = """
insert into schools (id, name, level, ward, start_time, late_after_min, absent_after_min,
                     school_weekdays) values
    ('thcs-a', 'Trường THCS A', 'thcs', 'Phường 1', '07:00', null, null, null),
    ('mn-b', 'Trường Mầm non B', 'mam_non', 'Phường 2', '07:30', 10, null, null),
    ('th-c', 'Trường Tiểu học C', 'tieu_hoc', 'Phường 3', '07:00', null, null, null),
    ('th-p', 'Trường Tiểu học P', 'tieu_hoc', 'Phường 4', '23:00', 0, 240,
     '{1,2,3,4,5,6,7}');
insert into classes (school_id, name, grade) values
    ('thcs-a', '6A1', 6), ('mn-b', 'Lá 1', 0), ('th-p', '1P', 1);
insert into school_calendar (day, school_id, kind, note) values
    ('2025-09-02', null, 'holiday', 'Quốc khánh'),
    ('2025-09-02', 'mn-b', 'makeup', 'Học bù');
insert into devices (id, school_id, role, last_seen, state) values
    ('gate-a1', 'thcs-a', 'gate', now(), 'online'),
    ('room-a1', 'thcs-a', 'classroom', null, 'offline'),
    ('gate-b1', 'mn-b', 'gate', now(), 'online'),
    ('gate-p1', 'th-p', 'gate', now(), 'online');
"""
GATES = {"thcs-a": "gate-a1", "mn-b": "gate-b1", "th-p": "gate-p1"}

# (code, school, class, first entry on DAY (local hh:mm) or None, last exit or None)
STUDENTS = [
    ("A1", "thcs-a", "6A1", "06:55", "16:30"),  # present
    ("A2", "thcs-a", "6A1", "07:05", None),  # late (after 07:00)
    ("A3", "thcs-a", "6A1", None, None),  # absent
    ("A4", "thcs-a", "6A1", None, None),  # absent, corrected to excused below
    ("A5", "thcs-a", "6A1", None, "16:40"),  # an exit alone: in school, present
    ("B1", "mn-b", "Lá 1", "07:35", None),  # after 07:30, within its own 10 min: present
    ("B2", "mn-b", "Lá 1", "07:45", None),  # late
    ("B3", "mn-b", "Lá 1", None, None),  # absent
    ("P1", "th-p", "1P", None, None),  # arrives today (below)
    ("P2", "th-p", "1P", None, None),  # not yet arrived today: pending
]


def _at(day: date, hhmm: str) -> datetime:
    hh, mm = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=VN)


def passage(conn: psycopg.Connection[Any], student: int, school: str, day: date,
            first_in: str | None, last_out: str | None) -> None:
    """The gate events (the register reads them) and their rollup row (summaries do)."""
    ins, out = (None if t is None else _at(day, t) for t in (first_in, last_out))
    for direction, ts in (("in", ins), ("out", out)):
        if ts is not None:
            conn.execute(
                "insert into gate_events (device_id, seq, ts, received_at, school_id,"
                " direction, method, decision, student_id, resolved) values (%s,"
                " (select count(*) + 1 from gate_events), %s, %s, %s, %s, 'card', 'granted',"
                " %s, true)", (GATES[school], ts, ts, school, direction, student))
    conn.execute("insert into attendance_daily (student_id, day, school_id, first_in, last_out)"
                 " values (%s, %s, %s, %s, %s)", (student, day, school, ins, out))


def seed(url: str) -> dict[str, int]:
    ids: dict[str, int] = {}
    today = datetime.now(VN).date()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED.encode())
        for code, school, cls, first_in, last_out in STUDENTS:
            row = conn.execute(
                "insert into students (code, school_id, class_id, full_name, birth_date,"
                " gender) values (%s, %s, (select id from classes where name = %s), %s,"
                " '2015-01-02', 'F') returning id",
                (code, school, cls, f"Học sinh {code}"),
            ).fetchone()
            assert row is not None
            ids[code] = row[0]
            if first_in or last_out:
                passage(conn, row[0], school, DAY, first_in, last_out)
        passage(conn, ids["P1"], "th-p", today, "06:00", None)
        # Left the school: never counted.
        conn.execute("insert into students (code, school_id, class_id, full_name, birth_date,"
                     " gender, active) values ('A9', 'thcs-a', (select id from classes"
                     " where name = '6A1'), 'Đã chuyển trường', '2015-01-02', 'M', false)")
        ensure_admin(conn, password=PASSWORD)
    return ids


@pytest.fixture
def url(pg_url: str) -> str:
    seed(pg_url)
    return pg_url


@pytest.fixture
def client(url: str, tmp_path: Any) -> Iterator[TestClient]:
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, secret_key=SECRET),
                     database_url=url, mqtt_display="-")
    with TestClient(app) as c:
        r = c.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
        assert r.status_code == 200, r.text
        c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield c


def daily(client: TestClient, day: date) -> dict[str, dict[str, Any]]:
    r = client.get(f"/api/v1/attendance/daily?date={day}")
    assert r.status_code == 200, r.text
    return {row["school"]: row for row in r.json()["rows"]}


def head_count(client: TestClient, day: date) -> dict[str, dict[str, Any]]:
    r = client.get(f"/api/v1/attendance/summary?date={day}")
    assert r.status_code == 200, r.text
    return {row["school"]: row for row in r.json()["schools"]}


def counts(row: Any) -> tuple[int, ...]:
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    return tuple(get(k) for k in COUNTS)


def test_district_daily_applies_level_and_school_cutoffs(client: TestClient) -> None:
    rows = daily(client, DAY)
    #                              enrolled present late absent excused pending
    assert counts(rows["thcs-a"]) == (5, 2, 1, 2, 0, 0)  # A5's exit alone is present
    assert counts(rows["mn-b"]) == (3, 1, 1, 1, 0, 0)  # B1 within the school's 10 min
    assert counts(rows["th-p"]) == (2, 0, 0, 2, 0, 0)
    assert "th-c" not in rows  # no students, no row
    # The head count splits on the start time only and misses an exit-only day.
    old = head_count(client, DAY)
    assert (old["mn-b"]["present"], old["mn-b"]["late"]) == (0, 2)
    assert (old["thcs-a"]["present"], old["thcs-a"]["absent"]) == (1, 3)


def test_holiday_means_no_absences_unless_the_school_makes_it_up(client: TestClient) -> None:
    rows = daily(client, HOLIDAY)
    for school in ("thcs-a", "th-p"):
        assert rows[school]["school_day"] is False
        assert counts(rows[school]) == (0, 0, 0, 0, 0, 0), school
    # mn-b keeps the district holiday as a make-up day: nobody came, all absent.
    assert rows["mn-b"]["school_day"] is True
    assert counts(rows["mn-b"]) == (3, 0, 0, 3, 0, 0)
    # The head count knows no calendar: everyone is "absent" on the holiday.
    assert head_count(client, HOLIDAY)["thcs-a"]["absent"] == 5


def test_a_correction_to_excused_counts_as_excused(client: TestClient) -> None:
    r = client.post(f"/api/v1/attendance/A3/{DAY}/correction",
                    json={"status": "excused", "reason": "Ốm, mẹ đã xin phép"})
    assert r.status_code == 201, r.text
    # A late arrival corrected to present (a note from the school bus) moves too.
    r = client.post(f"/api/v1/attendance/A2/{DAY}/correction",
                    json={"status": "present", "reason": "Xe đưa đón đến muộn"})
    assert r.status_code == 201, r.text
    assert counts(daily(client, DAY)["thcs-a"]) == (5, 3, 0, 1, 1, 0)
    # The register (the engine over raw passages) tells the same story.
    cid = client.get(f"/api/v1/attendance/daily?date={DAY}&school=thcs-a&by_class=true"
                     ).json()["rows"][0]["class_id"]
    reg = client.get(f"/api/v1/attendance/register?class_id={cid}&date={DAY}").json()
    assert {s["student"]: s["status"] for s in reg["students"]} == {
        "A1": "present", "A2": "present", "A3": "excused", "A4": "absent", "A5": "present"}


def test_before_the_absent_cutoff_a_missing_student_is_pending(client: TestClient,
                                                                url: str) -> None:
    today = datetime.now(VN).date()
    row = daily(client, today)["th-p"]
    assert row["school_day"] is True
    assert counts(row) == (2, 1, 0, 0, 0, 1)
    # The head count already calls P2 absent.
    assert head_count(client, today)["th-p"]["absent"] == 1
    # On DAY itself, with the clock set inside the day: pending until each school's cutoff.
    with psycopg.connect(url) as conn:
        def at(hhmm: str) -> dict[str, tuple[int, ...]]:
            rows = reports.daily_summary(conn, day=DAY, tz=VN, now=_at(DAY, hhmm))
            return {r.school: counts(r) for r in rows}

        # 07:10: thcs-a's absent cutoff is 07:15, mn-b's 08:00.
        assert at("07:10")["thcs-a"] == (5, 2, 1, 0, 0, 2)
        assert at("07:10")["mn-b"] == (3, 1, 1, 0, 0, 1)
        assert at("07:20")["thcs-a"] == (5, 2, 1, 2, 0, 0)
        assert at("07:20")["mn-b"] == (3, 1, 1, 0, 0, 1)
        assert at("08:00")["mn-b"] == (3, 1, 1, 1, 0, 0)


def test_the_district_page_shows_the_same_numbers_as_the_api(client: TestClient,
                                                             url: str) -> None:
    client.post(f"/api/v1/attendance/A4/{DAY}/correction",
                json={"status": "excused", "reason": "Có giấy xin phép"})
    settings = Settings(_env_file=None, timezone="Asia/Ho_Chi_Minh")
    with psycopg.connect(url) as conn:
        for day in (DAY, HOLIDAY):
            page = queries.district_day(
                conn, day=day, tz=VN, now=datetime.now(VN),
                offline_gate_s=settings.offline_after_gate_s,
                offline_classroom_s=settings.offline_after_classroom_s)
            api = daily(client, day)
            assert [r.school for r in page] == ["mn-b", "th-c", "th-p", "thcs-a"]
            # every school with pupils on both sides (the API leaves out th-c, which has
            # none), or an empty API answer would compare nothing
            assert sorted(api) == ["mn-b", "th-p", "thcs-a"], day
            for r in page:
                if r.school != "th-c":
                    assert counts(r) == counts(api[r.school]), (day, r.school)
                    assert r.school_day == api[r.school]["school_day"]
            # th-c has no students: a tile of zeros, on a school day unless the holiday
            th_c = next(r for r in page if r.school == "th-c")
            assert counts(th_c) == (0, 0, 0, 0, 0, 0)
            assert th_c.school_day is (day == DAY)
        a = next(r for r in page if r.school == "thcs-a")
        assert (a.name, a.level, a.devices_online, a.devices_total) == (
            "Trường THCS A", "thcs", 1, 2)
        # What the wall actually loads: today's, by the rules.
        now = datetime.now(VN)
        snap = load_district(conn, settings, now)
        today = daily(client, now.date())
        assert sorted(today) == ["mn-b", "th-p", "thcs-a"]
        assert {r.school: counts(r) for r in snap.schools if r.school != "th-c"} == {
            s: counts(row) for s, row in today.items()}
        assert next(r for r in snap.schools if r.school == "th-p").pending == 1


def test_a_day_without_school_for_everyone(client: TestClient) -> None:
    sunday = DAY - timedelta(days=1)
    rows = daily(client, sunday)
    assert rows["thcs-a"]["school_day"] is False and counts(rows["thcs-a"])[3] == 0
    assert rows["th-p"]["school_day"] is True  # open every day


def test_arrivals_chart_splits_on_each_schools_late_cutoff(url: str) -> None:
    with psycopg.connect(url) as conn:
        buckets = queries.arrivals_by_bucket(conn, day=DAY, tz="Asia/Ho_Chi_Minh",
                                             bucket_minutes=60, school="mn-b")
        # 07:35 is within mn-b's own 10 minutes, 07:45 is not: as daily_summary counts.
        assert [(b.bucket.hour, b.on_time, b.late) for b in buckets] == [(7, 1, 1)]
        everyone = queries.arrivals_by_bucket(conn, day=DAY, tz="Asia/Ho_Chi_Minh",
                                              bucket_minutes=60)
        assert sum(b.on_time for b in everyone) == 2  # A1 06:55, B1 07:35
        assert sum(b.late for b in everyone) == 2  # A2 07:05, B2 07:45
