"""``smartschool devices ...``: the registry of edge devices and their sync tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from smartschool.cli.support import database_url, fail

app = typer.Typer(help="The registry of edge devices (gates, classroom agents).",
                  no_args_is_help=True)


@app.command("add")
def devices_add(
    school: Annotated[str, typer.Argument(help="School id the device belongs to.")],
    device: Annotated[str, typer.Argument(
        help="Device id (lower-case letters, digits, hyphens), its MQTT user name.")],
    role: Annotated[str, typer.Option(help="gate or classroom.")],
) -> None:
    """Register a device so the hub accepts its messages."""
    from hub.db import connect
    from hub.devices.registry import RegistryError, add_device

    try:
        with connect(database_url()) as conn:
            add_device(conn, school=school, device=device, role=role)
    except RegistryError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"device {device} registered to {school} as {role}")


@app.command("list")
def devices_list() -> None:
    """List registered devices with their state, one JSON object per line."""
    from core.settings import get_settings
    from hub.db import connect
    from hub.read.queries import list_devices

    settings = get_settings()
    with connect(database_url(settings)) as conn:
        for row in list_devices(conn, offline_gate_s=settings.offline_after_gate_s,
                                offline_classroom_s=settings.offline_after_classroom_s):
            typer.echo(row.model_dump_json())


@app.command("token")
def device_token(
    device: Annotated[str, typer.Argument(help="Device id of a registered gate.")],
) -> None:
    """Issue a new device token for a gate (the previous one stops working).

    The token is printed once, alone on standard output; the hub keeps only its SHA-256.
    The gate reads it from SMARTSCHOOL_DEVICE_TOKEN or the systemd credential
    device_token (see the gate YAML's sync section).
    """
    from hub.db import connect
    from hub.devices.tokens import issue_token

    with connect(database_url()) as conn:
        issued = issue_token(conn, device)
    if isinstance(issued, str):
        raise fail(issued)
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
