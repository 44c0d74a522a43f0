"""`smartschool db backup/restore/status` against the real PostgreSQL (issue #16)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

import hub.db
from core.settings import get_settings
from hub.db import Migration, connect
from smartschool.cli import app
from smartschool.demo.district import generate_district
from smartschool.demo.seed import seed_district
from tests.conftest import ADMIN_PG, _db_url

pytestmark = pytest.mark.integration


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("SMARTSCHOOL_DATABASE_URL", url)
    get_settings.cache_clear()


@pytest.fixture
def second_empty_db() -> Iterator[str]:
    name = f"ss_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_PG, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield _db_url(name)
    finally:
        get_settings.cache_clear()
        with psycopg.connect(ADMIN_PG, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def table_counts(url: str) -> dict[str, int]:
    """Every table's row count, partitions included (what a restore must bring back)."""
    with connect(url, autocommit=True) as conn:
        tables = [str(r[0]) for r in conn.execute(
            "select table_name from information_schema.tables"
            " where table_schema = 'public' and table_type = 'BASE TABLE' order by 1")]
        return {t: int(conn.execute(f'select count(*) from "{t}"').fetchone()[0])  # type: ignore[index]
                for t in tables}


def test_backup_restored_into_an_empty_database_has_the_same_counts(
    pg_url: str, second_empty_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with connect(pg_url) as conn:
        seed_district(conn, generate_district(students_target=300))
        conn.execute(
            "insert into telemetry (device_id, seq, metric, ts, received_at, value_num)"
            " select id, 1, 'temp_c', now(), now(), 27.5 from devices")
    before = table_counts(pg_url)
    assert before["students"] >= 300 and before["telemetry"] > 0 and before["schema_migrations"]

    use_database(monkeypatch, pg_url)
    backups = tmp_path / "backups"
    code, out, err = run("db", "backup", str(backups), "--keep", "2")
    assert code == 0, err
    dumps = sorted(backups.glob("smartschool-*.dump"))
    assert len(dumps) == 1 and str(dumps[0]) in out and not list(backups.glob("*.partial"))

    # the restore refuses a database that already holds a schema, and changes nothing
    code, _, err = run("db", "restore", str(dumps[0]))
    assert code == 1 and "already holds" in err
    assert table_counts(pg_url) == before

    use_database(monkeypatch, second_empty_db)
    code, out, err = run("db", "restore", str(dumps[0]))
    assert code == 0, err
    assert table_counts(second_empty_db) == before
    code, out, _ = run("db", "status")
    assert code == 0 and out.rstrip().endswith("up to date"), out

    code, _, err = run("db", "restore", str(tmp_path / "missing.dump"), "--clean")
    assert code == 1 and "no backup file" in err


def test_status_names_pending_and_edited_migrations(
    empty_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_database(monkeypatch, empty_pg_url)
    code, out, _ = run("db", "status")
    assert code == 1 and "pending  0001_core" in out

    assert run("db", "migrate")[0] == 0
    with connect(empty_pg_url, autocommit=True) as conn:
        missing = conn.execute(
            "select count(*) from schema_migrations where checksum is null").fetchone()
    assert missing == (0,)  # every migration's checksum is kept, 0001..0015 included
    code, out, _ = run("db", "status")
    assert code == 0 and "up to date" in out

    real = hub.db.available_migrations()
    edited = [Migration(m.version, m.name, m.sql + "\n-- edited after it ran\n")
              if m.version == 1 else m for m in real]
    edited.append(Migration(9999, "from_the_future", "select 1;"))
    monkeypatch.setattr(hub.db, "available_migrations", lambda: edited)
    code, out, _ = run("db", "status")
    assert code == 1
    assert "changed  0001_core" in out and "pending  9999_from_the_future" in out
    assert "changed  0002" not in out

    monkeypatch.setattr(hub.db, "available_migrations", lambda: real[1:])
    code, out, _ = run("db", "status")
    assert code == 1 and "unknown  0001_core" in out
    monkeypatch.setattr(hub.db, "available_migrations", lambda: real)

    # a database from before 0015 has no checksums: status still works, and the next
    # migrate brings the column and fills it
    with connect(empty_pg_url, autocommit=True) as conn:
        conn.execute("alter table schema_migrations drop column checksum")
        conn.execute("delete from schema_migrations where version = 15")
    code, out, _ = run("db", "status")
    assert code == 1 and "pending  0015_migration_checksums" in out and "changed" not in out
    assert run("db", "migrate")[0] == 0
    assert run("db", "status")[0] == 0
    get_settings.cache_clear()
