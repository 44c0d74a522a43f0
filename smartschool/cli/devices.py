"""`smartschool devices token DEVICE`: a gate's credential for the hub's sync API.

Light at import (typer only): smartschool.cli imports it whether or not the hub's
extras are installed; the database is touched only when the command runs.
"""

from __future__ import annotations

from typing import Annotated

import typer


def device_token(
    device: Annotated[str, typer.Argument(help="Device id of a registered gate.")],
) -> None:
    """Issue a new device token for a gate (the previous one stops working).

    The token is printed once, alone on standard output; the hub keeps only its SHA-256.
    The gate reads it from SMARTSCHOOL_DEVICE_TOKEN or the systemd credential
    device_token (see the gate YAML's sync section).
    """
    from core.settings import get_settings
    from hub.db import connect
    from hub.devices.sync import issue_token
    from smartschool.cli import require_database

    with connect(require_database(get_settings())) as conn:
        issued = issue_token(conn, device)
    if isinstance(issued, str):
        typer.echo(f"error: {issued}", err=True)
        raise typer.Exit(2)
    token, gate = issued
    typer.echo(token)
    typer.echo(
        f"\nnew device token of {gate.id} ({gate.school}), shown once; the gate's previous "
        "token no longer works.\n"
        "On the gate, save it as /etc/smartschool/device_token (mode 0600, owner root) and "
        "give it to the service as the systemd credential device_token:\n"
        "  LoadCredential=device_token:/etc/smartschool/device_token\n"
        "or, for containers and development, set SMARTSCHOOL_DEVICE_TOKEN. The gate YAML's "
        "sync: section names the hub (firmware_configs/gate.example.yaml).",
        err=True,
    )
