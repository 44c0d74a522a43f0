"""Database backups: pg_dump's custom format out, pg_restore back in.

The custom format is compressed, restores table by table and in any order, and is what
``pg_restore --list`` can read; one file per run, named by its UTC time so a directory
sorts oldest first and ``keep`` can prune it. The password never goes on a command line
(``ps`` would show it): it travels in PGPASSWORD.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

PREFIX = "smartschool-"
SUFFIX = ".dump"
# A district's database dumps in about a minute; an hour means something is stuck.
TIMEOUT_S = 3600.0


class BackupError(RuntimeError):
    """pg_dump or pg_restore is missing, failed, or the target is not as expected."""


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found: install the PostgreSQL client "
                          "(Debian: apt-get install postgresql-client)")
    return found


def _split(url: str) -> tuple[str, dict[str, str]]:
    """The connection string without its password, and the environment carrying it."""
    params = conninfo_to_dict(url)
    env = dict(os.environ)
    password = params.pop("password", None)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items()}), env


def _run(args: list[str], env: dict[str, str], timeout: float) -> None:
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BackupError(f"{Path(args[0]).name} took longer than {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed ({done.returncode}): "
                          f"{done.stderr.strip()[-2000:]}")


def backup_name(now: datetime) -> str:
    return f"{PREFIX}{now.astimezone(UTC):%Y%m%dT%H%M%SZ}{SUFFIX}"


def backups_to_prune(names: list[str], keep: int) -> list[str]:
    """Which of a directory's backups go when only the newest ``keep`` stay."""
    ours = sorted(n for n in names if n.startswith(PREFIX) and n.endswith(SUFFIX))
    return ours[:-keep] if keep > 0 else []


def backup(url: str, directory: Path, *, keep: int = 0, timeout: float = TIMEOUT_S) -> Path:
    """Dump the database at ``url`` into a new file in ``directory``; return its path.

    The file appears under its final name only once pg_dump has finished, so a crash or
    a full disk never leaves a truncated backup that looks whole. ``keep`` > 0 then
    removes all but the newest ``keep`` backups there.
    """
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / backup_name(datetime.now(UTC))
    partial = target.with_name(target.name + ".partial")
    conninfo, env = _split(url)
    try:
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
              f"--file={partial}", f"--dbname={conninfo}"], env, timeout)
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    for name in backups_to_prune([p.name for p in directory.iterdir()], keep):
        (directory / name).unlink(missing_ok=True)
    return target


def _is_empty(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("select to_regclass('schema_migrations')").fetchone()
    return row is None or row[0] is None


def restore(url: str, dump: Path, *, clean: bool = False, timeout: float = TIMEOUT_S) -> None:
    """Bring ``dump`` back into the database at ``url``.

    Refuses a database that already holds a smartschool schema unless ``clean`` (which
    drops what the dump recreates first): restoring over live data by mistake is the
    one thing a restore must not do quietly. Runs as one transaction when not cleaning,
    so a failed restore leaves the database as empty as it was.
    """
    if not dump.is_file():
        raise BackupError(f"no backup file at {dump}")
    if not clean and not _is_empty(url):
        raise BackupError("the database already holds a smartschool schema; restore into an "
                          "empty database, or pass --clean to replace it")
    conninfo, env = _split(url)
    args = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
            f"--dbname={conninfo}"]
    args += ["--clean", "--if-exists"] if clean else ["--single-transaction"]
    _run([*args, str(dump)], env, timeout)
