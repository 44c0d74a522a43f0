"""The demo's homeroom teachers (issue 14) are told of a pupil in school but not in class:
the seeded district's classes get teacher accounts on the webhook channel, and the real
notifier's sweep delivers the notice to the demo's loopback sink, which checks its
signature: exactly once per pupil and lesson.

Real parts: PostgreSQL, the demo's seeding and timetable import, the hub's store path for
the gate and classroom sightings, the notification worker and the sink's HTTP receiver."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import httpx
import psycopg
import pytest

from hub.attendance.lessons_rules import LessonTimes
from hub.ingest import store
from hub.ingest.routing import Incoming, Store, route
from hub.notify.adapters import SIGNATURE_HEADER, TIMESTAMP_HEADER
from hub.notify.settings import NotifySettings
from hub.notify.worker import NotificationWorker
from smartschool.demo.district import generate_district
from smartschool.demo.lessons import seed_timetables
from smartschool.demo.notify_sink import (
    NotificationSink,
    seed_teacher_recipients,
    start_alarm_recipients,
    teacher_name,
)
from smartschool.demo.seed import seed_district
from tests.integration.test_notify_support import VN, gate_payload

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

DAY = date(2025, 9, 8)  # a Monday


def ingest(url: str, events: list[tuple[str, str, bytes]]) -> None:
    """``(school, device, payload)`` through the real routing (the seeded devices' registry)
    and store."""
    with psycopg.connect(url) as conn:
        registry = store.load_registry(conn)
        routed = [route(Incoming(f"ss/v1/{school}/{device}/event", payload,
                                 datetime.now(VN)), registry)
                  for school, device, payload in events]
        stores = [r for r in routed if isinstance(r, Store)]
        assert len(stores) == len(routed), routed
        store.prepare(conn)
        store.write_batch(conn, stores, [], tz="Asia/Ho_Chi_Minh")


def drain(worker: NotificationWorker) -> None:
    for _ in range(10):
        if not worker.run_once():
            return
    raise AssertionError("the notifier kept finding messages to send")


def test_teacher_names_are_valid_ascii_usernames() -> None:
    cases = [("th-a", "6A1", 1, "gv.th-a.6a1"),
             ("mn-b", "Lớp Chồi 1", 2, "gv.mn-b.lop-choi-1"),
             ("th-c", "Đội 2", 3, "gv.th-c.doi-2"),
             ("th-d", "Ả", 4, "gv.th-d.a"),
             ("th-e", "???", 5, "gv.5"),
             ("x" * 70, "6A1", 6, "gv.6")]
    assert [teacher_name(s, c, i) for s, c, i, _ in cases] == [w for *_, w in cases]


def test_a_wandering_pupil_reaches_the_demo_homeroom_teacher_once(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SMARTSCHOOL_NOTIFY_WEBHOOK_URL", "SMARTSCHOOL_NOTIFY_WEBHOOK_SECRET"):
        monkeypatch.setenv(name, "")  # the demo's sink becomes the district's webhook
    district = generate_district(seed=7, students_target=400)
    card = {c.student_code: c.uid for c in district.cards if c.status == "active"}
    school = next(s for s in district.schools if s.level == "thcs")
    # a class of this small district with two pupils holding a card
    klass, (wanderer, present, *_) = next(
        (k, pupils) for k in district.classes if k.school_id == school.id
        for pupils in [[st for st in district.students if st.code in card
                        and (st.school_id, st.class_name) == (k.school_id, k.name)]]
        if len(pupils) >= 2)
    gate = next(d.id for d in district.devices if d.school_id == school.id and d.role == "gate")
    door = next(d.id for d in district.devices if d.school_id == school.id
                and d.role == "classroom" and d.room_name == klass.room_name)
    # The demo passes every school; two keep the facility managers' password hashing short
    # (a kindergarten's class names are not ASCII).
    kindergarten = next(s for s in district.schools if s.level == "mam_non")
    told = [school, kindergarten]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        seed_district(conn, district)
        seed_timetables(conn, district)
        sink = start_alarm_recipients(conn, [(s.id, s.name) for s in told])
    try:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            assert seed_teacher_recipients(conn, [s.id for s in told]) == 0  # made once
            class_id, teacher, full_name = conn.execute(
                "select c.id, c.teacher_username, u.full_name from classes c"
                " join users u on u.username = c.teacher_username"
                " where c.school_id = %s and c.name = %s", (school.id, klass.name)).fetchone() \
                or (None, None, None)
            row = conn.execute(
                "select count(*), count(*) filter (where u.role = 'teacher'"
                " and u.notify_channel = 'webhook' and u.school_id = c.school_id)"
                " from classes c left join users u on u.username = c.teacher_username"
                " where c.school_id = any(%s)", ([s.id for s in told],)).fetchone()
            others = conn.execute("select count(*) from classes where teacher_username"
                                  " is not null and school_id <> all(%s)",
                                  ([s.id for s in told],)).fetchone()
            lesson_id, starts, ends = conn.execute(
                "select id, starts_at, ends_at from timetable_lessons"
                " where class_id = %s and weekday = %s and period = 1",
                (class_id, DAY.isoweekday())).fetchone() or (None, None, None)
        classes = sum(1 for k in district.classes if k.school_id in {s.id for s in told})
        assert row == (classes, classes) and others == (0,)  # every class told, no other
        assert teacher == teacher_name(school.id, klass.name, class_id)
        assert full_name == klass.homeroom_teacher
        assert lesson_id is not None and starts is not None and ends is not None
        times = LessonTimes.on(DAY, starts, ends, VN)
        arrive = datetime.combine(DAY, starts, VN) - timedelta(minutes=15)
        # Both came through the gate; only one of them was seen at the room's door.
        ingest(pg_url, [
            (school.id, gate, gate_payload(1, card[wanderer.code], arrive, device=gate)),
            (school.id, gate, gate_payload(2, card[present.code], arrive, device=gate)),
            (school.id, door, gate_payload(1, card[present.code], arrive + timedelta(minutes=12),
                                           device=door, room=klass.room_name)),
        ])

        settings = NotifySettings(_env_file=None, backoff_base_s=0.05, poll_interval_s=0.05)
        assert settings.webhook_url == sink.url
        clock = {"now": times.cutoff + timedelta(minutes=1)}  # the first lesson only
        # The lessons follow the school day's clock (the demo's simulated one), not the
        # worker's real one, which alarms escalate by.
        worker = NotificationWorker(pg_url, settings=settings, tz=VN,
                                    clock=lambda: datetime.now(UTC),
                                    school_clock=lambda: clock["now"])
        try:
            drain(worker)
            notices = [m for m in sink.received if m["kind"] == "not-in-class"]
            assert [(m["student"], m["lesson_id"], m["recipient"]["username"],
                     m["recipient"]["role"]) for m in notices] == [
                (wanderer.code, lesson_id, teacher, "teacher")]
            assert notices[0]["idempotency_key"] == \
                f"not-in-class:{wanderer.code}:{DAY.isoformat()}:{lesson_id}"
            assert wanderer.full_name in notices[0]["text"]
            assert sink.counts["not-in-class"] == 1 and sink.refused == 0

            # A second sweep, still before the second lesson's cutoff: nothing more.
            clock["now"] += timedelta(minutes=2)
            drain(worker)
            assert sink.counts["not-in-class"] == 1
            assert len([m for m in sink.received if m["kind"] == "not-in-class"]) == 1
        finally:
            worker.stop()
        with psycopg.connect(pg_url) as conn:
            assert conn.execute("select status, channel, username from notification_outbox"
                                " where kind = 'not-in-class'").fetchall() == [
                ("sent", "webhook", teacher)]
        assert_signature_checked(sink, notices[0])
    finally:
        sink.stop()


def assert_signature_checked(sink: NotificationSink, message: dict[str, object]) -> None:
    """The sink counted the notice only because its signature held: a forged one is not."""
    body = json.dumps(message).encode()
    answer = httpx.post(sink.url, content=body, headers={
        TIMESTAMP_HEADER: "1", SIGNATURE_HEADER: "sha256=" + "0" * 64})
    assert answer.status_code == 401
    assert sink.refused == 1 and sink.counts["not-in-class"] == 1
