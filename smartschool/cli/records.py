"""``smartschool records ...``: import and export the education database's lists, record and
withdraw consent, purge raw gate events past retention, write the sample export."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from smartschool.cli.support import database_url as _database_url
from smartschool.cli.support import fail as _fail

app = typer.Typer(help="Records: import/export of pupils, staff, cards and guardians' contacts;"
                       " consent; retention.",
                  no_args_is_help=True)

# Below this many rows an import takes well under a second: no bar to flicker.
PROGRESS_MIN_ROWS: Final = 500
KIND_HELP: Final = "students, staff, cards or guardians (parents' phone and Zalo contacts)."




def _kind(value: str) -> str:
    from hub.records.columns import KINDS

    if value not in KINDS:
        raise typer.BadParameter(f"one of {', '.join(KINDS)}")
    return value


def _today() -> date:
    from zoneinfo import ZoneInfo

    from core.settings import get_settings

    # A birth date "in the future" is judged by the district's calendar, not the server's.
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="The export, .xlsx or .csv.", exists=True,
                                         dir_okay=False, readable=True)],
    school: Annotated[str | None, typer.Option(
        help="Code of the school the list belongs to; may be left out when the database "
        "holds one school.")] = None,
    kind: Annotated[str, typer.Option(help=KIND_HELP, callback=_kind)] = "students",
    mapping: Annotated[Path | None, typer.Option(
        help="YAML table 'header in the file: column' (or null to ignore a column).",
        exists=True, dir_okay=False)] = None,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Import the valid rows and report the others.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Check and count, then roll back.")] = False,
    full_roster: Annotated[bool, typer.Option(
        "--full-roster", help="The file lists every pupil of the school: the active pupils "
        "it does not name are marked as left (cards refused, encodings deleted, registers "
        "kept). A dry run counts them first and asks before writing.")] = False,
    yes: Annotated[bool, typer.Option(
        "--yes", help="With --full-roster: do not ask after the dry-run count.")] = False,
) -> None:
    """Import a list; every bad row is reported as FILE:ROW:COLUMN: reason (exit 1).
    Nothing is written unless the whole file is valid, or --skip-invalid is given.
    Re-importing the same file changes nothing."""
    from hub.db import connect
    from hub.records.importer import UnknownSchool, import_records, load_mapping

    try:
        table = load_mapping(mapping.read_text(encoding="utf-8")) if mapping else None
    except ValueError as exc:
        raise _fail(f"{mapping}: {exc}") from None
    with connect(_database_url(), autocommit=True) as conn, _Progress() as bar:
        if school is None:
            school = _only_school(conn)

        def run(dry: bool) -> Any:
            try:
                return import_records(
                    conn, file.read_bytes(), file=str(file), school=school,
                    kind=kind,  # type: ignore[arg-type]  # checked by _kind
                    today=_today(), changed_by=_operator(), mapping=table,
                    skip_invalid=skip_invalid, dry_run=dry, full_roster=full_roster,
                    progress=bar.advance, on_total=bar.start,
                )
            except (UnknownSchool, ValueError) as exc:
                raise _fail(str(exc)) from None

        if full_roster and not dry_run:
            # People leave (issue #12): count first, then ask before marking anyone.
            counted = run(True)
            if counted.leavers and not counted.errors:
                _echo_leavers(counted.leavers, file, "would be marked as left")
                if not yes and not typer.confirm("Import and mark them as left?",
                                                 default=False, err=True):
                    raise _fail("nothing written", 1)
        report = run(dry_run)
    for line in report.lines() + report.warning_lines():
        typer.echo(line, err=True)
    state = "written" if report.written else ("dry run, rolled back" if dry_run
                                              else "nothing written")
    typer.echo(
        f"{file}: {report.rows} rows, {report.inserted} new, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.classes_created} classes created, "
        f"{len(report.errors)} errors"
        + (f", {len(report.warnings)} warnings" if report.warnings else "")
        + f"; {state}"
    )
    if full_roster:
        _echo_full_roster(report, file, dry_run=dry_run)
    if report.errors:
        raise typer.Exit(1)


# Codes listed in a full-roster summary; the rest are counted.
LEAVERS_SHOWN: Final = 20


def _echo_leavers(codes: list[str], file: Path, what: str) -> None:
    shown = ", ".join(codes[:LEAVERS_SHOWN]) + (", ..." if len(codes) > LEAVERS_SHOWN else "")
    typer.echo(f"{file}: {len(codes)} active pupils not on the roster {what}: {shown}",
               err=True)


def _echo_full_roster(report: Any, file: Path, *, dry_run: bool) -> None:
    if not report.leavers:
        typer.echo(f"{file}: every active pupil is on the roster; nobody left")
    elif report.leavers_marked and report.written:
        typer.echo(f"{file}: {len(report.leavers)} pupils not on the roster marked as left")
    elif dry_run and not report.errors:
        _echo_leavers(report.leavers, file, "would be marked as left")
    else:
        typer.echo(f"{file}: {len(report.leavers)} pupils not on the roster were not marked "
                   "as left: a roster with errors cannot say who is missing", err=True)


def _only_school(conn: Any) -> str:
    """The school a list belongs to when --school is left out: the only one there is.
    With several, guessing from class names could put pupils in the wrong school."""
    from hub.devices.registry import school_ids

    codes = school_ids(conn)
    if len(codes) == 1:
        typer.echo(f"school: {codes[0]} (the only one in the database)", err=True)
        return codes[0]
    if not codes:
        raise _fail("no school in the database yet: add it first (smartschool schools add)")
    raise _fail(f"the database holds {len(codes)} schools: say which with --school "
                f"(one of {', '.join(codes[:10])}{', ...' if len(codes) > 10 else ''})")


class _Progress:
    """A rich progress bar on a terminal for large files; silent otherwise."""

    def __init__(self) -> None:
        self._bar: object | None = None
        self._task: object | None = None

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()  # type: ignore[attr-defined]

    def start(self, total: int) -> None:
        if total < PROGRESS_MIN_ROWS or not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import Progress

        bar = Progress(console=Console(stderr=True), transient=True)
        bar.start()
        self._task = bar.add_task("importing", total=total)
        self._bar = bar

    def advance(self, rows: int) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, rows)  # type: ignore[attr-defined]


@app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="Where to write, .xlsx or .csv.", dir_okay=False)],
    school: Annotated[str, typer.Option(help="Code of the school.")],
    kind: Annotated[str, typer.Option(help=KIND_HELP, callback=_kind)] = "students",
) -> None:
    """Write a list in the import's format: importing it back changes nothing."""
    from hub.db import connect
    from hub.records.export import export_rows
    from hub.records.tables import TableError, suffix_of, write_rows
    from hub.records.writer import load_school

    try:
        suffix_of(file.name)
    except TableError as exc:
        raise _fail(str(exc)) from None
    with connect(_database_url(), autocommit=True) as conn:
        if load_school(conn, school) is None:
            raise _fail(f"school {school!r} does not exist")
        headers, rows = export_rows(conn, school, kind)  # type: ignore[arg-type]
    write_rows(file, headers, rows)
    typer.echo(f"{file}: {len(rows)} rows")


@app.command("consent")
def consent(
    code: Annotated[str, typer.Argument(help="Person code (pupil or staff).")],
    given_by: Annotated[str, typer.Option("--by", help="Who agreed: their full name.")],
    role: Annotated[str, typer.Option(help="guardian or self.")],
    method: Annotated[str, typer.Option(help="How: paper form no. ..., app, ...")],
    at: Annotated[datetime | None, typer.Option(
        help="When, ISO 8601 with offset (default now).")] = None,
) -> None:
    """Record a consent to face enrollment."""
    from hub.db import connect
    from hub.records.consent import check_consent_input, find_person, record_consent

    if role not in ("guardian", "self"):
        raise _fail("role is guardian or self")
    now = datetime.now(UTC)
    given_at = at or now
    problems = check_consent_input(given_by=given_by, method=method, given_at=given_at, now=now)
    if problems:
        raise _fail("; ".join(problems))
    with connect(_database_url(), autocommit=True) as conn:
        person = find_person(conn, code)
        if person is None:
            raise _fail(f"no person {code!r}")
        ident = record_consent(conn, person, given_by=given_by,
                               role=role,  # type: ignore[arg-type]  # checked above
                               given_at=given_at, method=method, recorded_by=_operator())
    typer.echo(f"consent {ident} recorded for {code}")


@app.command("withdraw")
def withdraw(code: Annotated[str, typer.Argument(help="Person code (pupil or staff).")]) -> None:
    """Withdraw face consent: deletes the person's encodings and marks the gallery stale."""
    from hub.db import connect
    from hub.records.consent import withdraw_consent

    with connect(_database_url(), autocommit=True) as conn:
        result = withdraw_consent(conn, code, at=datetime.now(UTC))
    if result is None:
        raise _fail(f"no person {code!r}")
    typer.echo(f"{code}: {result.consents} consents withdrawn, {result.encodings_deleted} "
               f"encodings deleted, gallery version {result.gallery_version}")


@app.command("purge")
def purge(
    older_than_days: Annotated[int | None, typer.Option(
        min=1, help="Retention in days (default SMARTSCHOOL_EVENT_RETENTION_DAYS, else 400).")
    ] = None,
) -> None:
    """Delete raw gate events received longer ago than the retention; the daily attendance
    rollup is kept."""
    from core.settings import get_settings
    from hub.db import connect
    from hub.records.retention import (
        DEFAULT_EVENT_RETENTION_DAYS,
        purge_gate_events,
        retention_cutoff,
    )

    days = older_than_days or int(getattr(get_settings(), "event_retention_days",
                                          DEFAULT_EVENT_RETENTION_DAYS))
    cutoff = retention_cutoff(datetime.now(UTC), days)
    with connect(_database_url(), autocommit=True) as conn:
        deleted = purge_gate_events(conn, cutoff)
    typer.echo(f"deleted {deleted} gate events received before {cutoff.isoformat()}")


@app.command("sample")
def sample(
    folder: Annotated[Path, typer.Argument(help="Where to write the sample files.",
                                           file_okay=False)],
) -> None:
    """Write the sample export of one simulated school (students, staff, cards, guardians;
    xlsx, csv)."""
    from hub.records.tables import write_rows
    from smartschool.demo.records_sample import build_sample

    folder.mkdir(parents=True, exist_ok=True)
    built = build_sample()
    for kind, (headers, rows) in (("students", built.students), ("staff", built.staff),
                                  ("cards", built.cards), ("guardians", built.guardians)):
        for suffix in (".xlsx", ".csv"):
            path = folder / f"{built.school_id}-{kind}{suffix}"
            write_rows(path, headers, rows)
            typer.echo(f"{path}: {len(rows)} rows")
