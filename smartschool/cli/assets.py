"""`smartschool assets ...`: the equipment register from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smartschool.cli.support import database_url

app = typer.Typer(help="The equipment asset register.", no_args_is_help=True)


@app.callback()
def assets() -> None:
    """The equipment asset register."""
    # A callback keeps `import` a subcommand: a Typer app with one command and no callback
    # would run that command directly, and `assets import FILE` would read "import" as FILE.


@app.command("import")
def import_assets(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8) or XLSX, header on the first row",
                                         exists=True, dir_okay=False, readable=True)],
    school: Annotated[str, typer.Option(help="The school the assets belong to (its code)")],
    skip_invalid: Annotated[bool, typer.Option(
        help="Write the valid rows even when others are invalid")] = False,
) -> None:
    """Import or update assets. Problems print as FILE:ROW:COLUMN: reason; nothing is
    written unless the whole file is valid (or --skip-invalid)."""
    from hub.db import connect
    from hub.equipment.importer import import_file

    url = database_url()
    with connect(url, autocommit=True) as conn:
        result = import_file(conn, file, school=school, skip_invalid=skip_invalid)
    for line in result.errors:
        typer.echo(line, err=True)
    typer.echo(f"written {result.written}, invalid rows {result.skipped}")
    if result.errors and not skip_invalid:
        raise typer.Exit(1)


# hub.equipment.partitions.RETENTION_TABLES, named here so --help needs no psycopg.
RETENTION_TABLES = ("telemetry", "telemetry_5m", "telemetry_1h")


@app.command("retention")
def retention(
    table: Annotated[str | None, typer.Argument(
        help=f"One of {', '.join(RETENTION_TABLES)}; omit to show every table")] = None,
    days: Annotated[int | None, typer.Option(
        min=1, max=36_500, help="Keep this many days of TABLE (the hub applies it hourly)")
    ] = None,
) -> None:
    """Show or set how long raw telemetry and its 5-minute and hourly rollups are kept."""
    from datetime import timedelta

    from hub.db import connect
    from hub.equipment import partitions

    if table is not None and table not in RETENTION_TABLES:
        raise typer.BadParameter(f"one of {', '.join(RETENTION_TABLES)}", param_hint="TABLE")
    if days is not None and table is None:
        raise typer.BadParameter("--days needs a TABLE", param_hint="--days")
    url = database_url()
    with connect(url, autocommit=True) as conn:
        if days is not None and table is not None:
            partitions.set_retention(conn, table, timedelta(days=days))
        for name, keep in sorted(partitions.retention(conn).items()):
            if table is None or name == table:
                typer.echo(f"{name}\t{keep.days} days")
