"""``smartschool warnings ...``: warnings and forecasts (issue 15)."""

from __future__ import annotations

from typing import Annotated

import typer

from smartschool.cli.support import database_url, fail

app = typer.Typer(help="Warnings and forecasts: chronic and rising absence, lateness, "
                  "projector lamps near their end, repeat faults.", no_args_is_help=True)

_KINDS = ("chronic_absence", "rising_absence", "lateness", "lamp_end_of_life", "repeat_fault")


@app.command("run")
def warnings_run() -> None:
    """Compute every warning now, as the hub does each night: open new ones (and offer
    them to their recipients once), update those still true, close those that cleared."""
    from zoneinfo import ZoneInfo

    from core.settings import get_settings
    from hub.db import connect
    from hub.warnings import runner

    settings = get_settings()
    with connect(database_url(settings)) as conn:
        result = runner.run(conn, tz=ZoneInfo(settings.timezone), trigger="cli")
    typer.echo(f"warnings as of {result.as_of}: {result.findings} true, {result.opened} "
               f"opened, {result.closed} closed, {result.notified} messages offered "
               f"({result.seconds:.2f} s)")


@app.command("list")
def warnings_list(
    school: Annotated[str | None, typer.Option(help="Only this school (its code)")] = None,
    kind: Annotated[str | None, typer.Option(help=", ".join(_KINDS))] = None,
    state: Annotated[str, typer.Option(help="open, closed or all")] = "open",
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 200,
) -> None:
    """The warnings, newest first, one JSON object a line."""
    from core.settings import get_settings
    from hub.db import connect
    from hub.warnings import read
    from hub.warnings.rules import KINDS

    if kind is not None and kind not in KINDS:
        raise fail(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    if state not in ("open", "closed", "all"):
        raise fail("state is open, closed or all")
    with connect(database_url(get_settings())) as conn:
        rows = read.list_warnings(conn, kinds=[kind] if kind else list(KINDS), school=school,
                                  state=state, limit=limit)  # type: ignore[arg-type]
    for row in rows:
        typer.echo(row.model_dump_json())
