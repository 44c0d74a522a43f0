"""``smartschool edge ...``: run, check and describe a device agent."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from edge.agent import run as run_agent
from edge.config import AgentConfig, ConfigError, load_config
from smartschool.settings import get_settings

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
        logging.basicConfig(
            level=get_settings().log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    run_agent(config)


@app.command()
def check(config: ConfigOption) -> None:
    """Validate a device YAML and print the effective settings."""
    typer.echo(_load(config).model_dump_json(indent=2))


@app.command()
def schema() -> None:
    """Print the JSON Schema of a device YAML (for editors and firmware_configs/)."""
    typer.echo(json.dumps(AgentConfig.model_json_schema(), indent=2, ensure_ascii=False))
