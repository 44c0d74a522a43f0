"""`smartschool demo`: a generated admin password, kept private, reused; a weekend
run is a school day."""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from core.settings import Settings
from hub.accounts.auth import verify_password
from hub.db import migrate
from smartschool.demo.run import _admin_password, ensure_school_day

pytestmark = pytest.mark.integration


def admin_hash(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("select password_hash from users where username = 'admin'").fetchone()
    assert row is not None
    return str(row[0])


def test_generated_then_remembered_then_overridden(empty_pg_url: str, tmp_path: Path) -> None:
    migrate(empty_pg_url)
    settings = Settings(_env_file=None, admin_password=None)
    with psycopg.connect(empty_pg_url, autocommit=True) as conn:
        first = _admin_password(settings, conn, tmp_path)
        kept = tmp_path / "admin_password"
        assert len(first) >= 12
        assert kept.read_text().strip() == first
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600  # only the demo's user reads it
        assert verify_password(admin_hash(empty_pg_url), first)
        # a second run logs in with the same password
        assert _admin_password(settings, conn, tmp_path) == first
        # SMARTSCHOOL_ADMIN_PASSWORD wins
        chosen = Settings(_env_file=None,
                          admin_password=SecretStr("a chosen demo password"))
        assert _admin_password(chosen, conn, tmp_path) == "a chosen demo password"
    assert verify_password(admin_hash(empty_pg_url), "a chosen demo password")
    assert not verify_password(admin_hash(empty_pg_url), first)


def test_a_weekend_demo_day_is_a_school_day(empty_pg_url: str) -> None:
    from hub.attendance.calendar import CalendarEntry, build_calendar

    migrate(empty_pg_url)
    sunday, monday = date(2026, 11, 29), date(2026, 11, 30)
    with psycopg.connect(empty_pg_url, autocommit=True) as conn:
        assert ensure_school_day(conn, sunday) is True
        assert ensure_school_day(conn, sunday) is False  # once
        assert ensure_school_day(conn, monday) is False  # a weekday needs nothing
        rows = conn.execute("select day, school_id, kind from school_calendar").fetchall()
    assert rows == [(sunday, None, "makeup")]
    calendar = build_calendar([CalendarEntry(sunday, None, "makeup")], school_id="thcs-a")
    assert calendar.is_school_day(sunday)
    assert not calendar.is_school_day(date(2026, 12, 6))  # the next Sunday is off again


def test_the_password_file_is_private_from_its_creation(
    empty_pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Created 0600 by the open itself (issue #12): with a chmod afterwards the file would
    exist for a moment with the umask's mode, readable by everyone on the machine."""
    import os

    from smartschool.demo import run as demo_run

    migrate(empty_pg_url)
    opened: list[tuple[str, int, int]] = []
    real_open = os.open

    def spy(path: object, flags: int, mode: int = 0o777, **kw: object) -> int:
        opened.append((str(path), flags, mode))
        return real_open(path, flags, mode, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", spy)
    monkeypatch.setattr(Path, "chmod", lambda *_: pytest.fail("chmod after creation"))
    old_umask = os.umask(0)  # the worst umask: whatever the open asks for is what it gets
    try:
        with psycopg.connect(empty_pg_url, autocommit=True) as conn:
            demo_run._admin_password(Settings(_env_file=None, admin_password=None), conn,
                                     tmp_path)
    finally:
        os.umask(old_umask)
    kept = tmp_path / "admin_password"
    assert [(p, m) for p, _, m in opened if p.startswith(str(tmp_path))] == [(str(kept), 0o600)]
    assert opened[0][1] & os.O_EXCL  # never through a file (or link) already there
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
