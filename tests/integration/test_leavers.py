"""People leave (issue #12), end to end on real parts: PostgreSQL, Mosquitto, the hub
(ingest, API, sync publisher) and a gate agent syncing from it.

A pupil recorded as left on the command line is refused at the gate within seconds,
with nobody touching the gate; their face encodings are gone from the hub and the
gate; their registers stay. A transfer takes the card off the old school's gates. The
API refuses what a role may not do, and a second leave, without a 500.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import psycopg
import pytest

from faces.keys import KEY_ENV, new_key
from hub.accounts.auth import create_user
from hub.service import Hub
from tests.conftest import Broker, running_hub, wait_until
from tests.integration.test_device_sync import (
    OLDER,
    OLDER_CARD,
    OTHER,
    SCHOOL,
    YOUNGER,
    YOUNGER_CARD,
    admin,
    base_url,
    card_status,
    issue_token,
    persons,
    run_cli,
    seed,
    start_gate,
    tap,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

VN = ZoneInfo("Asia/Ho_Chi_Minh")
# The publisher compares versions every 3 s, then the gate fetches: well inside this.
REACH_S = 15.0
STAFF_PASSWORD = "school-admin-pass-123"


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> bytes:
    value = new_key()
    monkeypatch.setenv(KEY_ENV, value.decode())
    return value


@pytest.fixture
def hub(pg_url: str, broker: Broker, tmp_path: Path) -> Iterator[Hub]:
    seed(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for username, role, school in (("sa.sync", "school_admin", SCHOOL),
                                       ("sa.other", "school_admin", OTHER),
                                       ("gv.sync", "teacher", SCHOOL)):
            create_user(conn, username=username, password=STAFF_PASSWORD, role=role,
                        school_id=school)  # type: ignore[arg-type]
    with running_hub(pg_url, broker, tmp_path) as service:
        yield service


def as_user(hub: Hub, username: str) -> httpx.Client:
    r = httpx.post(f"{base_url(hub)}/api/v1/auth/token",
                   data={"username": username, "password": STAFF_PASSWORD})
    assert r.status_code == 200, r.text
    return httpx.Client(base_url=base_url(hub), timeout=60,
                        headers={"Authorization": f"Bearer {r.json()['access_token']}"})


def enroll(pg_url: str, code: str) -> None:
    """A face with the guardian's and the pupil's consent, as the enrollment stores it
    (the photo path is test_device_sync's; here only what follows matters)."""
    encoding = np.random.default_rng(7).normal(size=128).astype("<f4")
    encoding /= np.linalg.norm(encoding)
    with psycopg.connect(pg_url, autocommit=True) as conn, conn.transaction():
        sid = conn.execute("select id from students where code = %s", (code,)).fetchone()
        assert sid is not None
        ids = [conn.execute("insert into consents (student_id, given_by, given_by_role,"
                            " given_at, method) values (%s, 'Trần Văn Hùng', %s, now(),"
                            " 'paper form') returning id", (sid[0], role)).fetchone()[0]
               for role in ("guardian", "self")]
        conn.execute("insert into face_enrollments (student_id, encoding, consent_ids)"
                     " values (%s, %s, %s)", (sid[0], encoding.tobytes(), ids))
        conn.execute("insert into gallery_versions (school_id, version) values (%s, 1)"
                     " on conflict (school_id) do update set version ="
                     " gallery_versions.version + 1", (SCHOOL,))


def count(pg_url: str, query: str, *params: object) -> int:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def test_a_leavers_card_is_refused_at_the_gate_within_seconds(
    hub: Hub, broker: Broker, pg_url: str, tmp_path: Path, key: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.integration.test_device_sync import GATE

    monkeypatch.setenv("SMARTSCHOOL_DEVICE_TOKEN", issue_token(pg_url, GATE, monkeypatch))
    enroll(pg_url, OLDER)
    agent = start_gate(hub, broker, tmp_path, key)
    client = admin(hub)
    try:
        wait_until(lambda: card_status(agent, OLDER_CARD) == "active"
                   and persons(agent) == [OLDER], REACH_S, "the first sync")
        # a day at school: the passage reaches the hub's register
        assert tap(agent, OLDER_CARD) == ("granted", None)
        wait_until(lambda: count(pg_url, "select count(*) from attendance_daily a join"
                                 " students s on s.id = a.student_id where s.code = %s",
                                 OLDER) == 1, REACH_S, "the register row")
        events_before = count(pg_url, "select count(*) from gate_events")

        today = datetime.now(VN).date()
        started = time.monotonic()
        result = run_cli(pg_url, ["students", "leave", OLDER, "--date", today.isoformat(),
                                  "--reason", "chuyển nơi ở"], monkeypatch)
        assert result.exit_code == 0, result.output
        assert "1 cards refused" in result.stdout and "1 face encodings deleted" in result.stdout
        wait_until(lambda: card_status(agent, OLDER_CARD) == "blocked" and persons(agent) == [],
                   REACH_S, "the leave at the gate")
        reached = time.monotonic() - started
        assert reached < REACH_S
        assert tap(agent, OLDER_CARD) == ("denied", "card-blocked")
        assert tap(agent, YOUNGER_CARD) == ("granted", None)  # the others still pass

        # the hub: encodings gone, registers and history kept, the move recorded
        assert count(pg_url, "select count(*) from face_enrollments") == 0
        assert count(pg_url, "select count(*) from attendance_daily a join students s"
                     " on s.id = a.student_id where s.code = %s", OLDER) == 1
        assert count(pg_url, "select count(*) from gate_events") >= events_before
        assert count(pg_url, "select count(*) from consents") == 2  # the proof stays
        with psycopg.connect(pg_url) as conn:
            row = conn.execute("select s.active, s.left_on, s.left_reason, m.kind, m.moved_by"
                               " from students s join student_moves m on m.student_id = s.id"
                               " where s.code = %s", (OLDER,)).fetchone()
        assert row is not None
        assert row[:4] == (False, today, "chuyển nơi ở", "leave")
        assert str(row[4]).startswith("cli")

        # twice: refused, the first record stands
        again = run_cli(pg_url, ["students", "leave", OLDER, "--date", today.isoformat()],
                        monkeypatch)
        assert again.exit_code == 1 and "already left" in again.stderr
        r = client.post(f"/api/v1/students/{OLDER}/leave", json={"date": today.isoformat()})
        assert r.status_code == 409, r.text

        # a transfer by the district: the card leaves this school's gates
        r = client.post(f"/api/v1/students/{YOUNGER}/transfer",
                        json={"to": OTHER, "reason": "chuyển trường"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["from_school"], body["to_school"], body["cards"]) == (SCHOOL, OTHER, 1)
        assert set(body["sync_versions"]) == {SCHOOL, OTHER}
        wait_until(lambda: YOUNGER_CARD not in agent._cards, REACH_S, "the transfer at the gate")
        assert tap(agent, YOUNGER_CARD) == ("unknown", "unknown-card")  # the gate stays shut
        assert count(pg_url, "select count(*) from students where code = %s and school_id = %s"
                     " and class_id is null and active", YOUNGER, OTHER) == 1
        print(f"leave reached the gate in {reached:.1f} s")
    finally:
        client.close()
        agent.stop()


def test_who_may_move_a_pupil(hub: Hub, pg_url: str) -> None:
    today = datetime.now(VN).date()
    own, other, teacher = (as_user(hub, u) for u in ("sa.sync", "sa.other", "gv.sync"))
    district = admin(hub)
    leave = {"date": today.isoformat()}
    try:
        # another school's admin: not found, as for a code that does not exist
        assert other.post(f"/api/v1/students/{OLDER}/leave", json=leave).status_code == 404
        assert other.post("/api/v1/students/no-such/leave", json=leave).status_code == 404
        assert teacher.post(f"/api/v1/students/{OLDER}/leave", json=leave).status_code == 403
        # transfers are the district's
        r = own.post(f"/api/v1/students/{OLDER}/transfer", json={"to": OTHER})
        assert r.status_code == 403 and "district admin" in r.json()["detail"]
        # bad input: 422 with a reason, nothing changed
        future = (today + timedelta(days=3)).isoformat()
        r = own.post(f"/api/v1/students/{OLDER}/leave", json={"date": future})
        assert r.status_code == 422 and "future" in r.json()["detail"]
        assert own.post(f"/api/v1/students/{OLDER}/leave",
                        json={"date": "2026-02-30"}).status_code == 422
        assert own.post(f"/api/v1/students/{OLDER}/leave",
                        json={**leave, "reason": "x" * 500}).status_code == 422
        r = district.post(f"/api/v1/students/{OLDER}/transfer", json={"to": "no-such-school"})
        assert r.status_code == 422 and "does not exist" in r.json()["detail"]
        r = district.post(f"/api/v1/students/{OLDER}/transfer", json={"to": SCHOOL})
        assert r.status_code == 409 and "already at school" in r.json()["detail"]
        assert district.post(f"/api/v1/students/{'x' * 100}/leave",
                             json=leave).status_code == 422
        assert count(pg_url, "select count(*) from student_moves") == 0
        assert count(pg_url, "select count(*) from students where active") == 3

        # the school's own admin records the leave
        r = own.post(f"/api/v1/students/{OLDER}/leave", json={**leave, "reason": "du học"})
        assert r.status_code == 200, r.text
        assert r.json()["kind"] == "leave" and r.json()["to_school"] is None
        r = district.post(f"/api/v1/students/{OLDER}/transfer", json={"to": OTHER})
        assert r.status_code == 409 and "has left" in r.json()["detail"]
    finally:
        for c in (own, other, teacher, district):
            c.close()


def test_a_leaver_stays_on_the_registers_of_the_days_before(pg_url: str) -> None:
    from hub.attendance.reports import class_register
    from hub.records.leavers import leave

    seed(pg_url)
    today = datetime.now(VN).date()
    before, left_on = today - timedelta(days=14), today - timedelta(days=7)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        class_id = conn.execute("insert into classes (school_id, name, grade)"
                                " values (%s, '6A1', 6) returning id", (SCHOOL,)).fetchone()
        assert class_id is not None
        conn.execute("update students set class_id = %s where school_id = %s",
                     (class_id[0], SCHOOL))
        conn.execute("insert into attendance_daily (student_id, day, school_id, first_in)"
                     " select id, %s, school_id, %s from students where code = %s",
                     (before, datetime.combine(before, datetime.min.time(), VN)
                      + timedelta(hours=7), OLDER))
        leave(conn, OLDER, day=left_on, reason=None, by="test")

        def names(day: date) -> list[str]:
            register = class_register(conn, class_id=int(str(class_id[0])), day=day, tz=VN,
                                      now=datetime.now(VN))
            return [row.student for row in register.students]

        assert OLDER in names(before)  # the register of a day before the leave is unchanged
        assert OLDER in names(left_on - timedelta(days=1))
        assert OLDER not in names(left_on) and OLDER not in names(today)
        assert YOUNGER in names(today)


def test_transfer_and_bad_input_on_the_command_line(
    pg_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.integration.test_device_sync import ELSEWHERE

    seed(pg_url)
    moved = run_cli(pg_url, ["students", "transfer", ELSEWHERE, "--to", SCHOOL,
                             "--reason", "chuyển trường"], monkeypatch)
    assert moved.exit_code == 0, moved.output
    assert f"{ELSEWHERE}: transfer from {OTHER} to {SCHOOL}" in moved.stdout
    assert count(pg_url, "select count(*) from students where code = %s and school_id = %s",
                 ELSEWHERE, SCHOOL) == 1
    refusals = {
        ("transfer", ELSEWHERE, "--to", "no-such-school"): (2, "does not exist"),
        ("transfer", ELSEWHERE, "--to", SCHOOL): (1, "already at school"),
        ("transfer", "no-such-pupil", "--to", OTHER): (2, "no pupil"),
        ("leave", OLDER, "--date", "2026-13-01"): (2, "not a date"),
        ("leave", OLDER, "--date", "2999-01-01"): (2, "in the future"),
    }
    for args, (code, message) in refusals.items():
        result = run_cli(pg_url, ["students", *args], monkeypatch)
        assert result.exit_code == code, (args, result.output)
        assert message in result.stderr, args
    assert count(pg_url, "select count(*) from student_moves") == 1
