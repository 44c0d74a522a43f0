"""``smartschool demo``, ``hub``, ``dashboard`` and ``settings``: the commands that run the
system or show how it is set up."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from core.settings import Settings, get_settings
from smartschool.cli.support import (
    broker_url,
    database_url,
    fail,
    setup_logging,
    wait_for_shutdown,
)


def register(app: typer.Typer) -> None:
    """These commands sit at the top level of ``smartschool``, not in a group."""
    app.command()(demo)
    app.command()(hub)
    app.command()(dashboard)
    app.command()(settings)


def demo(
    speed: Annotated[float, typer.Option(min=1, max=3600,
        help="Simulated seconds per real second (60: a school morning in about a minute).")
    ] = 60.0,
    students: Annotated[int, typer.Option(min=100, max=100_000,
        help="Approximate number of students in the simulated district.")] = 15_000,
    seed: Annotated[int, typer.Option(help="Random seed of the simulated district.")] = 2025,
    duration: Annotated[float | None, typer.Option(
        help="Stop by itself after this many seconds (default: run until Ctrl-C).")] = None,
    fresh: Annotated[bool, typer.Option(
        "--fresh", help="Wipe the embedded database first.")] = False,
    broker: Annotated[str, typer.Option(
        help="Embedded broker when SMARTSCHOOL_MQTT_URL is unset: auto, mosquitto or amqtt.")
    ] = "auto",
) -> None:
    """Run the whole system on this machine: database, broker, hub, API, dashboard and a
    simulated Dương Kinh district. No settings needed; SMARTSCHOOL_DATABASE_URL and
    SMARTSCHOOL_MQTT_URL make it use real services instead."""
    from smartschool.demo.run import DemoOptions, run_demo

    if broker not in ("auto", "mosquitto", "amqtt"):
        raise typer.BadParameter("broker must be auto, mosquitto or amqtt")
    prefer: Literal["auto", "mosquitto", "amqtt"] = broker  # type: ignore[assignment]
    settings = get_settings()
    if "dashboard_public_wall" not in settings.model_fields_set:
        # The demo's wall is for showing around: public (counts only) unless told otherwise.
        settings = settings.model_copy(update={"dashboard_public_wall": True})
    refuse_weak_secrets(settings)
    setup_logging(settings)
    run_demo(settings, DemoOptions(speed=speed, students=students, seed=seed,
                                   duration=duration, fresh=fresh, broker=prefer))


def refuse_weak_secrets(settings: Settings) -> None:
    """Exit 2 before starting anything when SMARTSCHOOL_SECRET_KEY or
    SMARTSCHOOL_ADMIN_PASSWORD is set but too weak (unset, strong ones are generated)."""
    from hub.accounts.rules import admin_password_problem, secret_key_problem

    problems = []
    if settings.secret_key is not None:
        problems.append(secret_key_problem(settings.secret_key.get_secret_value()))
    if settings.admin_password is not None:
        problems.append(admin_password_problem(settings.admin_password.get_secret_value()))
    found = [p for p in problems if p]
    if found:
        raise fail("; ".join(found))


def _ensure_admin(settings: Settings, database_url: str) -> None:
    """The `admin` account exists; a generated password is printed once, when created."""
    from hub.accounts.auth import ensure_admin
    from hub.db import connect

    password = settings.admin_password.get_secret_value() if settings.admin_password else None
    with connect(database_url) as conn:
        generated = ensure_admin(conn, password=password)
    if generated:
        typer.echo(f"created the admin account: admin / {generated} (shown once; set "
                   "SMARTSCHOOL_ADMIN_PASSWORD to choose it)")


def hub(
    api: Annotated[bool, typer.Option(help="Serve the HTTP API in this process.")] = True,
    ingest: Annotated[bool, typer.Option(help="Ingest MQTT in this process.")] = True,
    shared: Annotated[bool, typer.Option(
        help="Use the MQTT 5 shared subscription $share/hub/... so several hub processes "
        "split the stream.")] = False,
    client_id: Annotated[str | None, typer.Option(
        help="MQTT client id (default SMARTSCHOOL_HUB_CLIENT_ID); must differ per worker.")
    ] = None,
    workers: Annotated[int, typer.Option(min=0, max=64,
        help="Run ingest in N supervised child processes sharing $share/hub/... (client "
        "ids {client-id}-w0..); 0 ingests in this process.")] = 0,
) -> None:
    """Run the hub: MQTT ingest into PostgreSQL and the API, in one process by default."""
    from hub.db import migrate
    from hub.service import Hub

    settings = get_settings()
    refuse_weak_secrets(settings)
    setup_logging(settings)
    url = database_url(settings)
    mqtt_url = broker_url(settings)
    migrate(url)
    _ensure_admin(settings, url)
    from core.mqtt import BrokerRefused, TransportRefused

    try:
        service = Hub(settings, database_url=url, mqtt_url=mqtt_url, api=api,
                      ingest=ingest, shared=shared, client_id=client_id, workers=workers)
    except (TransportRefused, BrokerRefused) as exc:
        # plain MQTT off loopback, bad broker credentials, a CA that does not verify it
        raise fail(f"broker {mqtt_url}: {exc}") from exc
    service.start()
    try:
        wait_for_shutdown()
    finally:
        service.stop()


def dashboard() -> None:
    """Serve the Dash dashboard (district control room) on SMARTSCHOOL_DASHBOARD_HOST:PORT."""
    from dashboard.app import serve

    settings = get_settings()
    refuse_weak_secrets(settings)
    setup_logging(settings)
    serve(settings, database_url=database_url(settings),
          host=settings.dashboard_host, port=settings.dashboard_port)


def settings() -> None:
    """Print the effective settings (secrets masked, the database password too) as JSON."""
    import json

    from hub.api.redact import redact_url

    values = json.loads(get_settings().model_dump_json())
    # The URL is a plain string (libpq reads it whole), so pydantic cannot mask the
    # password inside it; the API's health answer redacts it the same way.
    for name in ("database_url", "mqtt_url"):
        if values.get(name):
            values[name] = redact_url(values[name])
    typer.echo(json.dumps(values, indent=2, ensure_ascii=False))
