"""``smartschool kpi ...``: the plan's targets (issue #13)."""

from __future__ import annotations

import typer

from smartschool.cli.support import database_url

app = typer.Typer(help="The plan's targets: indicators and their monthly snapshots.",
                  no_args_is_help=True)


@app.command("snapshot")
def kpi_snapshot() -> None:
    """Store this month's indicators now, for the district, each ward and each school
    (replacing this month's earlier snapshot). The hub also takes one every hour of a
    month's last day, so the month keeps what its last day said."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from core.settings import get_settings
    from hub.db import connect
    from hub.kpi import snapshots

    settings = get_settings()
    with connect(database_url(settings)) as conn:
        month, rows = snapshots.take(conn, now=datetime.now(UTC),
                                     tz=ZoneInfo(settings.timezone))
    typer.echo(f"kpi snapshot {month:%Y-%m}: {rows} values stored")
