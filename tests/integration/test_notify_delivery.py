"""Parent notifications end to end against real PostgreSQL and real local HTTP servers."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from hub.notify.settings import NotifySettings
from hub.notify.worker import NotificationWorker
from tests.integration.test_notify_support import (
    OTHER_GATE,
    VN,
    RecordingServer,
    gate_payload,
    ingest,
    recording_server,
    seed,
)

pytestmark = pytest.mark.integration

SECRET = "webhook-secret"


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 11, 30, hh, mm, ss, tzinfo=VN)


@pytest.fixture
def db(pg_url: str) -> str:
    seed(pg_url)
    return pg_url


@pytest.fixture
def webhook() -> Iterator[RecordingServer]:
    yield from recording_server()


@pytest.fixture
def zalo() -> Iterator[RecordingServer]:
    yield from recording_server()


@pytest.fixture
def sms() -> Iterator[RecordingServer]:
    yield from recording_server()


def make_worker(db: str, webhook: RecordingServer, zalo: RecordingServer, sms: RecordingServer,
                *, now: datetime, **kw: Any) -> NotificationWorker:
    settings = NotifySettings(
        _env_file=None,
        webhook_url=webhook.url("/hook"), webhook_secret=SecretStr(SECRET),
        zalo_url=zalo.url("/v3.0/oa/message/cs"), zalo_token=SecretStr("zalo-token"),
        sms_url=sms.url("/sms/send"), sms_key=SecretStr("sms-key"),
        backoff_base_s=0.05, backoff_max_s=0.2, poll_interval_s=0.05, **kw,
    )
    clock = {"now": now}
    worker = NotificationWorker(db, settings=settings, tz=VN, clock=lambda: clock["now"])
    worker.clock_state = clock  # type: ignore[attr-defined]
    return worker


def drain(worker: NotificationWorker, *, passes: int = 50) -> None:
    """Run passes until nothing is due now (retries included), as the thread would."""
    for _ in range(passes):
        worker.run_once()
        with psycopg.connect(worker.database_url) as conn:
            row = conn.execute(
                "select count(*) from notification_outbox where status = 'pending'"
                " and channel <> 'none'").fetchone()
        if row is not None and row[0] == 0:
            return
        time.sleep(0.05)


def outbox(db: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(db) as conn:
        return conn.execute(
            "select s.code, o.kind, o.channel, o.status, o.attempts from notification_outbox o"
            " join students s on s.id = o.student_id order by s.code, o.kind").fetchall()


def test_entry_and_exit_once_despite_replays_duplicates_and_second_events(
    db: str, webhook: RecordingServer, zalo: RecordingServer, sms: RecordingServer
) -> None:
    worker = make_worker(db, webhook, zalo, sms, now=at(6, 58))
    first = gate_payload(1, "C0001", at(6, 52))
    ingest(db, [("gate-a1", first), ("gate-a1", first)])  # duplicate within a batch
    drain(worker)
    ingest(db, [("gate-a1", first)])  # a replay (same device, seq) later
    ingest(db, [("gate-a1", gate_payload(2, "C0001", at(6, 52, 3)))])  # a double tap
    ingest(db, [("gate-a1", gate_payload(3, "C0001", at(6, 55)))])  # a second entry
    ingest(db, [("gate-a1", gate_payload(4, "C0002", at(6, 56), decision="denied"))])
    drain(worker)
    worker.clock_state["now"] = at(16, 40)  # type: ignore[attr-defined]
    ingest(db, [("gate-a1", gate_payload(5, "C0001", at(16, 30), direction="out")),
                ("gate-a1", gate_payload(6, "C0001", at(16, 31), direction="out"))])
    drain(worker)
    ingest(db, [("gate-a1", gate_payload(5, "C0001", at(16, 30), direction="out"))])
    drain(worker)
    worker.stop()

    texts = [r.json()["text"] for r in webhook.requests]
    assert texts == [
        "Con Nguyễn Văn An đã vào trường lúc 06:52 ngày 30/11/2026.",
        # the exit time is the latest exit the rollup held when the worker looked
        "Con Nguyễn Văn An đã ra khỏi trường lúc 16:31 ngày 30/11/2026.",
    ]
    for r in webhook.requests:
        ts = r.headers["x-smartschool-timestamp"]
        expected = hmac.new(SECRET.encode(), ts.encode() + b"." + r.body, hashlib.sha256)
        assert r.headers["x-smartschool-signature"] == "sha256=" + expected.hexdigest()
        assert r.headers["idempotency-key"] == r.json()["idempotency_key"]
        assert abs(int(ts) - time.time()) < 60
    # the denied student got no entry message; the absence sweep has not reached HS002:
    # at 16:40 the cutoff is 9 h past, beyond the sweep's window
    assert zalo.requests == []
    assert outbox(db) == [("HS001", "entry", "webhook", "sent", 1),
                          ("HS001", "exit", "webhook", "sent", 1)]


def test_absence_sweep_at_the_cutoff_once(
    db: str, webhook: RecordingServer, zalo: RecordingServer, sms: RecordingServer
) -> None:
    ingest(db, [("gate-a1", gate_payload(1, "C0001", at(6, 52)))])
    with psycopg.connect(db) as conn:
        conn.execute(
            "insert into attendance_overrides (student_id, day, status, reason, corrected_by)"
            " select id, '2026-11-30', 'excused', 'ốm, mẹ xin phép', 'gv' from students"
            " where code = 'HS003'")
    worker = make_worker(db, webhook, zalo, sms, now=at(7, 14, 59))
    drain(worker)
    assert zalo.requests == [] and sms.requests == []  # before the cutoff: pending
    worker.clock_state["now"] = at(7, 15)  # type: ignore[attr-defined]
    drain(worker)
    worker.clock_state["now"] = at(7, 30)  # type: ignore[attr-defined]
    drain(worker)
    worker.stop()

    assert [r.json() for r in zalo.requests] == [{
        "recipient": {"user_id": "zalo-uid-2"},
        "message": {"text": "Con Trần Thị Bình chưa đến trường lúc 07:15 ngày 30/11/2026. "
                            "Phụ huynh vui lòng liên hệ giáo viên chủ nhiệm nếu con nghỉ học."},
    }]
    assert zalo.requests[0].headers["access_token"] == "zalo-token"
    assert sms.requests == []  # HS003 is excused; HS004's guardian has no channel
    kinds = {(code, kind) for code, kind, *_ in outbox(db)}
    assert kinds == {("HS001", "entry"), ("HS002", "absence")}


def test_a_pass_at_another_schools_gate_is_not_arrival_at_her_school(
    db: str, webhook: RecordingServer, zalo: RecordingServer, sms: RecordingServer
) -> None:
    ingest(db, [(OTHER_GATE, gate_payload(1, "C0002", at(6, 50), device=OTHER_GATE))])
    worker = make_worker(db, webhook, zalo, sms, now=at(7, 20))
    drain(worker)
    worker.stop()
    # Bình passed another school's gate: the rollup counts own-school gates only (as the
    # register does), so by the cutoff she has not arrived at her school, and her parent
    # is told so, once; the other school's pass sends no entry message.
    assert [r.json()["message"]["text"][:40] for r in zalo.requests] == [
        "Con Trần Thị Bình chưa đến trường lúc 07"]


def test_failing_gateway_is_retried_with_backoff_and_delivers_once(
    db: str, webhook: RecordingServer, zalo: RecordingServer
) -> None:
    gen = recording_server(fail_first=3)
    sms = next(gen)
    try:
        ingest(db, [("gate-a1", gate_payload(1, "C0003", at(6, 50)))])
        worker = make_worker(db, webhook, zalo, sms, now=at(6, 59))
        started = time.monotonic()
        drain(worker)
        worker.stop()
        elapsed = time.monotonic() - started
    finally:
        sms.close()
    assert sms.answered == [500, 500, 500, 200]
    keys = {r.headers["idempotency-key"] for r in sms.requests}
    assert keys == {"entry:HS003:2026-11-30:3"}
    assert len(sms.delivered) == 1
    body = sms.delivered[0].json()
    assert body["phone"] == "+84900000003" and sms.delivered[0].headers["x-api-key"] == "sms-key"
    assert outbox(db) == [("HS003", "entry", "sms", "sent", 4)]
    assert elapsed >= 0.05 * 0.75 * (1 + 2 + 4) * 0.9  # the backoff was waited
    with psycopg.connect(db) as conn:
        row = conn.execute("select last_error from notification_outbox").fetchone()
    assert row == (None,)


def test_gives_up_after_max_attempts_and_4xx_is_not_retried(
    db: str, webhook: RecordingServer, zalo: RecordingServer
) -> None:
    gen = recording_server(fail_first=1000)
    sms = next(gen)
    gen4 = recording_server(fail_first=1000, fail_status=400)
    bad_webhook = next(gen4)
    try:
        ingest(db, [("gate-a1", gate_payload(1, "C0003", at(6, 50))),
                    ("gate-a1", gate_payload(2, "C0001", at(6, 51)))])
        worker = make_worker(db, bad_webhook, zalo, sms, now=at(6, 59), max_attempts=3)
        drain(worker)
        worker.stop()
    finally:
        sms.close()
        bad_webhook.close()
    assert len(sms.requests) == 3
    assert len(bad_webhook.requests) == 1
    assert outbox(db) == [("HS001", "entry", "webhook", "failed", 1),
                          ("HS003", "entry", "sms", "failed", 3)]


def test_two_workers_never_send_one_message_twice(
    db: str, webhook: RecordingServer, zalo: RecordingServer, sms: RecordingServer
) -> None:
    ingest(db, [("gate-a1", gate_payload(i, f"C000{i}", at(6, 50))) for i in (1, 2, 3)])
    workers = [make_worker(db, webhook, zalo, sms, now=at(6, 59)) for _ in range(2)]
    barrier = threading.Barrier(2)

    def go(w: NotificationWorker) -> None:
        barrier.wait()
        for _ in range(5):
            w.run_once()

    threads = [threading.Thread(target=go, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for w in workers:
        w.stop()
    assert len(webhook.requests) == len(zalo.requests) == len(sms.requests) == 1


def test_worker_thread_delivers_on_its_own(
    db: str, webhook: RecordingServer, zalo: RecordingServer, sms: RecordingServer
) -> None:
    worker = make_worker(db, webhook, zalo, sms, now=at(6, 59))
    worker.start()
    try:
        ingest(db, [("gate-a1", gate_payload(1, "C0001", at(6, 50)))])
        deadline = time.monotonic() + 10
        while not webhook.requests and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        worker.stop()
    assert len(webhook.requests) == 1
