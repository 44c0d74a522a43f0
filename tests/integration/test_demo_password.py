"""`smartschool demo` with no settings: a generated admin password, kept private, reused."""

from __future__ import annotations

import stat
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from hub.auth import verify_password
from hub.db import migrate
from smartschool.demo import _admin_password
from smartschool.settings import Settings

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
