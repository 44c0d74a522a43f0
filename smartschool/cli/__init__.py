"""The ``smartschool`` command line: one module per command group, each mounted here.

A command module parses arguments, calls a function of the package that owns the work
and prints; what the groups share (error lines, required settings, logging) is in
``support``. Imports of the hub's, the dashboard's and the face extras happen inside the
commands, so ``smartschool --help`` works on a gate that has only the edge extra.
"""

from __future__ import annotations

import warnings

import typer

from smartschool.cli import (
    assets,
    broker,
    db,
    devices,
    edge,
    exchange,
    faces,
    protocol,
    records,
    run,
    schools,
    students,
    users,
)

# pgserver asks platformdirs for a runtime dir, which warns on machines without a session bus.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR is not set.*")

app = typer.Typer(
    help="smartschool: smart school gates, classroom equipment telemetry, attendance and a "
    "district control room. Settings come from SMARTSCHOOL_* environment variables or .env.",
    no_args_is_help=True,
    add_completion=False,
)
run.register(app)
app.add_typer(db.app, name="db")
app.add_typer(devices.app, name="devices")
app.add_typer(schools.app, name="schools")
app.add_typer(protocol.app, name="protocol")
app.add_typer(edge.app, name="edge")
app.add_typer(faces.app, name="faces")
app.add_typer(records.app, name="records")
app.add_typer(users.app, name="users")
app.add_typer(assets.app, name="assets")
# broker provisioning (issue #11)
app.add_typer(broker.app, name="broker")
# People leave (issue #12): leave and transfer
app.add_typer(students.app, name="students")
# The plan's targets (issue #13): kpi snapshot
from smartschool.cli import kpi  # noqa: E402

app.add_typer(kpi.app, name="kpi")
# Exchange with the city (issue 15): the feed's document schemas
app.add_typer(exchange.app, name="exchange")
# Classroom attendance (issue 14): timetable import
from smartschool.cli import timetable  # noqa: E402

app.add_typer(timetable.app, name="timetable")
# Warnings and forecasts (issue 15): imported by its full name, `warnings` here is the stdlib's
import smartschool.cli.warnings as warnings_cli  # noqa: E402

app.add_typer(warnings_cli.app, name="warnings")


def main() -> None:
    app()
