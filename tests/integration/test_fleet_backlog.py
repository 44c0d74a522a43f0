"""The fleet view's backlog is the newer of the status report and the heartbeat's
``outbox.pending``: status carries it only at connect and clean stop (issue #13)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from core.settings import Settings
from dashboard.data.fleet import load_fleet
from hub.devices.registry import add_device, upsert_school

pytestmark = pytest.mark.integration

SCHOOL, GATE = "th-backlog", "th-backlog-gate-1"
REPORTED = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)


def _heartbeat(conn: psycopg.Connection[tuple[object, ...]], pending: int,
               received: datetime) -> None:
    conn.execute(
        "insert into telemetry_latest (subject, metric, device_id, ts, received_at, value_num)"
        " values (%s, 'outbox.pending', %s, %s, %s, %s)"
        " on conflict (subject, metric) do update set value_num = excluded.value_num,"
        " ts = excluded.ts, received_at = excluded.received_at",
        (GATE, GATE, received, received, pending))


@pytest.mark.parametrize(
    ("heartbeat", "shown"),
    [
        (None, 3),                                   # no heartbeat yet: the status's figure
        ((40, REPORTED - timedelta(minutes=1)), 3),  # an older heartbeat loses
        ((40, REPORTED + timedelta(minutes=5)), 40),  # a newer one wins
    ],
)
def test_backlog_is_the_newer_report(pg_url: str, heartbeat: tuple[int, datetime] | None,
                                     shown: int) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        upsert_school(conn, code=SCHOOL, name="Trường Tiểu học Hòa Nghĩa", level="tieu_hoc",
                      ward="Hòa Nghĩa")
        add_device(conn, school=SCHOOL, device=GATE, role="gate")
        conn.execute("update devices set outbox_backlog = 3, reported_at = %s where id = %s",
                     (REPORTED, GATE))
        if heartbeat is not None:
            _heartbeat(conn, *heartbeat)
        rows = load_fleet(conn, Settings(), SCHOOL)
    assert [(r.id, r.backlog) for r in rows] == [(GATE, shown)]
