"""``smartschool timetable ...``: import a school's timetable spreadsheet, show what is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smartschool.cli.support import database_url as _database_url
from smartschool.cli.support import fail as _fail

app = typer.Typer(help="Timetables: each school's lessons (class, weekday, period, times, "
                       "subject, teacher, room) for lesson attendance.",
                  no_args_is_help=True)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="The timetable, .xlsx or .csv.", exists=True,
                                         dir_okay=False, readable=True)],
    school: Annotated[str, typer.Option(help="Code of the school the timetable is for.")],
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Check and count, then roll back.")] = False,
) -> None:
    """Import the school's whole timetable (it replaces the stored one); every bad row is
    reported as FILE:ROW:COLUMN: reason (exit 1) and then nothing is written. Importing
    the same file again changes nothing."""
    from hub.db import connect
    from hub.timetable.importer import UnknownSchool, import_timetable

    with connect(_database_url(), autocommit=True) as conn:
        try:
            report = import_timetable(conn, file.read_bytes(), file=str(file), school=school,
                                      dry_run=dry_run)
        except UnknownSchool as exc:
            raise _fail(str(exc)) from None
    for line in report.lines():
        typer.echo(line, err=True)
    state = "written" if report.written else ("dry run, rolled back" if dry_run and
                                              not report.errors else "nothing written")
    typer.echo(f"{file}: {report.rows} rows, {report.inserted} new, {report.updated} updated, "
               f"{report.unchanged} unchanged, {report.deleted} deleted, "
               f"{report.rooms_created} rooms created, {len(report.errors)} errors; {state}")
    if report.errors:
        raise typer.Exit(1)


@app.command("show")
def show(
    school: Annotated[str, typer.Option(help="Code of the school.")],
    class_name: Annotated[str | None, typer.Option("--class", help="Only this class.")] = None,
) -> None:
    """The stored timetable, one lesson a line."""
    from hub.db import connect
    from hub.timetable.importer import load_lessons
    from hub.timetable.rows import DAY_LABEL

    with connect(_database_url()) as conn:
        lessons = load_lessons(conn, school=school)
    shown = [x for x in lessons
             if class_name is None or x.class_name.casefold() == class_name.casefold()]
    if not shown:
        raise _fail(f"no lessons stored for {school}"
                    + (f" class {class_name}" if class_name else ""), 1)
    for x in shown:
        typer.echo(f"{x.class_name}\t{DAY_LABEL[x.weekday]}\t{x.period}\t"
                   f"{x.start:%H:%M}-{x.end:%H:%M}\t{x.subject}\t{x.teacher or ''}\t{x.room}")
