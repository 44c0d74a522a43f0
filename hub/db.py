"""Database connections and versioned, idempotent schema migrations."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, TypeAlias

import psycopg

log = logging.getLogger(__name__)

# The one connection type every database function takes. Rows are tuples unless a
# function asks its cursor for another row factory, so the row type stays open.
Conn: TypeAlias = psycopg.Connection[Any]

# Any constant works; it only has to be the same for every process migrating this database.
MIGRATION_LOCK_ID = 0x5C5C_0001
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str = field(repr=False)

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str | None  # None: applied before checksums were kept (migration 0015)


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    applied: list[int]
    pending: list[Migration]
    # applied, but the file differs from what was applied: (version, name)
    changed: list[tuple[int, str]]
    # applied here, but this install has no such file (a newer version migrated it)
    unknown: list[tuple[int, str]]

    @property
    def ok(self) -> bool:
        return not (self.pending or self.changed or self.unknown)


def compare_migrations(
    available: list[Migration], applied: list[AppliedMigration]
) -> MigrationStatus:
    """What this install's migration files say about a database's schema_migrations rows."""
    by_version = {m.version: m for m in available}
    done = {a.version for a in applied}
    return MigrationStatus(
        applied=sorted(done),
        pending=[m for m in available if m.version not in done],
        changed=sorted(
            (a.version, a.name) for a in applied
            if a.version in by_version and a.checksum is not None
            and a.checksum != by_version[a.version].checksum
        ),
        unknown=sorted((a.version, a.name) for a in applied if a.version not in by_version),
    )


def available_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("hub.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version: {versions}")
    return found


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url, autocommit=autocommit, application_name="smartschool")


class TimescaleNotPreloaded(RuntimeError):
    """TimescaleDB is installed on the server but not preloaded, so using it would fail."""


def timescale_problem(*, available: bool, installed: bool, preload: str) -> str | None:
    """Why creating the extension would fail, or None when it would not be tried or works.

    A server that has the package but lacks ``timescaledb`` in shared_preload_libraries
    ends the session with FATAL on ``create extension``; no SQL handler can catch that,
    so migration 0006 would die instead of falling back to native partitions. Say so
    before trying, with the fix.
    """
    if installed or not available:
        return None
    preloaded = {part.strip().strip('"') for part in preload.split(",")}
    if "timescaledb" in preloaded:
        return None
    return ("TimescaleDB is installed on this PostgreSQL server but not preloaded: add "
            "shared_preload_libraries = 'timescaledb' to postgresql.conf and restart the "
            "server, or remove the timescaledb package to use plain PostgreSQL partitions")


def check_timescale(conn: Conn) -> None:
    """Raise TimescaleNotPreloaded when the extension is available but cannot load."""
    row = conn.execute(
        "select exists (select 1 from pg_available_extensions where name = 'timescaledb'),"
        " exists (select 1 from pg_extension where extname = 'timescaledb'),"
        " current_setting('shared_preload_libraries')"
    ).fetchone()
    assert row is not None
    problem = timescale_problem(available=bool(row[0]), installed=bool(row[1]),
                                preload=str(row[2] or ""))
    if problem:
        raise TimescaleNotPreloaded(problem)


def migrate(url: str) -> list[Migration]:
    """Apply the migrations this database lacks, each in its own transaction.

    Safe to run from several processes at once: an advisory lock serialises them.
    Raises TimescaleNotPreloaded (before changing anything) on a server where TimescaleDB
    is installed but not preloaded.
    """
    applied: list[Migration] = []
    with connect(url, autocommit=True) as conn:
        check_timescale(conn)
        conn.execute("select pg_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
        try:
            conn.execute(
                "create table if not exists schema_migrations ("
                " version integer primary key, name text not null,"
                " applied_at timestamptz not null default now())"
            )
            done = {row[0] for row in conn.execute("select version from schema_migrations")}
            for migration in available_migrations():
                if migration.version in done:
                    continue
                log.info("applying migration %04d_%s", migration.version, migration.name)
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute(
                        "insert into schema_migrations (version, name) values (%s, %s)",
                        (migration.version, migration.name),
                    )
                applied.append(migration)
            _record_checksums(conn)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))
    return applied


def _has_checksums(conn: Conn) -> bool:
    row = conn.execute(
        "select 1 from information_schema.columns where table_schema = current_schema()"
        " and table_name = 'schema_migrations' and column_name = 'checksum'"
    ).fetchone()
    return row is not None


def _record_checksums(conn: Conn) -> None:
    # Rows applied before the column existed (0001..0015 on their first run, and every
    # older database) get the file as it is now: edits made before this point cannot be seen.
    if not _has_checksums(conn):
        return
    for migration in available_migrations():
        conn.execute(
            "update schema_migrations set checksum = %s where version = %s and checksum is null",
            (migration.checksum, migration.version),
        )


def migration_status(url: str) -> MigrationStatus:
    """Applied, pending and edited-after-applying migrations of the database at ``url``."""
    with connect(url, autocommit=True) as conn:
        exists = conn.execute("select to_regclass('schema_migrations')").fetchone()
        rows: list[AppliedMigration] = []
        if exists and exists[0] is not None:
            column = "checksum" if _has_checksums(conn) else "null::text"
            rows = [
                AppliedMigration(int(str(v)), str(n), None if c is None else str(c))
                for v, n, c in conn.execute(
                    f"select version, name, {column} from schema_migrations"  # noqa: S608
                )
            ]
    return compare_migrations(available_migrations(), rows)


def schema_version(url: str) -> int:
    with connect(url, autocommit=True) as conn:
        row = conn.execute(
            "select coalesce(max(version), 0) from schema_migrations"
        ).fetchone()
        return int(str(row[0])) if row else 0
