"""Accounts and the class-teacher link: who may hold which role, and the writes that follow.

Pure rules first (table-tested in tests/unit/test_users_rules.py), then the database
functions the CLI (hub/users_cli.py) and the API (hub/api/routes/users.py) share. The
access model they mirror lives elsewhere and is not changed here:

- hub/auth.py: school_admin, teacher and facility_manager act for one school
  (SCHOOL_SCOPED_ROLES); district_admin and control_room see the whole district.
- hub/records/access.py: a district admin manages every school, a school admin theirs.
- hub/attendance/corrections.py: a teacher corrects the classes whose
  ``classes.teacher_username`` is theirs.

An ``actor`` of None is the operator at the command line: whoever can reach the database
already holds every right, so only the rules that protect the data itself apply to them
(the shape of an account, and never disabling the last district admin).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Any, Final

import psycopg

from hub.accounts.auth import (
    MAX_PASSWORD_LEN,
    ROLES,
    SCHOOL_SCOPED_ROLES,
    User,
    hash_password,
    valid_username,
)
from hub.records.access import may_manage
from protocol.topics import is_valid_id

# District-wide roles: they must not carry a school, or a control room account created
# "for" a school would look scoped while actually seeing the district.
DISTRICT_ROLES: Final = ROLES - SCHOOL_SCOPED_ROLES
# Roles that administer accounts. The read-only control room does not.
USER_ADMIN_ROLES: Final = frozenset({"district_admin", "school_admin"})
# What a school admin may hand out in their own school: staff, but not admin rights (a
# school admin minting peers would take appointments out of the district's hands).
SCHOOL_ADMIN_GRANTS: Final = frozenset({"teacher", "facility_manager"})
# hub/auth.py accepts any non-empty password (the configured admin password predates this
# module); accounts made here must be harder to guess. Generated ones have 16 characters.
MIN_PASSWORD_LEN: Final = 10
MAX_FULL_NAME_LEN: Final = 200
# Unique among the hub's advisory lock ids (0x5C5C_00xx); taken by every change that could
# leave the district without an active admin.
ADMINS_LOCK_ID: Final = 0x5C5C_0020


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

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(username=user.username, role=user.role, school=user.school_id,
                   full_name=user.full_name, disabled=user.disabled)


@dataclass(frozen=True, slots=True)
class ClassRef:
    id: int
    school: str
    name: str


@dataclass(frozen=True, slots=True)
class ClassInfo:
    id: int
    school: str
    name: str
    grade: int
    homeroom_teacher: str | None  # the display name from the records
    teacher: str | None  # the account that may correct the register


@dataclass(frozen=True, slots=True)
class AccountListing:
    account: Account
    created_at: datetime
    classes: tuple[ClassRef, ...]  # the classes this account is the teacher of


@dataclass(frozen=True, slots=True)
class Assignment:
    cls: ClassInfo  # after the change
    previous: str | None  # the teacher before


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


# --- pure rules: the shape of an account -----------------------------------------------


def username_problem(username: str) -> str | None:
    if not valid_username(username):
        return (f"username {username!r}: start with a letter or digit, then letters, digits "
                "and ._@- only, at most 64 characters")
    return None


def role_problem(role: str) -> str | None:
    if role not in ROLES:
        return f"role {role!r}: one of {', '.join(sorted(ROLES))}"
    return None


def school_problem(role: str, school: str | None) -> str | None:
    """Whether this role may (must) have this school; existence is the database's part."""
    if role in SCHOOL_SCOPED_ROLES:
        if school is None:
            return f"a {role} acts for one school: give the school"
        if not is_valid_id(school):
            return f"school {school!r} is not a school code ([a-z0-9-], at most 64)"
        return None
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


# --- pure rules: who may do what -------------------------------------------------------


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


def _check(problem: str | None) -> None:
    if problem is not None:
        raise UserInputError(problem)


def _check_allowed(actor: Account | None, target: Account) -> None:
    if actor is not None and not may_administer(actor, target):
        raise UserForbiddenError(
            "a school admin manages only their school's teachers and facility managers"
            if actor.role == "school_admin" else "only a district or school admin manages accounts"
        )


# --- database --------------------------------------------------------------------------

# Whole statements, not fragments pasted together: every value is a parameter.
_ACCOUNT: Final = ("select username, role, school_id, full_name, disabled from users"
                   " where username = %s")
_ACCOUNT_LOCKED: Final = _ACCOUNT + " for update"
_ACCOUNT_SHARED: Final = _ACCOUNT + " for share"


def _account(row: Any) -> Account:
    return Account(username=row[0], role=row[1], school=row[2], full_name=row[3],
                   disabled=row[4])


def get_account(conn: psycopg.Connection[Any], username: str, *,
                lock: bool = False) -> Account | None:
    if not valid_username(username):
        return None  # also keeps NUL bytes out of the query
    row = conn.execute(_ACCOUNT_LOCKED if lock else _ACCOUNT, (username,)).fetchone()
    return None if row is None else _account(row)


def school_exists(conn: psycopg.Connection[Any], school: str) -> bool:
    return conn.execute("select 1 from schools where id = %s", (school,)).fetchone() is not None


def list_accounts(conn: psycopg.Connection[Any], *, school: str | None = None,
                  role: str | None = None, username: str | None = None) -> list[AccountListing]:
    """Accounts with the classes each is the teacher of; district accounts first."""
    rows = conn.execute(
        """
        select u.username, u.role, u.school_id, u.full_name, u.disabled, u.created_at,
               coalesce(json_agg(json_build_object('id', c.id, 'school', c.school_id,
                                                   'name', c.name)
                                 order by c.name) filter (where c.id is not null), '[]')
        from users u left join classes c on c.teacher_username = u.username
        where (%(school)s::text is null or u.school_id = %(school)s)
          and (%(role)s::text is null or u.role = %(role)s)
          and (%(username)s::text is null or u.username = %(username)s)
        group by u.username
        order by u.school_id nulls first, u.role, u.username
        """,
        {"school": school, "role": role, "username": username},
    ).fetchall()
    return [
        AccountListing(
            account=_account(row),
            created_at=row[5],
            classes=tuple(ClassRef(id=c["id"], school=c["school"], name=c["name"])
                          for c in row[6]),
        )
        for row in rows
    ]


def get_listing(conn: psycopg.Connection[Any], username: str) -> AccountListing | None:
    if not valid_username(username):
        return None
    found = list_accounts(conn, username=username)
    return found[0] if found else None


def add_account(
    conn: psycopg.Connection[Any],
    *,
    username: str,
    role: str,
    school: str | None,
    password: str,
    full_name: str | None = None,
    actor: Account | None = None,
) -> Account:
    account = Account(username=username, role=role, school=school,
                      full_name=normalise_full_name(full_name))
    _check(account_problem(account))
    _check(password_problem(password, username=username))
    _check_allowed(actor, account)
    password_hash = hash_password(password)  # slow on purpose: outside the transaction
    with conn.transaction():
        if school is not None and not school_exists(conn, school):
            raise UserInputError(f"school {school!r} does not exist")
        # Case-insensitive: "GV.An" next to "gv.an" would be two accounts nobody can tell
        # apart on a screen (logins match the exact spelling).
        taken = conn.execute("select username from users where lower(username) = lower(%s)",
                             (username,)).fetchone()
        if taken is not None:
            raise UserConflictError(f"account {taken[0]!r} already exists")
        row = conn.execute(
            "insert into users (username, password_hash, role, school_id, full_name)"
            " values (%s, %s, %s, %s, %s) on conflict (username) do nothing"
            " returning username, role, school_id, full_name, disabled",
            (username, password_hash, role, school, account.full_name),
        ).fetchone()
        if row is None:  # created between the check and the insert
            raise UserConflictError(f"account {username!r} already exists")
    return _account(row)


def update_account(
    conn: psycopg.Connection[Any],
    username: str,
    changes: Changes,
    *,
    actor: Account | None = None,
) -> tuple[Account, list[ClassRef]]:
    """Apply ``changes``; return the account after and the classes it stopped holding."""
    if changes.password is not None:
        _check(password_problem(changes.password, username=username))
    password_hash = None if changes.password is None else hash_password(changes.password)
    with conn.transaction():
        before = get_account(conn, username, lock=True)
        if before is None or (actor is not None and not may_see(actor, before)):
            raise UserNotFoundError(f"no account {username!r}")
        _check_allowed(actor, before)
        after = apply_changes(before, changes)
        _check(account_problem(after))
        _check_allowed(actor, after)
        if actor is not None and (problem := self_change_problem(actor, before, after)):
            raise UserForbiddenError(problem)
        if after.school is not None and after.school != before.school \
                and not school_exists(conn, after.school):
            raise UserInputError(f"school {after.school!r} does not exist")
        _keep_an_active_district_admin(conn, before, after)
        conn.execute(
            "update users set role = %s, school_id = %s, full_name = %s, disabled = %s,"
            " password_hash = coalesce(%s, password_hash) where username = %s",
            (after.role, after.school, after.full_name, after.disabled, password_hash,
             username),
        )
        released: list[ClassRef] = []
        if releases_classes(before, after):
            released = [
                ClassRef(id=r[0], school=r[1], name=r[2]) for r in conn.execute(
                    "update classes set teacher_username = null where teacher_username = %s"
                    " returning id, school_id, name",
                    (username,),
                )
            ]
    return after, sorted(released, key=lambda c: c.name)


def _keep_an_active_district_admin(conn: psycopg.Connection[Any], before: Account,
                                   after: Account) -> None:
    """Nobody could then create or re-enable accounts through the API, and the built-in
    admin's password reset (SMARTSCHOOL_ADMIN_PASSWORD) does not re-enable it."""
    was_active = before.role == "district_admin" and not before.disabled
    still_active = after.role == "district_admin" and not after.disabled
    if not was_active or still_active:
        return
    # Serialises two admins disabling each other: the second one waits here, then sees the
    # first one's commit. (Row locks on the others would deadlock in that very case.)
    conn.execute("select pg_advisory_xact_lock(%s)", (ADMINS_LOCK_ID,))
    others = conn.execute(
        "select count(*) from users where role = 'district_admin' and not disabled"
        " and username <> %s",
        (before.username,),
    ).fetchone()
    if not others or not others[0]:
        raise UserConflictError(f"{before.username} is the last active district admin")


_CLASSES: Final = ("select id, school_id, name, grade, homeroom_teacher, teacher_username"
                   " from classes")
_CLASS: Final = _CLASSES + " where id = %s"
_CLASS_LOCKED: Final = _CLASS + " for update"
_CLASS_BY_NAME: Final = _CLASSES + " where school_id = %s and name = %s"
_CLASSES_OF: Final = (_CLASSES + " where %(school)s::text is null or school_id = %(school)s"
                      " order by school_id, grade, name")


def _class(row: Any) -> ClassInfo:
    return ClassInfo(id=row[0], school=row[1], name=row[2], grade=row[3],
                     homeroom_teacher=row[4], teacher=row[5])


def get_class(conn: psycopg.Connection[Any], class_id: int, *,
              lock: bool = False) -> ClassInfo | None:
    row = conn.execute(_CLASS_LOCKED if lock else _CLASS, (class_id,)).fetchone()
    return None if row is None else _class(row)


def find_class(conn: psycopg.Connection[Any], *, school: str, name: str) -> ClassInfo | None:
    if not is_valid_id(school) or "\x00" in name:
        return None
    row = conn.execute(
        _CLASS_BY_NAME,
        (school, unicodedata.normalize("NFC", name.strip())),
    ).fetchone()
    return None if row is None else _class(row)


def list_classes(conn: psycopg.Connection[Any], *, school: str | None = None) -> list[ClassInfo]:
    rows = conn.execute(_CLASSES_OF, {"school": school}).fetchall()
    return [_class(r) for r in rows]


def _class_for(conn: psycopg.Connection[Any], class_id: int, actor: Account | None) -> ClassInfo:
    cls = get_class(conn, class_id, lock=True)
    # Another school's class is "not found" for a school-scoped caller, as in the reports.
    if cls is None or (actor is not None and actor.role in SCHOOL_SCOPED_ROLES
                       and actor.school != cls.school):
        raise UserNotFoundError(f"class {class_id} not found")
    if actor is not None and not may_manage(actor.role, actor.school, cls.school):
        raise UserForbiddenError("only a district admin or this school's admin assigns teachers")
    return cls


def set_class_teacher(
    conn: psycopg.Connection[Any],
    class_id: int,
    username: str | None,
    *,
    actor: Account | None = None,
) -> Assignment:
    """Make ``username`` the class's teacher (None: nobody); a previous one is replaced."""
    with conn.transaction():
        # The account before the class: update_account locks them in that order too (the
        # account, then its classes), so the two never wait for each other in a circle.
        # The shared lock keeps the teacher from being moved to another school meanwhile.
        row = conn.execute(_ACCOUNT_SHARED, (username,)).fetchone() \
            if username is not None and valid_username(username) else None
        cls = _class_for(conn, class_id, actor)
        if username is not None:
            if row is None:
                raise UserInputError(f"no account {username!r}")
            _check(teacher_problem(_account(row), cls.school))
        conn.execute("update classes set teacher_username = %s where id = %s",
                     (username, class_id))
    return Assignment(cls=replace(cls, teacher=username), previous=cls.teacher)


def release_class(
    conn: psycopg.Connection[Any], class_id: int, username: str, *,
    actor: Account | None = None,
) -> Assignment:
    """Unlink ``username`` from the class, only if they are its teacher: releasing by name
    never removes someone else who was assigned meanwhile."""
    with conn.transaction():
        cls = _class_for(conn, class_id, actor)
        if cls.teacher != username:
            held = f"held by {cls.teacher}" if cls.teacher else "without a teacher"
            raise UserConflictError(f"class {cls.name} of {cls.school} is {held}, "
                                    f"not {username}")
        conn.execute("update classes set teacher_username = null where id = %s", (class_id,))
    return Assignment(cls=replace(cls, teacher=None), previous=username)
