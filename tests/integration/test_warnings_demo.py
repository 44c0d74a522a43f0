"""The demo's history (smartschool/demo/backfill.py, issue 15): on the simulated district,
after the backfill, one warnings run finds every kind; a second start writes nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import psycopg
import pytest

from hub.warnings import runner
from hub.warnings.rules import KINDS
from smartschool.demo.backfill import backfill
from smartschool.demo.district import generate_district
from smartschool.demo.seed import seed_assets, seed_district
from tests.integration.test_notify_support import VN

pytestmark = pytest.mark.integration


def test_the_demo_shows_every_kind(pg_url: str) -> None:
    district = generate_district(seed=2025, students_target=3000)
    now = datetime.now(UTC)
    with psycopg.connect(pg_url) as conn:
        seed_district(conn, district)
        seed_assets(conn, district)
        started = time.perf_counter()
        backfill(conn, district, tz=VN, seed=2025, now=now)
        took = time.perf_counter() - started
        rows = conn.execute("select count(*) from attendance_daily").fetchone()
        result = runner.run(conn, now=now, tz=VN, trigger="test")
        found = dict(conn.execute("select kind, count(*) from warnings where closed_at is null"
                                  " group by kind").fetchall())
        assert set(found) == set(KINDS), found
        assert result.opened == sum(found.values())
        # A second start finds the history and adds nothing.
        backfill(conn, district, tz=VN, seed=2025, now=now)
        assert conn.execute("select count(*) from attendance_daily").fetchone() == rows
        assert conn.execute("select count(*) from alarms").fetchone() == (3,)
    # The demo starts a few seconds slower at most (the whole district: about a second).
    assert took < 5, took
