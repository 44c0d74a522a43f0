"""``smartschool exchange ...``: exchange with the city (issue 15)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from smartschool.cli.support import database_url, fail

app = typer.Typer(help="Exchange with the city: the documents outside systems receive.",
                  no_args_is_help=True)
endpoints_app = typer.Typer(help="Where the hub pushes documents (systems that cannot pull "
                                 "the feed).", no_args_is_help=True)
app.add_typer(endpoints_app, name="endpoints")


@app.command("schema")
def exchange_schema(
    kind: Annotated[str | None, typer.Option(
        help="Only this kind's schema (school, learner, staff, attendance_daily, "
             "equipment, kpi_snapshot).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Write the files under this directory (e.g. docs/exchange) instead of "
             "printing.")] = None,
) -> None:
    """Print (or write) the versioned JSON Schemas of the feed's and the push's documents."""
    from hub.exchange.documents import FILE_NAMES, KINDS, schema_files
    from hub.exchange.push_documents import push_schema_files

    files = schema_files()
    if kind is not None:
        if kind not in KINDS:
            raise fail(f"kind {kind!r}: one of {', '.join(KINDS)}")
        files = {n: s for n, s in files.items() if n.endswith(f"/{FILE_NAMES[kind]}.schema.json")}
    else:
        # The push's own: the daily attendance aggregate and the delivery envelope.
        files |= push_schema_files()
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


@endpoints_app.command("add")
def endpoints_add(
    name: Annotated[str, typer.Argument(help="A short name (lower case, digits, . _ -)")],
    url: Annotated[str, typer.Option(help="Where to POST (http:// or https://)")],
    kind: Annotated[list[str], typer.Option(
        help="What to push: attendance_daily_aggregate (each school day after the absent "
             "cutoff), kpi_snapshot (each month after its snapshot); repeat for both")],
    secret: Annotated[str | None, typer.Option(
        help="The HMAC-SHA256 key the receiver verifies with (16-200 characters); a "
             "random one is made and printed once when absent")] = None,
) -> None:
    """Add a push endpoint. The secret is printed only here: give it to the receiver."""
    from hub.db import connect
    from hub.exchange import push

    key = secret if secret is not None else push.new_secret()
    with connect(database_url(), autocommit=True) as conn:
        try:
            endpoint = push.add_endpoint(conn, name=name, url=url, kinds=kind, secret=key,
                                         created_by="cli")
        except push.EndpointError as exc:
            raise fail(str(exc)) from exc
    typer.echo(f"endpoint {endpoint.name} -> {endpoint.url} ({', '.join(endpoint.kinds)})")
    if secret is None:
        typer.echo(f"secret: {key}")


@endpoints_app.command("list")
def endpoints_list() -> None:
    """The endpoints, what each receives, and its deliveries by state (no secrets)."""
    from hub.db import connect
    from hub.exchange import push

    with connect(database_url(), autocommit=True) as conn:
        found = push.list_endpoints(conn)
        counts = push.state_counts(conn)
    if not found:
        typer.echo("no push endpoints")
        return
    for e in found:
        states = counts.get(e.name, {})
        tally = " ".join(f"{s}={states.get(s, 0)}" for s in push.DELIVERY_STATES)
        typer.echo(f"{e.name}\t{e.url}\t{','.join(e.kinds)}\t{tally}")


@endpoints_app.command("remove")
def endpoints_remove(name: Annotated[str, typer.Argument()]) -> None:
    """Remove an endpoint; its deliveries not sent yet are given up (dead)."""
    from hub.db import connect
    from hub.exchange import push

    with connect(database_url(), autocommit=True) as conn:
        if not push.remove_endpoint(conn, name):
            raise fail(f"no endpoint named {name!r}", code=1)
    typer.echo(f"endpoint {name} removed")


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"--day {text!r}: a date like 2026-12-07") from exc


def _parse_month(text: str) -> date:
    try:
        return date.fromisoformat(text + "-01")
    except ValueError as exc:
        raise fail(f"--month {text!r}: a month like 2026-11") from exc


@app.command("push")
def exchange_push(
    now: Annotated[bool, typer.Option(
        "--now", help="Enqueue what is due and send it now (without: only show what is "
                      "due)")] = False,
    day: Annotated[list[str] | None, typer.Option(
        help="Consider this day (YYYY-MM-DD) instead of the recent ones; repeatable")] = None,
    month: Annotated[list[str] | None, typer.Option(
        help="Consider this month (YYYY-MM) instead of the last one; repeatable")] = None,
    retry_dead: Annotated[bool, typer.Option(
        "--retry-dead", help="First give every dead delivery (of an endpoint still there) a "
                             "new round of tries")] = False,
) -> None:
    """Push what the schedule says is due, as the hub does on its own: daily attendance
    aggregates after the absent cutoff, monthly KPIs after the month's snapshot; each
    (endpoint, kind, period) once. Failed sends are retried later by the hub with backoff."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from core.settings import get_settings
    from hub.db import connect
    from hub.exchange import push
    from hub.exchange.push_settings import PushSettings
    from hub.exchange.push_worker import ExchangePushWorker

    settings = get_settings()
    tz = ZoneInfo(settings.timezone)
    days = [_parse_day(d) for d in day] if day else None
    months = [_parse_month(m) for m in month] if month else None
    # Explicit days without months (or the other way) push only what was named.
    if days is not None and months is None:
        months = []
    if months is not None and days is None:
        days = []
    url = database_url(settings)
    push_settings = PushSettings()
    moment = datetime.now(UTC)
    with connect(url, autocommit=True) as conn:
        if retry_dead:
            typer.echo(f"dead deliveries tried again: {len(push.retry_dead(conn))}")
        if not now:
            due = push.due_pushes(conn, now=moment, tz=tz, settings=push_settings,
                                  days=days, months=months)
            names = {e.id: e.name for e in push.list_endpoints(conn)}
            for p in due:
                typer.echo(f"due: {names.get(p.endpoint_id)} {p.kind} {p.period}")
            typer.echo(f"{len(due)} due; run with --now to send")
            return
        made = push.enqueue_due(conn, now=moment, tz=tz, settings=push_settings,
                                days=days, months=months)
    worker = ExchangePushWorker(url, settings=push_settings, tz=tz)
    try:
        attempted = 0
        while (n := worker.deliver_due()) > 0:
            attempted += n
    finally:
        worker.stop()
    retrying = attempted - worker.sent - worker.failed
    typer.echo(f"enqueued {len(made)}; tried {attempted}: sent {worker.sent}, "
               f"retrying later {retrying}, dead {worker.failed}")
    if retrying or worker.failed:
        raise typer.Exit(1)
