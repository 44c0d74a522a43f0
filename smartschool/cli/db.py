"""``smartschool db ...``: the database schema."""

from __future__ import annotations

import typer

from core.settings import get_settings
from smartschool.cli.support import database_url, setup_logging

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("migrate")
def db_migrate() -> None:
    """Apply the schema migrations this database lacks (safe to repeat)."""
    from hub.db import migrate, schema_version

    settings = get_settings()
    setup_logging(settings)
    url = database_url(settings)
    applied = migrate(url)
    for m in applied:
        typer.echo(f"applied {m.version:04d}_{m.name}")
    typer.echo(f"schema at version {schema_version(url)}")
