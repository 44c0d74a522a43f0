"""``smartschool schools ...``: the schools of the district."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.schools import LEVELS
from smartschool.cli.support import database_url, fail

app = typer.Typer(help="Schools of the district.", no_args_is_help=True)


@app.command("add")
def schools_add(
    code: Annotated[str, typer.Argument(
        help="School id (lower-case letters, digits, hyphens), used in MQTT topics.")],
    name: Annotated[str, typer.Argument(help="Full name, e.g. 'Trường THCS Hải Thành'.")],
    level: Annotated[str, typer.Option(help=f"{', '.join(LEVELS[:-1])} or {LEVELS[-1]}.")],
    ward: Annotated[str, typer.Option(help="Ward (phường) of the school.")],
    start_time: Annotated[str, typer.Option(help="Lessons start, HH:MM.")] = "07:00",
) -> None:
    """Add a school (or update its name, level, ward and start time)."""
    from hub.db import connect
    from hub.devices.registry import RegistryError, upsert_school

    try:
        with connect(database_url()) as conn:
            upsert_school(conn, code=code, name=name, level=level, ward=ward,
                          start_time=start_time)
    except RegistryError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"school {code} saved")
