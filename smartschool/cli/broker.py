"""``smartschool broker ...``: setting up the district's Mosquitto."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smartschool.cli.support import fail

app = typer.Typer(help="The district's MQTT broker (Mosquitto with dynamic security).",
                  no_args_is_help=True)


@app.command("init")
def broker_init(
    directory: Annotated[Path, typer.Argument(
        help="Directory for the setup (created; must not hold one already).")],
    tls: Annotated[bool, typer.Option(
        "--tls", help="Make a district CA and a broker certificate; devices connect over "
        "TLS only.")] = False,
    port: Annotated[int, typer.Option(
        min=1, max=65535, help="Plain listener (loopback only with --tls).")] = 1883,
    tls_port: Annotated[int, typer.Option(
        min=1, max=65535, help="TLS listener for devices.")] = 8883,
    hostname: Annotated[str | None, typer.Option(
        help="The broker's name as devices reach it (certificate and device URL). "
        "Default: this host's name.")] = None,
    user: Annotated[str | None, typer.Option(
        help="System user Mosquitto runs as (its `user` setting); it must own DIRECTORY. "
        "Default: Mosquitto's own (`mosquitto`).")] = None,
    district: Annotated[str, typer.Option(help="Organisation name in the CA.")] = "smartschool",
) -> None:
    """Write mosquitto.conf, the accounts (dynamic security JSON) and smartschool.env.

    Start the broker with `mosquitto -c DIRECTORY/mosquitto.conf`; load the settings with
    `set -a; . DIRECTORY/smartschool.env; set +a` before `smartschool hub` and
    `smartschool devices add`.
    """
    from hub.broker.config import BrokerInitError, BrokerPlan, default_hostname, init_broker

    plan = BrokerPlan(directory.resolve(), port=port, tls=tls, tls_port=tls_port,
                      hostname=hostname or default_hostname(), user=user)
    try:
        written = init_broker(plan, district=district)
    except (BrokerInitError, OSError) as exc:
        raise fail(str(exc)) from exc
    for what, path in written.items():
        typer.echo(f"{what}: {path}")
    typer.echo(f"devices connect to {plan.device_url}", err=True)
