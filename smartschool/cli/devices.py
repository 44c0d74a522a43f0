"""``smartschool devices ...``: the registry of edge devices and their sync tokens."""

from __future__ import annotations

import os
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


# Commands to devices (issue #13): the API's command, from the command line.
def _command_args(pairs: list[str]) -> dict[str, object]:
    """``k=v`` pairs; a value that reads as JSON (5, 0.5, true) is taken as such."""
    import json

    args: dict[str, object] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise fail(f"--arg {pair!r} is not key=value")
        try:
            args[key] = json.loads(text)
        except ValueError:
            args[key] = text
    return args


@app.command("command")
def device_command(
    device: Annotated[str, typer.Argument(help="Device id.")],
    command: Annotated[str, typer.Argument(
        help="open-gate, hold-open, release, ping, reload-config or sync-gallery.")],
    arg: Annotated[list[str] | None, typer.Option(
        "--arg", help="An argument as key=value (repeatable), e.g. --arg seconds=5.")] = None,
    expires_in: Annotated[int, typer.Option(
        help="Seconds after which the device refuses the command.")] = 30,
    wait: Annotated[float, typer.Option(
        help="Seconds to wait for the device's reply (0: do not wait).")] = 10.0,
) -> None:
    """Send a command to a device as the API does (audited, as cli:<user>) and print it as
    JSON, then its reply. Exit 0 when the device replied ok, 1 when it failed, refused
    or did not answer in time."""
    import dataclasses
    import getpass
    import json
    import time

    from core.settings import get_settings
    from hub.db import connect
    from hub.devices.commands import Command, CommandError, get_command, send_command
    from hub.devices.sender import CommandSender
    from hub.service import broker_tls

    settings = get_settings()
    if not settings.mqtt_url:
        raise fail("SMARTSCHOOL_MQTT_URL is not set: the hub's broker, e.g. mqtts://broker:8883")
    try:
        operator = f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        operator = "cli"
    password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
    sender = CommandSender(settings.mqtt_url,
                           client_id=f"{settings.hub_client_id}-cli-{os.getpid()}",
                           username=settings.mqtt_username, password=password,
                           tls=broker_tls(settings))

    def show(c: Command) -> None:
        typer.echo(json.dumps(dataclasses.asdict(c), default=str, ensure_ascii=False))

    try:
        # Autocommit: the audit row must be committed before the device can answer it.
        with connect(database_url(settings), autocommit=True) as conn:
            # The command line holds the database: it acts for the district.
            sent = send_command(conn, sender, device=device, name=command,
                                args=_command_args(arg or []), issued_by=operator,
                                role="district_admin", user_school=None, ttl_s=expires_in)
            show(sent)
            state, deadline = sent, time.monotonic() + wait
            while state.state == "sent" and time.monotonic() < deadline:
                time.sleep(0.2)  # the reply lands in the database through ingest
                state = get_command(conn, device, sent.id) or state
    except CommandError as exc:
        raise fail(str(exc)) from exc
    finally:
        sender.close()
    if state is not sent:
        show(state)
    if state.state != "replied":
        raise fail(f"command {sent.id}: {state.state}", 1)
