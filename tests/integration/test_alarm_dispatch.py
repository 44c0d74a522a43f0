"""Alarm dispatch and escalation (issue #13) end to end: alarms raised through the
equipment store, the real notification worker and its adapters, real PostgreSQL and real
local HTTP receivers standing in for the facility manager's and the district's webhooks
and the SMS gateway. The worker's clock is set, not waited for."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from hub.accounts.contact_rules import Contact
from hub.accounts.contacts import set_contact
from hub.equipment import alarms
from hub.equipment.rules import Transition
from hub.notify.alarm_dispatch import WITHDRAWN
from hub.notify.settings import NotifySettings
from hub.notify.worker import NotificationWorker
from tests.integration.test_notify_support import (
    GATE,
    OTHER_GATE,
    VN,
    RecordingServer,
    recording_server,
    seed,
)

pytestmark = pytest.mark.integration

SECRET = "alarm-webhook-secret"
# 09:00 on a Sunday in the district: no parents' absence sweep to share the receivers with
T0 = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
ESCALATE_S = 900.0


@pytest.fixture
def fm_hook() -> Iterator[RecordingServer]:
    yield from recording_server()


@pytest.fixture
def district_hook() -> Iterator[RecordingServer]:
    yield from recording_server()


@pytest.fixture
def sms() -> Iterator[RecordingServer]:
    yield from recording_server()


@pytest.fixture
def db(pg_url: str, fm_hook: RecordingServer, district_hook: RecordingServer) -> str:
    """thcs-a has a facility manager on a webhook of their own (and a teacher, who hears
    nothing of alarms); th-b's facility manager has no contact. The district admin has
    a webhook, the control room SMS."""
    seed(pg_url)
    people = [("fm.a", "facility_manager", "thcs-a"), ("fm.b", "facility_manager", "th-b"),
              ("gv.a", "teacher", "thcs-a"), ("admin", "district_admin", None),
              ("room", "control_room", None)]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for username, role, school in people:
            # the hash is never checked here: nobody signs in
            conn.execute("insert into users (username, password_hash, role, school_id)"
                         " values (%s, 'x', %s, %s)", (username, role, school))
        set_contact(conn, "fm.a", Contact("webhook", webhook_url=fm_hook.url("/fm-a")))
        set_contact(conn, "gv.a", Contact("webhook", webhook_url=fm_hook.url("/teacher")))
        set_contact(conn, "admin", Contact("webhook",
                                           webhook_url=district_hook.url("/district")))
        set_contact(conn, "room", Contact("sms", phone="0912 345 678"))
    return pg_url


def make_worker(db: str, district_hook: RecordingServer, sms: RecordingServer,
                **kw: Any) -> NotificationWorker:
    settings = NotifySettings(
        _env_file=None,
        # the district's own webhook URL: where a webhook account without a URL would post
        webhook_url=district_hook.url("/district-default"), webhook_secret=SecretStr(SECRET),
        sms_url=sms.url("/sms/send"), sms_key=SecretStr("sms-key"),
        backoff_base_s=0.05, backoff_max_s=0.2, poll_interval_s=0.05,
        alarm_escalate_after_s=ESCALATE_S, **kw,
    )
    clock = {"now": T0}
    worker = NotificationWorker(db, settings=settings, tz=VN, clock=lambda: clock["now"])
    worker.clock_state = clock  # type: ignore[attr-defined]
    return worker


def at(worker: NotificationWorker, offset: timedelta) -> None:
    worker.clock_state["now"] = T0 + offset  # type: ignore[attr-defined]


def raise_alarm(db: str, *, severity: str = "major", device: str = GATE) -> int:
    with psycopg.connect(db, autocommit=True) as conn:
        alarms.apply_transitions(conn, [
            Transition("raise", device, device, "offline", T0, severity,  # type: ignore[arg-type]
                       "device offline")
        ], {GATE: "thcs-a", OTHER_GATE: "th-b"})
        row = conn.execute("select id from alarms where subject = %s and state <> 'cleared'",
                           (device,)).fetchone()
    assert row is not None
    return int(row[0])


def drain(worker: NotificationWorker, passes: int = 3) -> None:
    """Passes until nothing was attempted, then a few more that must find nothing: what
    a running worker would do meanwhile."""
    for _ in range(20):
        if not worker.run_once():
            break
    for _ in range(passes):
        assert worker.run_once() == 0


def alarm_outbox(db: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(db) as conn:
        return conn.execute(
            "select kind, username, channel, status, attempts from notification_outbox"
            " where alarm_id is not null order by kind, username").fetchall()


def check_signature(r: Any) -> None:
    ts = r.headers["x-smartschool-timestamp"]
    expected = hmac.new(SECRET.encode(), ts.encode() + b"." + r.body, hashlib.sha256)
    assert r.headers["x-smartschool-signature"] == "sha256=" + expected.hexdigest()
    assert r.headers["idempotency-key"] == r.json()["idempotency_key"]


def test_major_alarm_reaches_the_manager_once_and_escalates_once_when_ignored(
    db: str, fm_hook: RecordingServer, district_hook: RecordingServer, sms: RecordingServer
) -> None:
    worker = make_worker(db, district_hook, sms)
    replica = make_worker(db, district_hook, sms)  # a second hub worker on the same outbox
    try:
        alarm_id = raise_alarm(db)
        at(worker, timedelta(minutes=1))
        at(replica, timedelta(minutes=1))
        drain(worker)
        drain(replica)

        assert [r.path for r in fm_hook.requests] == ["/fm-a"]  # not the teacher's
        body = fm_hook.requests[0].json()
        check_signature(fm_hook.requests[0])
        assert body["kind"] == "alarm" and body["alarm_id"] == alarm_id
        assert body["school"] == "thcs-a" and body["severity"] == "major"
        assert body["recipient"]["username"] == "fm.a"
        assert body["idempotency_key"] == f"alarm:{alarm_id}:fm.a"
        assert "device offline" in body["text"] and "09:00 06/12/2026" in body["text"]
        assert district_hook.requests == [] and sms.requests == []

        # a second before the deadline nothing more; at it, the district once
        at(worker, timedelta(seconds=ESCALATE_S - 1))
        drain(worker)
        assert district_hook.requests == [] and sms.requests == []
        at(worker, timedelta(seconds=ESCALATE_S))
        at(replica, timedelta(seconds=ESCALATE_S + 60))
        drain(worker)
        drain(replica)
        at(worker, timedelta(hours=2))
        drain(worker)

        assert [r.path for r in district_hook.requests] == ["/district"]
        escalation = district_hook.requests[0].json()
        check_signature(district_hook.requests[0])
        assert escalation["kind"] == "alarm-escalation"
        assert escalation["idempotency_key"] == f"alarm-escalation:{alarm_id}:admin"
        assert "CHUYỂN CẤP" in escalation["text"] and "15 phút" in escalation["text"]
        assert [r.json()["phone"] for r in sms.requests] == ["0912345678"]
        assert len(fm_hook.requests) == 1
        assert alarm_outbox(db) == [
            ("alarm", "fm.a", "webhook", "sent", 1),
            ("alarm-escalation", "admin", "webhook", "sent", 1),
            ("alarm-escalation", "room", "sms", "sent", 1),
        ]
    finally:
        worker.stop()
        replica.stop()


def test_acknowledged_in_time_does_not_escalate(
    db: str, fm_hook: RecordingServer, district_hook: RecordingServer, sms: RecordingServer
) -> None:
    worker = make_worker(db, district_hook, sms)
    try:
        alarm_id = raise_alarm(db, severity="critical")
        at(worker, timedelta(minutes=1))
        drain(worker)
        assert len(fm_hook.requests) == 1
        with psycopg.connect(db, autocommit=True) as conn:
            alarms.acknowledge(conn, alarm_id, actor="fm.a", comment="đang xử lý")
        at(worker, timedelta(hours=3))
        drain(worker)
        assert district_hook.requests == [] and sms.requests == []
        assert alarm_outbox(db) == [("alarm", "fm.a", "webhook", "sent", 1)]
    finally:
        worker.stop()


def test_escalation_acknowledged_before_it_is_sent_is_withdrawn(
    db: str, fm_hook: RecordingServer, district_hook: RecordingServer, sms: RecordingServer
) -> None:
    worker = make_worker(db, district_hook, sms)
    try:
        alarm_id = raise_alarm(db)
        at(worker, timedelta(seconds=ESCALATE_S + 5))
        assert worker.enqueue() == 3  # the manager's message and both escalations
        with psycopg.connect(db, autocommit=True) as conn:
            alarms.acknowledge(conn, alarm_id, actor="fm.a")
        drain(worker)
        assert fm_hook.requests == [] and district_hook.requests == [] and sms.requests == []
        with psycopg.connect(db) as conn:
            rows = conn.execute("select status, last_error from notification_outbox"
                                " where alarm_id = %s", (alarm_id,)).fetchall()
        assert rows == [("failed", WITHDRAWN)] * 3
    finally:
        worker.stop()


def test_minor_alarm_notifies_nobody(
    db: str, fm_hook: RecordingServer, district_hook: RecordingServer, sms: RecordingServer
) -> None:
    worker = make_worker(db, district_hook, sms)
    try:
        raise_alarm(db, severity="minor")
        for offset in (timedelta(minutes=1), timedelta(hours=1)):
            at(worker, offset)
            drain(worker)
        assert fm_hook.requests == [] and district_hook.requests == [] and sms.requests == []
        assert alarm_outbox(db) == []
    finally:
        worker.stop()


def test_a_school_nobody_can_be_reached_at_escalates_at_once(
    db: str, fm_hook: RecordingServer, district_hook: RecordingServer, sms: RecordingServer
) -> None:
    worker = make_worker(db, district_hook, sms)
    try:
        alarm_id = raise_alarm(db, device=OTHER_GATE)  # th-b: fm.b has no contact
        at(worker, timedelta(seconds=30))
        drain(worker)
        assert fm_hook.requests == []
        assert [r.json()["alarm_id"] for r in district_hook.requests] == [alarm_id]
        assert len(sms.requests) == 1
    finally:
        worker.stop()


def test_an_alarm_older_than_the_max_age_is_not_sent(
    db: str, fm_hook: RecordingServer, district_hook: RecordingServer, sms: RecordingServer
) -> None:
    worker = make_worker(db, district_hook, sms, alarm_max_age_s=3600.0)
    try:
        raise_alarm(db)
        at(worker, timedelta(hours=1, seconds=1))  # a hub back after the max age
        drain(worker)
        assert fm_hook.requests == [] and district_hook.requests == [] and sms.requests == []
    finally:
        worker.stop()
