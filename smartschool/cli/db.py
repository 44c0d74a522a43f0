"""``smartschool db ...``: the database schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.settings import get_settings
from smartschool.cli.support import database_url, fail, setup_logging

app = typer.Typer(help="Database schema, status, backups.", no_args_is_help=True)


@app.command("migrate")
def db_migrate() -> None:
    """Apply the schema migrations this database lacks (safe to repeat)."""
    from hub.db import TimescaleNotPreloaded, migrate, schema_version

    settings = get_settings()
    setup_logging(settings)
    url = database_url(settings)
    try:
        applied = migrate(url)
    except TimescaleNotPreloaded as exc:
        raise fail(str(exc)) from exc
    for m in applied:
        typer.echo(f"applied {m.version:04d}_{m.name}")
    typer.echo(f"schema at version {schema_version(url)}")


# issue #16: status, backup and restore
@app.command("status")
def db_status() -> None:
    """Applied and pending migrations, and any applied one whose file has since changed.

    Exit status 1 when something is pending, changed or unknown to this install."""
    from hub.db import migration_status

    status = migration_status(database_url(get_settings()))
    last = status.applied[-1] if status.applied else 0
    typer.echo(f"applied  {len(status.applied)} (schema at version {last})")
    for m in status.pending:
        typer.echo(f"pending  {m.version:04d}_{m.name}")
    for version, name in status.changed:
        typer.echo(f"changed  {version:04d}_{name} (its file differs from what was applied)")
    for version, name in status.unknown:
        typer.echo(f"unknown  {version:04d}_{name} (applied, but this install has no such file)")
    if not status.ok:
        raise typer.Exit(1)
    typer.echo("up to date")


@app.command("backup")
def db_backup(
    directory: Annotated[Path, typer.Argument(
        help="Where the backup file goes (created if missing).")],
    keep: Annotated[int, typer.Option(
        min=0, help="Then keep only the newest N backups there (0: all).")] = 0,
) -> None:
    """Dump the database (pg_dump, custom format) into a new file in DIRECTORY."""
    from hub.backup import BackupError, backup

    try:
        path = backup(database_url(get_settings()), directory, keep=keep)
    except BackupError as exc:
        raise fail(str(exc), 1) from exc
    typer.echo(f"backup written: {path} ({path.stat().st_size} bytes)")


@app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="A file `smartschool db backup` wrote.")],
    clean: Annotated[bool, typer.Option(
        "--clean", help="Replace what the database holds (default: refuse unless it is empty)."
    )] = False,
) -> None:
    """Restore a backup (pg_restore) into the configured database."""
    from hub.backup import BackupError, restore

    try:
        restore(database_url(get_settings()), file, clean=clean)
    except BackupError as exc:
        raise fail(str(exc), 1) from exc
    typer.echo(f"restored {file}")
