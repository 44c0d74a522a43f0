"""Who may hold which role, and who may change whose account. Pure: no database.

Table-tested in tests/unit/test_users_rules.py; hub/accounts/users.py applies them to the
rows it reads and writes. The access model they build on is not decided here:

- hub/access.py: school_admin, teacher and facility_manager act for one school
  (SCHOOL_SCOPED_ROLES); district_admin and control_room see the whole district; a
  district admin manages every school, a school admin theirs (may_manage).
- hub/attendance/corrections.py: a teacher corrects the classes whose
  ``classes.teacher_username`` is theirs.

An ``actor`` of None is the operator at the command line: whoever can reach the database
already holds every right, so only the rules that protect the data itself apply to them
(the shape of an account, and never disabling the last district admin).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Final

from hub.access import ACCOUNT_ROLES, SCHOOL_ADMIN_GRANTS, SCHOOL_SCOPED_ROLES
from protocol.ids import is_valid_id

# Usernames go into SQL parameters and log lines: a bounded, printable alphabet keeps NUL
# bytes (which PostgreSQL rejects with an error) and control characters out.
USERNAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# argon2 cost grows with input length; nobody types a password longer than this.
MAX_PASSWORD_LEN: Final = 1024
# hub/accounts/auth.py accepts any non-empty password (the configured admin password
# predates these rules); accounts made here must be harder to guess. Generated ones have
# 16 characters.
MIN_PASSWORD_LEN: Final = 10
MAX_FULL_NAME_LEN: Final = 200


class UsersError(Exception):
    """Base of the refusals below; the message is meant for the person who asked."""


class UserInputError(UsersError):
    """The request itself is wrong (HTTP 422, CLI exit 2)."""


class UserNotFoundError(UsersError):
    """No such account or class, or not one the caller may see (HTTP 404, CLI exit 1)."""


class UserConflictError(UsersError):
    """The database's state refuses it: a taken username, the last admin (409, exit 1)."""


class UserForbiddenError(UsersError):
    """The caller may not do this to this account (HTTP 403)."""


@dataclass(frozen=True, slots=True)
class Account:
    """An account as the rules see it: never the password hash."""

    username: str
    role: str
    school: str | None
    full_name: str | None = None
    disabled: bool = False


class Keep(Enum):
    """Marks a field a change leaves as it is (None is a value: "no school")."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


@dataclass(frozen=True, slots=True)
class Changes:
    role: str | Keep = KEEP
    school: str | Keep | None = KEEP
    full_name: str | Keep | None = KEEP
    disabled: bool | Keep = KEEP
    password: str | None = None  # None: keep the password


# --- the shape of an account -----------------------------------------------------------


def valid_username(username: str) -> bool:
    return USERNAME_RE.fullmatch(username) is not None


def username_problem(username: str) -> str | None:
    if not valid_username(username):
        return (f"username {username!r}: start with a letter or digit, then letters, digits "
                "and ._@- only, at most 64 characters")
    return None


def role_problem(role: str) -> str | None:
    if role not in ACCOUNT_ROLES:
        return f"role {role!r}: one of {', '.join(sorted(ACCOUNT_ROLES))}"
    return None


def school_problem(role: str, school: str | None) -> str | None:
    """Whether this role may (must) have this school; existence is the database's part."""
    if role in SCHOOL_SCOPED_ROLES:
        if school is None:
            return f"a {role} acts for one school: give the school"
        if not is_valid_id(school):
            return f"school {school!r} is not a school code ([a-z0-9-], at most 64)"
        return None
    # A control room account created "for" a school would look scoped while actually
    # seeing the district.
    if school is not None:
        return f"a {role} acts for the whole district: give no school"
    return None


def password_problem(password: str, *, username: str) -> str | None:
    if len(password) < MIN_PASSWORD_LEN:
        return f"password: at least {MIN_PASSWORD_LEN} characters"
    if len(password) > MAX_PASSWORD_LEN:
        return f"password: at most {MAX_PASSWORD_LEN} characters"
    if password.casefold() == username.casefold():
        return "password: must not be the username"
    return None


# SMARTSCHOOL_SECRET_KEY signs every token and dashboard session: shorter than this it
# can be searched offline from one captured token (the generated key has 64 characters).
MIN_SECRET_KEY_LEN: Final = 32


def secret_key_problem(key: str) -> str | None:
    """Why a configured token signing key is refused at start, or None."""
    if len(key.strip()) < MIN_SECRET_KEY_LEN:
        return (f"SMARTSCHOOL_SECRET_KEY is too short: at least {MIN_SECRET_KEY_LEN} "
                "characters (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'),"
                " or unset it to have one generated into the data dir")
    return None


def admin_password_problem(password: str) -> str | None:
    """The built-in admin's password from SMARTSCHOOL_ADMIN_PASSWORD: an account's rules."""
    problem = password_problem(password, username="admin")
    return None if problem is None else f"SMARTSCHOOL_ADMIN_PASSWORD: {problem}"


def normalise_full_name(name: str | None) -> str | None:
    """NFC (as the records import does, so names compare equal), trimmed; blank is none."""
    if name is None:
        return None
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        return None
    if len(name) > MAX_FULL_NAME_LEN:
        raise UserInputError(f"full name: at most {MAX_FULL_NAME_LEN} characters")
    # Control characters (NUL above all, which PostgreSQL refuses) are never part of a name.
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise UserInputError("full name: no control characters")
    return name


def account_problem(account: Account) -> str | None:
    return (username_problem(account.username) or role_problem(account.role)
            or school_problem(account.role, account.school))


# --- who may do what -------------------------------------------------------------------


def may_see(actor: Account, target: Account) -> bool:
    """Whether ``target`` exists as far as ``actor`` is told: the district sees every
    account, a school admin their school's; to anyone else another school's account is
    not there at all (404, as for one that does not exist)."""
    if actor.role == "district_admin":
        return True
    return actor.role == "school_admin" and actor.school is not None \
        and target.school == actor.school


def may_administer(actor: Account, target: Account) -> bool:
    """Whether ``actor`` may create, or change, an account shaped like ``target``."""
    if actor.role == "district_admin":
        return True
    return (actor.role == "school_admin" and actor.school is not None
            and target.school == actor.school and target.role in SCHOOL_ADMIN_GRANTS)


def self_change_problem(actor: Account, before: Account, after: Account) -> str | None:
    """An admin locking themselves out (or promoting themselves) needs a second admin."""
    if actor.username != before.username:
        return None
    if after.role != before.role or after.school != before.school:
        return "you cannot change your own role or school: ask another admin"
    if after.disabled and not before.disabled:
        return "you cannot disable your own account"
    return None


def teacher_problem(teacher: Account, class_school: str) -> str | None:
    """Whether ``teacher`` may be made the teacher of a class of ``class_school``."""
    if teacher.role != "teacher":
        return f"{teacher.username} is a {teacher.role}, not a teacher"
    if teacher.school != class_school:
        return f"{teacher.username} teaches at {teacher.school}, not {class_school}"
    if teacher.disabled:
        return f"{teacher.username} is disabled"
    return None


def apply_changes(before: Account, changes: Changes) -> Account:
    after = before
    if not isinstance(changes.role, Keep):
        after = replace(after, role=changes.role)
    if not isinstance(changes.school, Keep):
        after = replace(after, school=changes.school)
    if not isinstance(changes.full_name, Keep):
        after = replace(after, full_name=normalise_full_name(changes.full_name))
    if not isinstance(changes.disabled, Keep):
        after = replace(after, disabled=changes.disabled)
    return after


def releases_classes(before: Account, after: Account) -> bool:
    """A teacher who stops being a teacher of that school stops holding its classes: the
    link would otherwise dangle, granting nothing but misleading every register."""
    return before.role == "teacher" and (after.role != "teacher" or after.school != before.school)


def require(problem: str | None) -> None:
    """Turn a rule's answer into the refusal the API and the CLI report."""
    if problem is not None:
        raise UserInputError(problem)


def require_allowed(actor: Account | None, target: Account) -> None:
    if actor is not None and not may_administer(actor, target):
        raise UserForbiddenError(
            "a school admin manages only their school's teachers and facility managers"
            if actor.role == "school_admin" else "only a district or school admin manages accounts"
        )


# --- the client address login throttling keys on (issue #12) ------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """SMARTSCHOOL_TRUSTED_PROXIES parsed; a bad entry is an error naming it."""
    found = []
    for entry in entries:
        try:
            found.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"SMARTSCHOOL_TRUSTED_PROXIES: {entry!r} is not an address or "
                             "network (e.g. 10.0.0.0/8)") from None
    return tuple(found)


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(peer: str | None, forwarded_for: str | None,
                   trusted: Sequence[Network]) -> str:
    """Whom a request comes from, for throttling failed logins.

    The peer itself unless it is a trusted proxy; then X-Forwarded-For read from the
    right (the hops our own proxies appended), skipping trusted proxies: the first other
    address is the client. Anything to its left was written by the client and may be
    forged. Behind a proxy without this setting every login shares the proxy's address,
    so one person's typos would lock everyone out; with it, no outsider can pick the
    address a failure is counted against.
    """
    who = peer or "unknown"
    if not forwarded_for or not _trusted(who, trusted):
        return who
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return who  # a malformed header: keep the proxy's own address
        if not _trusted(hop, trusted):
            return hop
    return hops[0]  # every hop is one of ours: the request started inside
