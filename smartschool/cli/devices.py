"""``smartschool devices ...``: the registry of edge devices and their sync tokens."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from smartschool.cli.support import database_url, fail

if TYPE_CHECKING:
    from hub.devices.provision import Issued

app = typer.Typer(help="The registry of edge devices (gates, classroom agents).",
                  no_args_is_help=True)


@app.command("add")
def devices_add(
    school: Annotated[str, typer.Argument(help="School id the device belongs to.")],
    device: Annotated[str, typer.Argument(
        help="Device id (lower-case letters, digits, hyphens), its MQTT user name.")],
    role: Annotated[str, typer.Option(help="gate or classroom.")],
    face: Annotated[bool, typer.Option(
        "--face", help="A face gate: its sync token also fetches the face gallery.")] = False,
    bundle: Annotated[Path | None, typer.Option(
        help="Write the device's YAML, MQTT password, sync token and CA certificate into "
        "this directory (needs the broker admin settings).")] = None,
    device_dir: Annotated[str, typer.Option(
        help="Where the bundle's files will sit on the device (the YAML names its CA file "
        "there).")] = "/etc/smartschool",
) -> None:
    """Register a device so the hub accepts its messages.

    With the broker admin settings (SMARTSCHOOL_BROKER_ADMIN_*, from `smartschool broker
    init`) it also creates the device's broker account: user name and client id are the
    device id, and it may write only its own topics and read only its own commands.
    """
    from core.settings import get_settings
    from hub.broker.dynsec import DynsecError
    from hub.db import connect
    from hub.devices.provision import ProvisionError, add, broker_login, write_bundle

    settings = get_settings()
    login = broker_login(settings)
    if bundle is not None and login is None:
        raise fail("--bundle needs the broker admin settings (SMARTSCHOOL_BROKER_ADMIN_URL, "
                   "_USERNAME, _PASSWORD; `smartschool broker init` writes them)")
    try:
        with connect(database_url(settings)) as conn:
            issued = add(conn, login, school=school, device=device, role=role, face=face)
        if bundle is not None:
            write_bundle(bundle, issued.device, issued, settings, device_dir=device_dir)
    except (ProvisionError, DynsecError, OSError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"device {device} registered to {school} as {role}")
    _report(issued, bundle)


def _report(issued: Issued, bundle: Path | None) -> None:
    """Where the new secrets went: the bundle, or (once) standard output."""
    if bundle is not None:
        for path in issued.files:
            typer.echo(f"wrote {path}")
        return
    if issued.password is not None:
        typer.echo(f"mqtt-password: {issued.password}")
    if issued.token is not None:
        typer.echo(f"device_token: {issued.token}")
    if issued.password is not None or issued.token is not None:
        typer.echo("secrets shown once; on the device save each as a systemd credential "
                   "file (mode 0600) under /etc/smartschool/", err=True)


@app.command("rotate")
def devices_rotate(
    device: Annotated[str, typer.Argument(help="Device id.")],
    bundle: Annotated[Path | None, typer.Option(
        help="Write the new secrets (and the YAML and CA certificate) into this directory.")
    ] = None,
    device_dir: Annotated[str, typer.Option(
        help="Where the bundle's files will sit on the device (the YAML names its CA file "
        "there).")] = "/etc/smartschool",
) -> None:
    """Issue a device new secrets: broker password and (gates) sync token. The old ones
    stop working at once and the broker drops the device's connection."""
    from core.settings import get_settings
    from hub.broker.dynsec import DynsecError
    from hub.db import connect
    from hub.devices.provision import ProvisionError, broker_login, rotate, write_bundle

    settings = get_settings()
    login = broker_login(settings)
    if login is None:
        raise fail("rotate needs the broker admin settings (SMARTSCHOOL_BROKER_ADMIN_URL, "
                   "_USERNAME, _PASSWORD; `smartschool broker init` writes them)")
    try:
        with connect(database_url(settings)) as conn:
            issued = rotate(conn, login, device)
        if bundle is not None:
            write_bundle(bundle, issued.device, issued, settings, device_dir=device_dir)
    except (ProvisionError, DynsecError, OSError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"device {device}: new secrets issued; the old ones no longer work")
    _report(issued, bundle)


@app.command("decommission")
def devices_decommission(
    device: Annotated[str, typer.Argument(help="Device id.")],
) -> None:
    """Remove the device's broker account and revoke its sync token. Its registration
    and history (events, telemetry, replies) are kept."""
    from core.settings import get_settings
    from hub.broker.dynsec import DynsecError
    from hub.db import connect
    from hub.devices.provision import ProvisionError, broker_login, decommission

    settings = get_settings()
    try:
        with connect(database_url(settings)) as conn:
            removed, revoked = decommission(conn, broker_login(settings), device)
    except (ProvisionError, DynsecError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"device {device} decommissioned: broker account "
               f"{'removed' if removed else 'absent'}, token "
               f"{'revoked' if revoked else 'absent'}; its history is kept")


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
