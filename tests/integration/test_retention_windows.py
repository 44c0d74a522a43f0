"""Retention of every table holding personal data (issue #12), on the real PostgreSQL,
purged the way the hub does it: its hourly maintenance (the evaluator's ``_maintain``).

Each table gets a row past its window and one inside it: the first goes, the second stays,
and what must outlive the window (the register, the latest sync push's reply) stays too.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from core.settings import Settings
from hub.devices.registry import add_device, upsert_school
from hub.equipment.evaluator import Evaluator
from hub.records.retention import RetentionWindows, purge_personal_data

pytestmark = pytest.mark.integration

SCHOOL, GATE = "th-ret", "th-ret-gate-1"
WINDOWS = RetentionWindows(notifications=90, dead_letters=30, device_replies=30, leavers=365)


def one(conn: psycopg.Connection[tuple[object, ...]], query: str,
        params: tuple[object, ...] = ()) -> object:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def pupil(conn: psycopg.Connection[tuple[object, ...]], code: str, *, left_days_ago: int | None,
          pid: str, moet: str) -> int:
    ident = one(conn,
                "insert into students (code, school_id, full_name, birth_date, gender,"
                " personal_id, moet_id, active, left_on) values"
                " (%s, %s, 'Lê Thị Hoa', '2015-03-04', 'F', %s, %s, %s,"
                " current_date - %s::int) returning id",
                (code, SCHOOL, pid, moet, left_days_ago is None, left_days_ago))
    conn.execute("insert into guardians (student_id, full_name, relation, phone, channel)"
                 " values (%s, 'Lê Văn Bố', 'father', '+84912345678', 'sms')", (ident,))
    conn.execute("insert into attendance_daily (student_id, day, school_id, first_in)"
                 " values (%s, date '2025-09-08', %s, now())", (ident, SCHOOL))
    return int(str(ident))


def test_the_hub_purges_each_table_past_its_window(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        upsert_school(conn, code=SCHOOL, name="Trường TH Lưu Giữ", level="tieu_hoc",
                      ward="Hải Thành")
        add_device(conn, school=SCHOOL, device=GATE, role="gate")
        staying = pupil(conn, f"{SCHOOL}-1", left_days_ago=None, pid="031215000001",
                        moet="3100000001")
        left_recently = pupil(conn, f"{SCHOOL}-2", left_days_ago=30, pid="031215000002",
                              moet="3100000002")
        left_long_ago = pupil(conn, f"{SCHOOL}-3", left_days_ago=400, pid="031215000003",
                              moet="3100000003")
        for n, (age, dead_age) in enumerate(((100, 40), (10, 5))):  # days
            conn.execute(
                "insert into notification_outbox (idempotency_key, student_id, channel, kind,"
                " day, payload, status, created_at) values (%s, %s, 'sms', 'entry',"
                " current_date, '{\"to\": \"+84912345678\", \"text\": \"Con đã đến\"}',"
                " 'sent', now() - make_interval(days => %s))", (f"k{n}", staying, age))
            conn.execute("insert into dead_letters (topic, payload, payload_size, reason,"
                          " received_at) values ('school/x', 'raw', 3, 'invalid',"
                          " now() - make_interval(days => %s))", (dead_age,))
        latest_push = uuid.uuid4()
        conn.execute("insert into device_sync_pushes (device_id, version, cmd_id)"
                     " values (%s, 1, %s)", (GATE, latest_push))
        for seq, (cmd, age) in enumerate(((uuid.uuid4(), 40), (latest_push, 40),
                                          (uuid.uuid4(), 5))):
            conn.execute("insert into device_replies (device_id, seq, ts, received_at, cmd_id,"
                         " ok) values (%s, %s, now(), now() - make_interval(days => %s), %s,"
                         " true)", (GATE, seq, age, cmd))

        Evaluator(pg_url, retention=WINDOWS)._maintain(conn)  # the hub's hourly pass

        assert one(conn, "select count(*) from notification_outbox") == 1
        assert one(conn, "select count(*) from dead_letters") == 1
        # the old reply to the gate's latest push stays: the publisher reads it
        replies = {r[0] for r in conn.execute("select cmd_id from device_replies")}
        assert latest_push in replies and len(replies) == 2
        ids = {int(str(r[0])): (r[1], r[2]) for r in conn.execute(
            "select id, personal_id, moet_id from students")}
        assert ids[staying] == ("031215000001", "3100000001")
        assert ids[left_recently] == ("031215000002", "3100000002")
        assert ids[left_long_ago] == (None, None)
        guardians = {int(str(r[0])) for r in conn.execute("select student_id from guardians")}
        assert guardians == {staying, left_recently}
        # the register stays for everyone, the long-gone leaver included
        assert one(conn, "select count(*) from attendance_daily") == 3
        assert one(conn, "select full_name from students where id = %s",
                   (left_long_ago,)) == "Lê Thị Hoa"

        # a second hour finds nothing more
        again = purge_personal_data(conn, datetime.now(UTC), WINDOWS)
        assert again == {"notification_outbox": 0, "dead_letters": 0, "device_replies": 0,
                         "leavers": 0, "exchange_changes": 0}


def test_the_windows_follow_the_settings() -> None:
    defaults = RetentionWindows.from_settings(Settings(_env_file=None))
    assert defaults == RetentionWindows()  # core's defaults and the hub's agree
    chosen = RetentionWindows.from_settings(Settings(
        _env_file=None, notification_retention_days=7, dead_letter_retention_days=2,
        device_reply_retention_days=3, leaver_retention_days=30))
    assert chosen == RetentionWindows(notifications=7, dead_letters=2, device_replies=3,
                                      leavers=30)
