"""Database connections and versioned, idempotent schema migrations."""

from __future__ import annotations

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


def migrate(url: str) -> list[Migration]:
    """Apply the migrations this database lacks, each in its own transaction.

    Safe to run from several processes at once: an advisory lock serialises them.
    """
    applied: list[Migration] = []
    with connect(url, autocommit=True) as conn:
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
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))
    return applied


def schema_version(url: str) -> int:
    with connect(url, autocommit=True) as conn:
        row = conn.execute(
            "select coalesce(max(version), 0) from schema_migrations"
        ).fetchone()
        return int(str(row[0])) if row else 0
