"""The warnings run (issue 15) against real PostgreSQL: a small school with a month of
attendance, a projector lamp near its end and a projector that keeps failing; the run
opens each kind, offers each warning once to whoever must act, the real notification
worker delivers to real HTTP receivers, a re-run sends nothing more, a warning whose
condition clears is closed, and only a new episode (a later day) is sent again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from hub.accounts.auth import create_user
from hub.accounts.contact_rules import Contact
from hub.accounts.contacts import set_contact
from hub.equipment.partitions import Partitions
from hub.equipment.rollups import RawRow, write_rollups
from hub.notify.settings import NotifySettings
from hub.notify.worker import NotificationWorker
from hub.warnings import runner
from tests.integration.test_notify_support import VN, RecordingServer, recording_server

pytestmark = pytest.mark.integration

SCHOOL = "thcs-w"
PASSWORD = "warn-pass-123"
# Monday 7 December 2026, 10:00 in the district: the data runs to Sunday the 6th, so the
# last 30 school days are the weekdays from Monday 26 October to Friday 4 December.
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
LAMP = "PJ-W1"
FAULTY = "PJ-W2"


def school_days() -> list[date]:
    out: list[date] = []
    day = date(2026, 12, 4)
    while len(out) < 30:
        if day.isoweekday() <= 5:
            out.append(day)
        day -= timedelta(days=1)
    return out[::-1]


DAYS = school_days()
# Pupil number -> the indices (in DAYS, oldest first) of their absences / late arrivals.
# P1: 3 of 30 (exactly 10 %), P2: 2 of 30; P3 late three times in the last two weeks;
# P4-P11 each away one day of the last week: eight absences against a baseline of about
# one a week, rising.
ABSENT: dict[int, list[int]] = {1: [6, 12, 18], 2: [10, 20]} | {
    n: [25 + n % 5] for n in range(4, 12)}
LATE: dict[int, list[int]] = {3: [21, 24, 28]}


def _ts(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, clock(hour, minute), VN)


def seed(url: str, *, hooks: dict[str, str] | None = None) -> None:
    """The school, its accounts (with webhook contacts when ``hooks`` names URLs), a
    month of attendance, the lamp's readings and the faulty projector's alarms."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into schools (id, name, level, ward) values"
                     " (%s, 'THCS W', 'thcs', 'Hải Thành'), ('th-x', 'TH X', 'tieu_hoc', 'H')",
                     (SCHOOL,))
        conn.execute("insert into rooms (school_id, name) values (%s, 'P101')", (SCHOOL,))
        accounts = [("admin", "district_admin", None), ("gv.w", "teacher", SCHOOL),
                    ("ht.w", "school_admin", SCHOOL), ("ql.w", "facility_manager", SCHOOL),
                    ("ht.x", "school_admin", "th-x"), ("gv.other", "teacher", SCHOOL)]
        for username, role, school in accounts:
            create_user(conn, username=username, password=PASSWORD, role=role,  # type: ignore[arg-type]
                        school_id=school)
        conn.execute("insert into classes (school_id, name, grade, teacher_username)"
                     " values (%s, '7A', 7, 'gv.w')", (SCHOOL,))
        for n in range(1, 13):
            conn.execute(
                "insert into students (code, school_id, class_id, full_name, birth_date,"
                " gender) values (%s, %s, (select id from classes where name = '7A'), %s,"
                " '2013-05-01', 'F')", (f"W{n:03d}", SCHOOL, f"Học sinh {n:02d}"))
        ids: dict[str, int] = dict(conn.execute("select code, id from students").fetchall())
        rows = []
        for n in range(1, 13):
            for i, day in enumerate(DAYS):
                if i in ABSENT.get(n, []):
                    continue
                late = i in LATE.get(n, [])
                rows.append((ids[f"W{n:03d}"], day, SCHOOL,
                             _ts(day, 7, 10) if late else _ts(day, 6, 45), _ts(day, 16, 30)))
        with conn.cursor().copy("copy attendance_daily (student_id, day, school_id, first_in,"
                                " last_out) from stdin") as copy:
            for row in rows:
                copy.write_row(row)
        for tag in (LAMP, FAULTY):
            conn.execute("insert into assets (tag, type, school_id, room_id, rated_lamp_hours)"
                         " values (%s, 'projector', %s, (select id from rooms), 4000)",
                         (tag, SCHOOL))
        # 10 h a day for two weeks up to 3800 h today: 20 days left.
        write_rollups(conn, [RawRow(LAMP, SCHOOL, "projector.lamp_hours",
                                    NOW - timedelta(days=d), 3800.0 - 10 * d)
                             for d in range(15)], Partitions(), NOW)
        for days_ago in (25, 12, 2):
            raised = NOW - timedelta(days=days_ago)
            conn.execute(
                """
                with a as (insert into alarms (subject, asset_tag, school_id, type, severity,
                                               state, message, raised_at, last_raised_at)
                           values (%(t)s, %(t)s, %(s)s, 'projector_error', 'major', 'cleared',
                                   'projector error: fan', %(at)s, %(at)s) returning id)
                insert into alarm_log (alarm_id, at, action, actor)
                select id, %(at)s, 'raised', 'system' from a
                """, {"t": FAULTY, "s": SCHOOL, "at": raised})
        for username, url_ in (hooks or {}).items():
            set_contact(conn, username, Contact("webhook", webhook_url=url_))


@pytest.fixture
def hook() -> Iterator[RecordingServer]:
    yield from recording_server()


@pytest.fixture
def db(pg_url: str, hook: RecordingServer) -> str:
    seed(pg_url, hooks={"gv.w": hook.url("/gv.w"), "ht.w": hook.url("/ht.w"),
                        "ql.w": hook.url("/ql.w"), "ht.x": hook.url("/ht.x")})
    return pg_url


def run(db: str, now: datetime = NOW) -> runner.RunResult:
    with psycopg.connect(db) as conn:
        return runner.run(conn, now=now, tz=VN, trigger="test")


def open_warnings(db: str) -> dict[tuple[str, str], dict[str, Any]]:
    with psycopg.connect(db) as conn:
        rows = conn.execute("select kind, subject, episode, detail, id from warnings"
                            " where closed_at is null").fetchall()
    return {(k, s): {"episode": e, "detail": d, "id": i} for k, s, e, d, i in rows}


def deliver(db: str, hook: RecordingServer) -> list[tuple[str, str, str]]:
    settings = NotifySettings(_env_file=None, webhook_url=hook.url("/district"),
                              webhook_secret=SecretStr("warn-secret"), poll_interval_s=0.05)
    worker = NotificationWorker(db, settings=settings, tz=VN, clock=lambda: NOW)
    try:
        # Deliver only: the parents' enqueue would add nothing here, but keep the test to
        # what the warnings offered.
        while worker.deliver_due():
            pass
    finally:
        worker.stop()
    return sorted((r.path, r.json()["warning_kind"], r.json()["subject"])
                  for r in hook.delivered)


def test_each_kind_opens_and_reaches_whoever_must_act_once(db: str,
                                                            hook: RecordingServer) -> None:
    first = run(db)
    found = open_warnings(db)
    with psycopg.connect(db) as conn:
        class_id = str(conn.execute("select id from classes").fetchone()[0])  # type: ignore[index]
    assert set(found) == {("chronic_absence", "W001"), ("lateness", "W003"),
                          ("rising_absence", class_id), ("lamp_end_of_life", LAMP),
                          ("repeat_fault", f"{FAULTY}:projector_error")}
    assert (first.opened, first.closed, first.notified) == (5, 0, 5)
    assert first.as_of == date(2026, 12, 6)
    assert found["chronic_absence", "W001"]["detail"]["absent_days"] == 3
    assert found["lamp_end_of_life", LAMP]["detail"]["due"] == "2026-12-27"
    assert found["rising_absence", class_id]["detail"]["absent"] == 8
    assert deliver(db, hook) == sorted([
        ("/gv.w", "chronic_absence", "W001"), ("/gv.w", "lateness", "W003"),
        ("/ht.w", "rising_absence", class_id), ("/ql.w", "lamp_end_of_life", LAMP),
        ("/ql.w", "repeat_fault", f"{FAULTY}:projector_error")])
    text = next(r.json()["text"] for r in hook.delivered if r.path == "/gv.w"
                and r.json()["warning_kind"] == "chronic_absence")
    assert "Học sinh 01 (7A)" in text and "3/30" in text
    # Staff's messages, like alarms', are not in the parents' notification list.
    with psycopg.connect(db) as conn:
        assert conn.execute("select count(*) from notification_outbox where"
                            " student_id is not null").fetchone() == (0,)

    again = run(db)
    assert (again.opened, again.closed, again.notified) == (0, 0, 0)
    assert open_warnings(db) == found
    assert len(deliver(db, hook)) == 5  # nothing new reached anyone


def test_a_cleared_condition_closes_and_only_a_new_episode_is_sent_again(
        db: str, hook: RecordingServer) -> None:
    run(db)
    # One of W001's absences was a register mistake; the lamp is replaced.
    with psycopg.connect(db, autocommit=True) as conn:
        sid = conn.execute("select id from students where code = 'W001'").fetchone()[0]  # type: ignore[index]
        conn.execute("insert into attendance_overrides (student_id, day, status, reason,"
                     " corrected_by) values (%s, %s, 'present', 'tap missed', 'gv.w')",
                     (sid, DAYS[6]))
        replaced = NOW + timedelta(minutes=30)
        write_rollups(conn, [RawRow(LAMP, SCHOOL, "projector.lamp_hours", replaced, 2.0)],
                      Partitions(), replaced)
    cleared = run(db, NOW + timedelta(hours=1))
    assert (cleared.opened, cleared.closed) == (0, 2)
    with psycopg.connect(db) as conn:
        closed = conn.execute("select kind, subject, closed_at from warnings"
                              " where closed_at is not null order by kind").fetchall()
    assert [(k, s) for k, s, _ in closed] == [("chronic_absence", "W001"),
                                              ("lamp_end_of_life", LAMP)]
    assert all(at == NOW + timedelta(hours=1) for _, _, at in closed)

    # The correction is withdrawn the same day: the same episode reopens, nobody is told
    # twice.
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("delete from attendance_overrides")
    same_day = run(db, NOW + timedelta(hours=2))
    assert (same_day.opened, same_day.notified) == (1, 0)
    assert ("chronic_absence", "W001") in open_warnings(db)

    # A later day, the new lamp has a low rating on record and is already past it: a new
    # episode, a new message to the facility manager.
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("update assets set rated_lamp_hours = 2 where tag = %s", (LAMP,))
    later = run(db, NOW + timedelta(days=1))
    assert (later.opened, later.notified) == (1, 1)
    with psycopg.connect(db) as conn:
        episodes = conn.execute("select episode, closed_at is null from warnings where"
                                " kind = 'lamp_end_of_life' order by episode").fetchall()
    assert episodes == [(date(2026, 12, 7), False), (date(2026, 12, 8), True)]
    paths = [p for p, k, _ in deliver(db, hook) if k == "lamp_end_of_life"]
    assert paths == ["/ql.w", "/ql.w"]


def test_schools_without_data_and_pupils_without_absences_are_left_alone(pg_url: str) -> None:
    seed(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("delete from attendance_daily where day < %s", (DAYS[-12],))
    run(pg_url)
    kinds = {k for k, _ in open_warnings(pg_url)}
    # Twelve days of data are enough for chronic absence (none left: the absences were
    # older) and lateness; too few for a class's four-week baseline.
    assert "chronic_absence" not in kinds and "rising_absence" not in kinds
    assert "lateness" in kinds


def test_the_nightly_thread_runs_once_per_scheduled_time(pg_url: str) -> None:
    seed(pg_url)
    moments = {"now": NOW}
    nightly = runner.NightlyWarnings(pg_url, at=clock(2, 0), tz=VN,
                                     clock=lambda: moments["now"])
    assert nightly.run_if_due() is not None  # never ran: made up at once
    assert nightly.run_if_due() is None  # 10:00: today's 02:00 run is done
    moments["now"] = NOW + timedelta(hours=15)  # 01:00 next day: not yet
    assert nightly.run_if_due() is None
    moments["now"] = NOW + timedelta(hours=16, minutes=1)  # 02:01
    assert nightly.run_if_due() is not None
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("select count(*) from warning_runs where trigger = 'nightly'"
                            ).fetchone() == (2,)


def test_the_cli_runs_and_lists(pg_url: str, tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    seed(pg_url)
    env = {**os.environ, "SMARTSCHOOL_DATABASE_URL": pg_url,
           "SMARTSCHOOL_DATA_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "smartschool", "warnings", "run"], env=env,
                         capture_output=True, text=True, check=True, timeout=120).stdout
    assert "opened" in out
    listed = subprocess.run([sys.executable, "-m", "smartschool", "warnings", "list",
                             "--kind", "repeat_fault"], env=env, capture_output=True,
                            text=True, check=True, timeout=120).stdout.splitlines()
    assert [json.loads(line)["subject"] for line in listed] == [f"{FAULTY}:projector_error"]
    bad = subprocess.run([sys.executable, "-m", "smartschool", "warnings", "list", "--kind",
                          "nope"], env=env, capture_output=True, text=True, timeout=120,
                         check=False)
    assert bad.returncode == 2 and "unknown kind" in bad.stderr
