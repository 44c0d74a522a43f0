"""``smartschool users ...``: API accounts and which teacher holds which class.

The rules live in hub/accounts/rules.py, the database work in hub/accounts/users.py;
this module reads passwords, talks to the operator and maps refusals to exit codes: 0 done,
1 refused by what is in the database (unknown account, name taken, the last district
admin), 2 bad input or no database configured.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, Final

import typer

from smartschool.cli.support import database_url as _database_url
from smartschool.cli.support import fail as _fail

app = typer.Typer(
    help="API accounts (roles: district_admin, control_room for the district; school_admin, "
    "teacher, facility_manager for one school) and teachers' classes. Exit codes: 0 done, "
    "1 refused by the database's state, 2 bad input.",
    no_args_is_help=True,
)

ROLE_HELP: Final = ("district_admin, control_room (no --school); school_admin, teacher, "
                    "facility_manager (need --school); exchange: an outside system that "
                    "reads the change feed only (no --school).")
STDIN_HELP: Final = "Read the password from the first line of standard input."
TABLE_HEADERS: Final = ("USERNAME", "ROLE", "SCHOOL", "FULL NAME", "STATE", "CLASSES")
# How alarms reach an account (issue #13): add and set-contact.
CHANNEL_HELP: Final = ("How alarms reach the account: none, webhook, zalo (needs --zalo-id) "
                       "or sms (needs --phone).")
PHONE_HELP: Final = "Phone number for sms, e.g. 0912345678 or +84912345678."
ZALO_HELP: Final = "Zalo user id for the zalo channel."
WEBHOOK_HELP: Final = ("The account's own webhook URL (http/https); without it the webhook "
                       "channel posts to the district's SMARTSCHOOL_NOTIFY_WEBHOOK_URL.")


@contextmanager
def _session() -> Iterator[Any]:
    """A connection, with every refusal of hub.accounts.rules turned into a message and
    exit code."""
    import psycopg

    from hub.accounts import rules
    from hub.db import connect

    url = _database_url()
    try:
        with connect(url, autocommit=True) as conn:
            yield conn
    except rules.UserInputError as exc:
        raise _fail(str(exc), 2) from None
    except (rules.UserNotFoundError, rules.UserConflictError, rules.UserForbiddenError) as exc:
        raise _fail(str(exc), 1) from None
    except psycopg.OperationalError as exc:
        raise _fail(f"cannot use the database: {exc}".strip(), 1) from None


def read_password(*, from_stdin: bool, username: str) -> tuple[str, bool]:
    """(password, generated). From stdin's first line, typed twice on a terminal, or else
    generated: a script without a terminal still gets a strong password to hand over."""
    from hub.accounts.auth import generate_password
    from hub.accounts.rules import password_problem

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt(f"Password for {username}", hide_input=True,
                                confirmation_prompt=True)
    else:
        return generate_password(), True
    if problem := password_problem(password, username=username):
        raise _fail(problem)
    return password, False


def _show_generated(username: str, password: str) -> None:
    typer.echo(f"password for {username}: {password}")
    typer.echo("(shown once: hand it over now; `smartschool users set-password` resets it)")


def _class_id(conn: Any, school: str, name: str) -> int:
    from hub.accounts.users import find_class

    cls = find_class(conn, school=school, name=name)
    if cls is None:
        raise _fail(f"no class {name!r} in school {school!r}", 1)
    return cls.id


def table_lines(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns padded to their widest cell; the last one is not padded."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
            for r in [headers, *rows]]


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(
        help="Login name: letters, digits and ._@-, at most 64, e.g. gv.an.")],
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    school: Annotated[str | None, typer.Option(
        help="Code of the school a school role acts for.")] = None,
    full_name: Annotated[str | None, typer.Option(help="Name shown to people.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help=STDIN_HELP)] = False,
    channel: Annotated[str | None, typer.Option(help=CHANNEL_HELP)] = None,
    phone: Annotated[str | None, typer.Option(help=PHONE_HELP)] = None,
    zalo_id: Annotated[str | None, typer.Option(help=ZALO_HELP)] = None,
    webhook_url: Annotated[str | None, typer.Option(help=WEBHOOK_HELP)] = None,
) -> None:
    """Create an account.

    Without --password-stdin the password is typed twice on a terminal; without a
    terminal a strong one is generated and printed once. --channel and its address set
    how alarms reach the account (see set-contact)."""
    from hub.accounts import contacts, rules, users

    # Checked before asking for a password, so a typo does not cost two prompts.
    problem = rules.account_problem(rules.Account(username=username, role=role, school=school))
    contact = _contact(channel, phone, zalo_id, webhook_url)
    if problem:
        raise _fail(problem)
    password, generated = read_password(from_stdin=password_stdin, username=username)
    with _session() as conn:
        account = users.add_account(conn, username=username, role=role, school=school,
                                    full_name=full_name, password=password)
        if contact is not None:
            contacts.set_contact(conn, account.username, contact)
    where = f" of {account.school}" if account.school else ""
    typer.echo(f"added {account.role} {account.username}{where}")
    if contact is not None:
        typer.echo(f"contact of {account.username}: {_contact_text(contact)}")
    if generated:
        _show_generated(account.username, password)


# -- contacts: how alarms reach an account (issue #13) --------------------------------

def _contact(channel: str | None, phone: str | None, zalo_id: str | None,
             webhook_url: str | None) -> Any:
    """The contact the options describe (None: no option given), checked before any
    database work."""
    from hub.accounts.contact_rules import Contact, contact_problem, normalise

    if channel is None and phone is None and zalo_id is None and webhook_url is None:
        return None
    contact = normalise(Contact(channel=channel or "none", phone=phone, zalo_id=zalo_id,
                                webhook_url=webhook_url))
    if problem := contact_problem(contact):
        raise _fail(problem)
    return contact


def _contact_text(contact: Any) -> str:
    parts = [contact.channel]
    for label, value in (("phone", contact.phone), ("zalo", contact.zalo_id),
                         ("webhook", contact.webhook_url)):
        if value:
            parts.append(f"{label} {value}")
    return ", ".join(parts)


@app.command("set-contact")
def set_contact(
    username: Annotated[str, typer.Argument(help="The account.")],
    channel: Annotated[str, typer.Option(help=CHANNEL_HELP)],
    phone: Annotated[str | None, typer.Option(help=PHONE_HELP)] = None,
    zalo_id: Annotated[str | None, typer.Option(help=ZALO_HELP)] = None,
    webhook_url: Annotated[str | None, typer.Option(help=WEBHOOK_HELP)] = None,
) -> None:
    """Set how alarms reach the account (replaces its contact as a whole).

    A school's facility managers hear of its new major alarms; district admins and the
    control room hear of those nobody acknowledged in time. --channel none stops it."""
    from hub.accounts import contacts

    contact = _contact(channel, phone, zalo_id, webhook_url)
    with _session() as conn:
        done = contacts.set_contact(conn, username, contact)
    typer.echo(f"contact of {done.username}: {_contact_text(done)}")


@app.command("list")
def list_(
    school: Annotated[str | None, typer.Option(help="Only this school's accounts.")] = None,
    role: Annotated[str | None, typer.Option(help="Only this role.")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="One JSON object per line instead of a table.")] = False,
) -> None:
    """List accounts with their role, school, state and classes. Never shows hashes."""
    from hub.accounts import rules, users
    from protocol.ids import is_valid_id

    if role is not None and (problem := rules.role_problem(role)):
        raise _fail(problem)
    if school is not None and not is_valid_id(school):
        raise _fail(f"school {school!r} is not a school code ([a-z0-9-], at most 64)")
    with _session() as conn:
        found = users.list_accounts(conn, school=school, role=role)
    if as_json:
        for item in found:
            a = item.account
            typer.echo(json.dumps(
                {"username": a.username, "role": a.role, "school": a.school,
                 "full_name": a.full_name, "disabled": a.disabled,
                 "created_at": item.created_at.isoformat(),
                 "classes": [{"id": c.id, "name": c.name} for c in item.classes]},
                ensure_ascii=False))
        return
    rows = [
        (i.account.username, i.account.role, i.account.school or "-", i.account.full_name or "-",
         "disabled" if i.account.disabled else "active",
         ", ".join(c.name for c in i.classes) or "-")
        for i in found
    ]
    for line in table_lines(TABLE_HEADERS, rows):
        typer.echo(line)
    typer.echo(f"{len(rows)} accounts", err=True)


@app.command("set-password")
def set_password(
    username: Annotated[str, typer.Argument(help="The account.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help=STDIN_HELP)] = False,
) -> None:
    """Set an account's password.

    Typed twice on a terminal, read with --password-stdin, else generated and printed
    once. The account's tokens already issued and its dashboard sessions end at once."""
    from hub.accounts import rules, users

    with _session() as conn:
        if users.get_account(conn, username) is None:
            raise _fail(f"no account {username!r}", 1)
    password, generated = read_password(from_stdin=password_stdin, username=username)
    with _session() as conn:
        users.update_account(conn, username, rules.Changes(password=password))
    typer.echo(f"password of {username} changed")
    if generated:
        _show_generated(username, password)


@app.command("disable")
def disable(username: Annotated[str, typer.Argument(help="The account.")]) -> None:
    """Refuse the account's logins and its tokens at once.

    The last active district admin cannot be disabled."""
    from hub.accounts import rules, users

    with _session() as conn:
        users.update_account(conn, username, rules.Changes(disabled=True))
    typer.echo(f"disabled {username}: logins and tokens refused from now on")


@app.command("enable")
def enable(username: Annotated[str, typer.Argument(help="The account.")]) -> None:
    """Allow a disabled account to log in again (with its old password)."""
    from hub.accounts import rules, users

    with _session() as conn:
        users.update_account(conn, username, rules.Changes(disabled=False))
    typer.echo(f"enabled {username}")


@app.command("assign-class")
def assign_class(
    username: Annotated[str, typer.Argument(help="A teacher of that school.")],
    school: Annotated[str, typer.Option(help="Code of the class's school.")],
    class_name: Annotated[str, typer.Option("--class", help="Class name, e.g. 6A1.")],
) -> None:
    """Make a teacher the one who may correct a class's register.

    A class has one such teacher: a previous one is replaced (and named in the output)."""
    from hub.accounts import users

    with _session() as conn:
        done = users.set_class_teacher(conn, _class_id(conn, school, class_name), username)
    was = f" (was {done.previous})" if done.previous and done.previous != username else ""
    typer.echo(f"class {done.cls.name} of {done.cls.school}: teacher {username}{was}")


@app.command("unassign-class")
def unassign_class(
    username: Annotated[str, typer.Argument(help="The class's current teacher.")],
    school: Annotated[str, typer.Option(help="Code of the class's school.")],
    class_name: Annotated[str, typer.Option("--class", help="Class name, e.g. 6A1.")],
) -> None:
    """Take a class away from its teacher (refused if USERNAME does not hold it)."""
    from hub.accounts import users

    with _session() as conn:
        done = users.release_class(conn, _class_id(conn, school, class_name), username)
    typer.echo(f"class {done.cls.name} of {done.cls.school}: no teacher (was {username})")
