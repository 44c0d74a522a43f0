"""``smartschool students ...``: a pupil leaves the school, or moves to another school."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from smartschool.cli.records import _operator, _today
from smartschool.cli.support import database_url, fail

app = typer.Typer(help="Pupils who leave or move school: their cards stop at the gates, "
                       "their face encodings go, their registers stay.",
                  no_args_is_help=True)


def _print(move: object) -> None:
    from hub.records.leavers import Move

    assert isinstance(move, Move)
    where = f" to {move.to_school}" if move.to_school else ""
    versions = ", ".join(f"{s} at version {v}" for s, v in sorted(move.sync_versions.items()))
    typer.echo(f"{move.code}: {move.kind} from {move.from_school}{where} on "
               f"{move.day.isoformat()}; {move.cards} cards refused at {move.from_school}'s "
               f"gates, {move.encodings_deleted} face encodings deleted; gates resync "
               f"({versions})")


def _check(day: date, reason: str | None) -> None:
    from hub.records.leavers import leave_problems

    problems = leave_problems(day=day, today=_today(), reason=reason)
    if problems:
        raise fail("; ".join(problems))


@app.command("leave")
def leave(
    code: Annotated[str, typer.Argument(help="The pupil's person code.")],
    day: Annotated[str, typer.Option("--date", help="The day they left, YYYY-MM-DD.")],
    reason: Annotated[str | None, typer.Option(help="Why (moved away, ...).")] = None,
) -> None:
    """Record that a pupil left: cards refused at every gate within seconds, face encodings
    deleted, registers kept."""
    from hub.db import connect
    from hub.records.leavers import MoveError
    from hub.records.leavers import leave as record_leave

    left_on = _date(day)
    _check(left_on, reason)
    with connect(database_url(), autocommit=True) as conn:
        try:
            move = record_leave(conn, code, day=left_on, reason=reason, by=_operator())
        except MoveError as exc:
            raise fail(str(exc), 2 if exc.not_found else 1) from None
    _print(move)


@app.command("transfer")
def transfer(
    code: Annotated[str, typer.Argument(help="The pupil's person code.")],
    to: Annotated[str, typer.Option("--to", help="Code of the receiving school.")],
    day: Annotated[str | None, typer.Option(
        "--date", help="The day of the move, YYYY-MM-DD (default today).")] = None,
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
) -> None:
    """Move a pupil (and their cards) to another school of the district; both schools'
    gates resync. The receiving school assigns a class and enrolls the face again."""
    from hub.db import connect
    from hub.records.leavers import MoveError
    from hub.records.leavers import transfer as record_transfer

    moved_on = _date(day) if day else _today()
    _check(moved_on, reason)
    with connect(database_url(), autocommit=True) as conn:
        try:
            move = record_transfer(conn, code, to_school=to, day=moved_on, reason=reason,
                                   by=_operator())
        except MoveError as exc:
            raise fail(str(exc), 2 if exc.not_found or exc.invalid else 1) from None
    _print(move)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"--date {value!r} is not a date (YYYY-MM-DD)") from None
