"""``smartschool edge pjlink HOST``: ask one projector once and print its state as JSON.

A field tool for technicians: exit 0 when the projector answered, 1 when it is
unreachable (off at the mains, wrong address), 2 on a wrong password or a peer
that does not speak PJLink.
"""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

from edge.projector.client import CONNECT_TIMEOUT_S, read_projector
from edge.projector.codec import PJLINK_PORT, PjlinkError

PASSWORD_ENV = "SMARTSCHOOL_PJLINK_PASSWORD"  # noqa: S105 - a variable name

app = typer.Typer(help="PJLink projector field tool.", add_completion=False)


@app.command()
def pjlink(
    host: Annotated[str, typer.Argument(help="Projector address")],
    port: Annotated[int, typer.Option(min=1, max=65535, help="PJLink TCP port")] = PJLINK_PORT,
    password: Annotated[
        str | None,
        typer.Option(help=f"PJLink password (default: ${PASSWORD_ENV})", show_default=False),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=0.1, max=60, help="Connect timeout, seconds")
    ] = CONNECT_TIMEOUT_S,
) -> None:
    """Query a projector over PJLink class 1 once and print its state as JSON."""
    if password is None:
        password = os.environ.get(PASSWORD_ENV) or None
    try:
        reading = read_projector(host, port, password, connect_timeout=timeout)
    except PjlinkError as exc:
        typer.echo(json.dumps({"host": host, "port": port, "error": str(exc)}))
        raise typer.Exit(2) from None
    typer.echo(json.dumps({"host": host, "port": port, **reading.telemetry()}, indent=2,
                          ensure_ascii=False))
    if not reading.reachable:
        raise typer.Exit(1)
