"""The `smartschool` command line. Each command's --help says what it does."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import warnings
from pathlib import Path
from typing import Annotated, Literal

import typer

from core.settings import Settings, get_settings
from smartschool.cli.devices import device_token

# pgserver asks platformdirs for a runtime dir, which warns on machines without a session bus.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR is not set.*")

app = typer.Typer(
    help="smartschool: smart school gates, classroom equipment telemetry, attendance and a "
    "district control room. Settings come from SMARTSCHOOL_* environment variables or .env.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
devices_app = typer.Typer(help="The registry of edge devices (gates, classroom agents).",
                          no_args_is_help=True)
schools_app = typer.Typer(help="Schools of the district.", no_args_is_help=True)
protocol_app = typer.Typer(help="The edge <-> hub wire protocol.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(devices_app, name="devices")
app.add_typer(schools_app, name="schools")
app.add_typer(protocol_app, name="protocol")


def _mount_edge() -> None:
    from smartschool.cli.edge import app as edge_app

    app.add_typer(edge_app, name="edge")


_mount_edge()


def _mount_faces() -> None:
    # smartschool.cli.faces imports only typer and pure code at the top: safe without the face extra
    from smartschool.cli.faces import app as faces_app

    app.add_typer(faces_app, name="faces")


_mount_faces()


def _mount_records() -> None:
    from smartschool.cli.records import app as records_app

    app.add_typer(records_app, name="records")


_mount_records()


def _mount_users() -> None:
    from smartschool.cli.users import app as users_app

    app.add_typer(users_app, name="users")


_mount_users()


def _mount_assets() -> None:
    from smartschool.cli.assets import app as assets_app

    app.add_typer(assets_app, name="assets")


_mount_assets()


def setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("pgserver", "amqtt", "transitions", "werkzeug", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def require_database(settings: Settings) -> str:
    if not settings.database_url:
        typer.echo(
            "SMARTSCHOOL_DATABASE_URL is not set (e.g. postgresql://smartschool@127.0.0.1/"
            "smartschool). `smartschool demo` starts an embedded database instead.",
            err=True,
        )
        raise typer.Exit(2)
    return settings.database_url


def require_broker(settings: Settings) -> str:
    if not settings.mqtt_url:
        typer.echo("SMARTSCHOOL_MQTT_URL is not set (e.g. mqtt://127.0.0.1:1883).", err=True)
        raise typer.Exit(2)
    return settings.mqtt_url


def wait_for_shutdown() -> None:
    """Block until SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass


@app.command()
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
    setup_logging(settings)
    run_demo(settings, DemoOptions(speed=speed, students=students, seed=seed,
                                   duration=duration, fresh=fresh, broker=prefer))


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


@app.command()
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
    setup_logging(settings)
    database_url = require_database(settings)
    mqtt_url = require_broker(settings)
    migrate(database_url)
    _ensure_admin(settings, database_url)
    service = Hub(settings, database_url=database_url, mqtt_url=mqtt_url, api=api,
                  ingest=ingest, shared=shared, client_id=client_id, workers=workers)
    service.start()
    try:
        wait_for_shutdown()
    finally:
        service.stop()


@app.command()
def dashboard() -> None:
    """Serve the Dash dashboard (district control room) on SMARTSCHOOL_DASHBOARD_HOST:PORT."""
    from dashboard.app import serve

    settings = get_settings()
    setup_logging(settings)
    serve(settings, database_url=require_database(settings),
          host=settings.dashboard_host, port=settings.dashboard_port)


@app.command()
def settings() -> None:
    """Print the effective settings (secrets masked) as JSON."""
    typer.echo(get_settings().model_dump_json(indent=2))


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply the schema migrations this database lacks (safe to repeat)."""
    from hub.db import migrate, schema_version

    settings = get_settings()
    setup_logging(settings)
    url = require_database(settings)
    applied = migrate(url)
    for m in applied:
        typer.echo(f"applied {m.version:04d}_{m.name}")
    typer.echo(f"schema at version {schema_version(url)}")


@schools_app.command("add")
def schools_add(
    code: Annotated[str, typer.Argument(
        help="School id (lower-case letters, digits, hyphens), used in MQTT topics.")],
    name: Annotated[str, typer.Argument(help="Full name, e.g. 'Trường THCS Hải Thành'.")],
    level: Annotated[str, typer.Option(help="mam_non, tieu_hoc, thcs or th_thcs.")],
    ward: Annotated[str, typer.Option(help="Ward (phường) of the school.")],
    start_time: Annotated[str, typer.Option(help="Lessons start, HH:MM.")] = "07:00",
) -> None:
    """Add a school (or update its name, level, ward and start time)."""
    from hub.db import connect
    from hub.devices.registry import RegistryError, upsert_school

    settings = get_settings()
    try:
        with connect(require_database(settings)) as conn:
            upsert_school(conn, code=code, name=name, level=level, ward=ward,
                          start_time=start_time)
    except RegistryError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"school {code} saved")


@devices_app.command("add")
def devices_add(
    school: Annotated[str, typer.Argument(help="School id the device belongs to.")],
    device: Annotated[str, typer.Argument(
        help="Device id (lower-case letters, digits, hyphens), its MQTT user name.")],
    role: Annotated[str, typer.Option(help="gate or classroom.")],
) -> None:
    """Register a device so the hub accepts its messages."""
    from hub.db import connect
    from hub.devices.registry import RegistryError, add_device

    settings = get_settings()
    try:
        with connect(require_database(settings)) as conn:
            add_device(conn, school=school, device=device, role=role)
    except RegistryError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"device {device} registered to {school} as {role}")


@devices_app.command("list")
def devices_list() -> None:
    """List registered devices with their state, one JSON object per line."""
    from hub.db import connect
    from hub.read.queries import list_devices

    settings = get_settings()
    with connect(require_database(settings)) as conn:
        for row in list_devices(conn, offline_gate_s=settings.offline_after_gate_s,
                                offline_classroom_s=settings.offline_after_classroom_s):
            typer.echo(row.model_dump_json())


devices_app.command("token")(device_token)


@protocol_app.command("schema")
def protocol_schema(
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write to this file instead of standard output.")] = None,
) -> None:
    """Write the JSON Schema of every protocol v1 payload."""
    from protocol.schema import payload_schema

    text = json.dumps(payload_schema(), indent=2, ensure_ascii=False) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")
    else:
        sys.stdout.write(text)


def main() -> None:
    app()
