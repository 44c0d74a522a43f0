"""``smartschool exchange ...``: exchange with the city (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from smartschool.cli.support import fail

app = typer.Typer(help="Exchange with the city: the documents outside systems receive.",
                  no_args_is_help=True)


@app.command("schema")
def exchange_schema(
    kind: Annotated[str | None, typer.Option(
        help="Only this kind's schema (school, learner, staff, attendance_daily, "
             "equipment, kpi_snapshot).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Write the files under this directory (e.g. docs/exchange) instead of "
             "printing.")] = None,
) -> None:
    """Print (or write) the versioned JSON Schemas of the feed's documents."""
    from hub.exchange.documents import FILE_NAMES, KINDS, schema_files

    files = schema_files()
    if kind is not None:
        if kind not in KINDS:
            raise fail(f"kind {kind!r}: one of {', '.join(KINDS)}")
        files = {n: s for n, s in files.items() if n.endswith(f"/{FILE_NAMES[kind]}.schema.json")}
    if out is None:
        shown = next(iter(files.values())) if kind is not None else files
        typer.echo(json.dumps(shown, ensure_ascii=False, indent=2))
        return
    for name, schema in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n",
                        encoding="utf-8")
        typer.echo(f"wrote {path}")
