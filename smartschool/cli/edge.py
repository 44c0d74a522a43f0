"""``smartschool edge ...``: run, check and describe a device agent."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from core.settings import get_settings
from edge.agent import run as run_agent
from edge.config import AgentConfig, ConfigError, load_config
from smartschool.cli.pjlink import pjlink
from smartschool.cli.support import setup_logging

app = typer.Typer(help="The device agent of a gate or classroom Raspberry Pi.",
                  no_args_is_help=True)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="The device's YAML file", show_default=False)
]


def _load(config: Path) -> AgentConfig:
    try:
        return load_config(config)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        raise typer.Exit(2) from None


@app.command()
def run(config: ConfigOption) -> None:
    """Run the agent until SIGINT/SIGTERM, then publish offline and disconnect."""
    _load(config)
    if not logging.getLogger().handlers:
        setup_logging(get_settings())  # dated, or JSON by setting, as the hub's
    run_agent(config)


@app.command()
def check(config: ConfigOption) -> None:
    """Validate a device YAML and print the effective settings."""
    typer.echo(_load(config).model_dump_json(indent=2))


@app.command()
def schema() -> None:
    """Print the JSON Schema of a device YAML (for editors and firmware_configs/)."""
    typer.echo(json.dumps(AgentConfig.model_json_schema(), indent=2, ensure_ascii=False))


@app.command()
def simulate(
    config: ConfigOption,
    images: Annotated[
        Path | None, typer.Option("--images", help="A folder of face images, in name order")
    ] = None,
    video: Annotated[Path | None, typer.Option("--video", help="A video file of the gate")] = None,
    photo: Annotated[
        Path | None,
        typer.Option("--photo", help="One photo held still in front of the camera for --hold "
                     "frames, with a camera's sensor noise: what face.liveness must refuse"),
    ] = None,
    taps: Annotated[
        Path | None,
        typer.Option("--taps", help="Card UIDs, one per line, or a CSV with a uid column"),
    ] = None,
    tap: Annotated[
        list[str] | None, typer.Option("--tap", help="A card UID to tap (repeatable)")
    ] = None,
    mqtt_url: Annotated[
        str | None, typer.Option("--mqtt-url", help="Broker to use instead of the config's")
    ] = None,
    outbox: Annotated[
        Path | None,
        typer.Option("--outbox", help="Outbox file (default: a temporary one, deleted after)"),
    ] = None,
    fps: Annotated[float, typer.Option(min=0.1, max=60, help="Frames per second")] = 5.0,
    hold: Annotated[
        int, typer.Option(min=1, max=1000, help="Frames each image is shown for")
    ] = 10,
) -> None:
    """Drive the real gate agent from simulated taps and frames; one JSON line per decision,
    then what the gate signalled to the person (beeps and lights) on stderr."""
    from edge.gate.simulate import SimulationError, all_taps, print_outcomes
    from edge.gate.simulate import simulate as run_simulation

    loaded = _load(config)
    if not logging.getLogger().handlers:
        logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s: %(message)s")
    try:
        result = run_simulation(
            loaded, config_path=config, images=images, video=video, photo=photo,
            taps=all_taps(tap or [], taps), mqtt_url=mqtt_url, outbox=outbox, fps=fps,
            hold=hold, on_decision=print_outcomes(typer.echo),
        )
    except (SimulationError, ValueError, FileNotFoundError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if result.signals:
        typer.echo(f"signalled: {', '.join(result.signals)}", err=True)
    if not result.connected or result.pending:
        typer.echo(f"broker not reached: {result.pending} event(s) left unsent", err=True)
        raise typer.Exit(1)


# `smartschool edge pjlink HOST [--port N] [--password P]`: the technician's projector query.
app.command("pjlink")(pjlink)
