"""The exchange feed's lesson_attendance kind (issue 14), against real PostgreSQL: each
lesson's cutoff passing logs its class's learner-days, a correction logs the learner's
day, and a document read from the feed holds each lesson's status as the register
derives it."""

from __future__ import annotations

from datetime import datetime

import psycopg
import pytest

from hub.accounts.auth import User
from hub.attendance.lessons import correct_lesson
from hub.attendance.lessons_flags import enqueue_not_in_class
from hub.exchange.cursor import START
from hub.exchange.documents import LessonAttendanceDoc
from hub.exchange.feed import current_documents, read_page
from hub.timetable.importer import import_timetable, load_lessons
from tests.conftest import wait_until
from tests.integration.test_lesson_api import ROOM_DEVICE, TIMETABLE, ingest, room_payload
from tests.integration.test_notify_support import GATE, SCHOOL, VN, gate_payload, seed

pytestmark = pytest.mark.integration


def at(hh: int, mm: int) -> datetime:
    return datetime(2025, 9, 8, hh, mm, tzinfo=VN)


def docs(conn: psycopg.Connection) -> dict[str, LessonAttendanceDoc]:
    page = read_page(conn, after=START, kinds=["lesson_attendance"], limit=1000)
    out = {}
    for change in page.changes:
        assert isinstance(change.document, LessonAttendanceDoc)
        out[change.key] = change.document
    return out


def test_lesson_attendance_in_the_feed(pg_url: str) -> None:
    seed(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("insert into devices (id, school_id, role) values (%s, %s, 'classroom')",
                     (ROOM_DEVICE, SCHOOL))
        assert import_timetable(conn, TIMETABLE.encode(), file="tkb.csv", school=SCHOOL).written
    ingest(pg_url, [(GATE, gate_payload(1, "C0001", at(6, 50))),
                    (ROOM_DEVICE, room_payload(1, "C0001", at(6, 58))),
                    (GATE, gate_payload(2, "C0004", at(6, 55)))])
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert docs(conn) == {}  # nothing logged before a cutoff passes
        enqueue_not_in_class(conn, now=at(7, 16), tz=VN)
        # the feed shows a transaction's rows once every older one in the cluster ended
        got = wait_until(lambda: docs(conn), what="the logged learner-days")
        assert sorted(got) == [f"HS00{n}/2025-09-08" for n in range(1, 5)]
        an = got["HS001/2025-09-08"]
        assert (an.learner, an.school, an.class_name) == ("HS001", SCHOOL, "6A1")
        assert [(x.period, x.subject, x.room, x.status) for x in an.lessons] == [
            (1, "Toán", "P101", "present"), (2, "Ngữ văn", "P101", "absent")]
        assert an.lessons[0].seen_at is not None
        assert got["HS004/2025-09-08"].lessons[0].status == "absent"

        lesson = load_lessons(conn, school=SCHOOL)[0]
        admin = User(username="admin", password_hash="-", role="district_admin", school_id=None,
                     full_name=None, disabled=False)
        correct_lesson(conn, student_code="HS004", lesson_id=lesson.id, day=at(0, 0).date(),
                       status="excused", reason="Đi khám răng", user=admin, tz=VN,
                       now=at(9, 0))

        def logged_twice() -> object:
            page = read_page(conn, after=START, kinds=["lesson_attendance"], limit=1000)
            dung = [c for c in page.changes if c.key == "HS004/2025-09-08"]
            return len(dung) == 2 and dung  # the sweep's, then the correction's

        last = wait_until(logged_twice, what="the correction's change")[-1]
        assert last.key == "HS004/2025-09-08"
        assert isinstance(last.document, LessonAttendanceDoc)
        assert last.document.lessons[0].status == "excused"
        assert set(current_documents(conn, "lesson_attendance")) == set(got)
