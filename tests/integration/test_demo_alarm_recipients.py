"""The demo's alarm recipients (issue #13) against the real notifier and a real HTTP
receiver: each school's facility manager is told of a major alarm through the demo's
notification sink, which checks the signature, and when nobody acknowledges it, the
control room is told of the escalation."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from hub.notify.settings import NotifySettings
from hub.notify.worker import NotificationWorker
from smartschool.demo.notify_sink import (
    CONTROL_ROOM,
    manager_name,
    seed_alarm_recipients,
    start_alarm_recipients,
)
from tests.integration.test_alarm_dispatch import T0, raise_alarm
from tests.integration.test_notify_support import VN, seed

pytestmark = pytest.mark.integration

SCHOOLS = [("thcs-a", "Trường THCS A"), ("th-b", "Trường Tiểu học B")]


def test_a_major_alarm_reaches_the_demo_manager_then_the_control_room(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(pg_url)
    # What the demo sets for its hub, restored after the test.
    for name in ("SMARTSCHOOL_NOTIFY_WEBHOOK_URL", "SMARTSCHOOL_NOTIFY_WEBHOOK_SECRET"):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("SMARTSCHOOL_NOTIFY_ALARM_ESCALATE_AFTER_S", "180")
    with psycopg.connect(pg_url) as conn:
        sink = start_alarm_recipients(conn, SCHOOLS)
        assert seed_alarm_recipients(conn, SCHOOLS) == 0  # a rerun makes no one twice
    try:
        with psycopg.connect(pg_url) as conn:
            rows = conn.execute("select username, role, school_id, notify_channel from users"
                                " order by username").fetchall()
        # and the homeroom teacher of the seeded class (tests/integration/
        # test_demo_teacher_notices.py: their "in school, not in class" notices)
        assert rows == [("gv.thcs-a.6a1", "teacher", "thcs-a", "webhook"),
                        (manager_name("th-b"), "facility_manager", "th-b", "webhook"),
                        (manager_name("thcs-a"), "facility_manager", "thcs-a", "webhook"),
                        (CONTROL_ROOM, "control_room", None, "webhook")]
        settings = NotifySettings(_env_file=None, backoff_base_s=0.05, poll_interval_s=0.05)
        assert settings.webhook_url == sink.url
        clock = {"now": T0}
        worker = NotificationWorker(pg_url, settings=settings, tz=VN,
                                    clock=lambda: clock["now"])
        alarm = raise_alarm(pg_url)  # a gate of thcs-a offline, major
        while worker.run_once():
            pass
        told = [(m["kind"], m["recipient"]["username"]) for m in sink.received]
        assert told == [("alarm", manager_name("thcs-a"))]
        assert all(m["alarm_id"] == alarm for m in sink.received)

        clock["now"] = T0 + timedelta(seconds=181)  # nobody acknowledged it
        while worker.run_once():
            pass
        told = [(m["kind"], m["recipient"]["username"]) for m in sink.received]
        assert told == [("alarm", manager_name("thcs-a")), ("alarm-escalation", CONTROL_ROOM)]
        assert sink.refused == 0
    finally:
        sink.stop()
