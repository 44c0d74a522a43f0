"""``smartschool protocol ...``: the edge <-> hub wire protocol."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="The edge <-> hub wire protocol.", no_args_is_help=True)


@app.command("schema")
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
