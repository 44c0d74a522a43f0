"""Accounts and the class-teacher link in the database: reads, and the writes the rules
in hub/accounts/rules.py allow.

The CLI (smartschool/cli/users.py) and the API (hub/api/routes/users.py) share these. An
``actor`` of None is the operator at the command line (see hub/accounts/rules.py).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from hub.access import SCHOOL_SCOPED_ROLES, may_manage
from hub.accounts.auth import User, hash_password
from hub.accounts.rules import (
    Account,
    Changes,
    UserConflictError,
    UserForbiddenError,
    UserInputError,
    UserNotFoundError,
    account_problem,
    apply_changes,
    may_see,
    normalise_full_name,
    password_problem,
    releases_classes,
    require,
    require_allowed,
    self_change_problem,
    teacher_problem,
    valid_username,
)
from hub.db import Conn
from protocol.ids import is_valid_id

# Unique among the hub's advisory lock ids (0x5C5C_00xx); taken by every change that could
# leave the district without an active admin.
ADMINS_LOCK_ID: Final = 0x5C5C_0020


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


def account_of(user: User) -> Account:
    """A signed-in API user as the rules see them."""
    return Account(username=user.username, role=user.role, school=user.school_id,
                   full_name=user.full_name, disabled=user.disabled)


# --- database --------------------------------------------------------------------------

# Whole statements, not fragments pasted together: every value is a parameter.
_ACCOUNT: Final = ("select username, role, school_id, full_name, disabled from users"
                   " where username = %s")
_ACCOUNT_LOCKED: Final = _ACCOUNT + " for update"
_ACCOUNT_SHARED: Final = _ACCOUNT + " for share"


def _account(row: Any) -> Account:
    return Account(username=row[0], role=row[1], school=row[2], full_name=row[3],
                   disabled=row[4])


def get_account(conn: Conn, username: str, *,
                lock: bool = False) -> Account | None:
    if not valid_username(username):
        return None  # also keeps NUL bytes out of the query
    row = conn.execute(_ACCOUNT_LOCKED if lock else _ACCOUNT, (username,)).fetchone()
    return None if row is None else _account(row)


def school_exists(conn: Conn, school: str) -> bool:
    return conn.execute("select 1 from schools where id = %s", (school,)).fetchone() is not None


def list_accounts(conn: Conn, *, school: str | None = None,
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


def get_listing(conn: Conn, username: str) -> AccountListing | None:
    if not valid_username(username):
        return None
    found = list_accounts(conn, username=username)
    return found[0] if found else None


def add_account(
    conn: Conn,
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
    require(account_problem(account))
    require(password_problem(password, username=username))
    require_allowed(actor, account)
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
    conn: Conn,
    username: str,
    changes: Changes,
    *,
    actor: Account | None = None,
) -> tuple[Account, list[ClassRef]]:
    """Apply ``changes``; return the account after and the classes it stopped holding."""
    if changes.password is not None:
        require(password_problem(changes.password, username=username))
    password_hash = None if changes.password is None else hash_password(changes.password)
    with conn.transaction():
        before = get_account(conn, username, lock=True)
        if before is None or (actor is not None and not may_see(actor, before)):
            raise UserNotFoundError(f"no account {username!r}")
        require_allowed(actor, before)
        after = apply_changes(before, changes)
        require(account_problem(after))
        require_allowed(actor, after)
        if actor is not None and (problem := self_change_problem(actor, before, after)):
            raise UserForbiddenError(problem)
        if after.school is not None and after.school != before.school \
                and not school_exists(conn, after.school):
            raise UserInputError(f"school {after.school!r} does not exist")
        _keep_an_active_district_admin(conn, before, after)
        conn.execute(
            "update users set role = %s, school_id = %s, full_name = %s, disabled = %s,"
            " password_hash = coalesce(%s, password_hash),"
            # a new password ends the account's tokens (hub.accounts.auth.token_current)
            " password_version = password_version + (%s::text is not null)::int"
            " where username = %s",
            (after.role, after.school, after.full_name, after.disabled, password_hash,
             password_hash, username),
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


def _keep_an_active_district_admin(conn: Conn, before: Account,
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


def get_class(conn: Conn, class_id: int, *,
              lock: bool = False) -> ClassInfo | None:
    row = conn.execute(_CLASS_LOCKED if lock else _CLASS, (class_id,)).fetchone()
    return None if row is None else _class(row)


def find_class(conn: Conn, *, school: str, name: str) -> ClassInfo | None:
    if not is_valid_id(school) or "\x00" in name:
        return None
    row = conn.execute(
        _CLASS_BY_NAME,
        (school, unicodedata.normalize("NFC", name.strip())),
    ).fetchone()
    return None if row is None else _class(row)


def list_classes(conn: Conn, *, school: str | None = None) -> list[ClassInfo]:
    rows = conn.execute(_CLASSES_OF, {"school": school}).fetchall()
    return [_class(r) for r in rows]


def _class_for(conn: Conn, class_id: int, actor: Account | None) -> ClassInfo:
    cls = get_class(conn, class_id, lock=True)
    # Another school's class is "not found" for a school-scoped caller, as in the reports.
    if cls is None or (actor is not None and actor.role in SCHOOL_SCOPED_ROLES
                       and actor.school != cls.school):
        raise UserNotFoundError(f"class {class_id} not found")
    if actor is not None and not may_manage(actor.role, actor.school, cls.school):
        raise UserForbiddenError("only a district admin or this school's admin assigns teachers")
    return cls


def set_class_teacher(
    conn: Conn,
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
            require(teacher_problem(_account(row), cls.school))
        conn.execute("update classes set teacher_username = %s where id = %s",
                     (username, class_id))
    return Assignment(cls=replace(cls, teacher=username), previous=cls.teacher)


def release_class(
    conn: Conn, class_id: int, username: str, *,
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
