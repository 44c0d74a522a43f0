"""The signed-in account; account administration; which teacher holds which class.

District admins manage every account; a school admin manages the teachers and facility
managers of their own school (hub/accounts/rules.py has the rules). Everyone else, the read-only
control room included, gets 403 on these. Another school's account or class is a 404 to a
school-scoped caller, the same answer as for one that does not exist.
"""

from __future__ import annotations

from typing import Annotated, NoReturn

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from hub.access import ADMIN_ROLES, Role
from hub.accounts import contacts, rules, users
from hub.accounts.auth import User, generate_password
from hub.accounts.contact_rules import MAX_URL, MAX_ZALO_ID, Channel, Contact
from hub.accounts.contacts import ContactPublic
from hub.accounts.rules import MAX_PASSWORD_LEN
from hub.api.deps import ConnDep, CurrentUser, SchoolFilterDep
from hub.api.models import (
    AccountCreatedPublic,
    AccountPublic,
    AccountUpdatedPublic,
    ClassPublic,
    ClassRefPublic,
    UserPublic,
)
from hub.api.responses import AUTHED, CONFLICT, FORBIDDEN, INVALID, NOT_FOUND

router = APIRouter(prefix="/api/v1", tags=["users"], responses=AUTHED)

# Generous bounds, only so a request cannot make the hub hash or store megabytes; the
# rules in hub.accounts.rules give the precise messages.
MAX_TEXT = 256
_ERRORS = FORBIDDEN | NOT_FOUND | CONFLICT | INVALID
_STATUS = {
    rules.UserInputError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    rules.UserNotFoundError: status.HTTP_404_NOT_FOUND,
    rules.UserConflictError: status.HTTP_409_CONFLICT,
    rules.UserForbiddenError: status.HTTP_403_FORBIDDEN,
}


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=MAX_TEXT)
    role: str = Field(max_length=MAX_TEXT)
    school: str | None = Field(default=None, max_length=MAX_TEXT)
    full_name: str | None = Field(default=None, max_length=MAX_TEXT)
    # Omitted: the hub generates one and answers it once.
    password: str | None = Field(default=None, max_length=MAX_PASSWORD_LEN)


class UserUpdate(BaseModel):
    """Only the fields sent change; ``school`` or ``full_name`` null clears them."""

    model_config = ConfigDict(extra="forbid")

    role: str | None = Field(default=None, max_length=MAX_TEXT)
    school: str | None = Field(default=None, max_length=MAX_TEXT)
    full_name: str | None = Field(default=None, max_length=MAX_TEXT)
    disabled: bool | None = None
    password: str | None = Field(default=None, max_length=MAX_PASSWORD_LEN)


class ClassTeacherUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str | None = Field(max_length=MAX_TEXT)  # null: the class has no teacher


UsernamePath = Annotated[str, Path(max_length=MAX_TEXT)]


def _refused(exc: rules.UsersError) -> NoReturn:
    raise HTTPException(_STATUS.get(type(exc), 422), str(exc)) from exc


def require_user_admin(user: User) -> rules.Account:
    if user.role not in ADMIN_ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "only a district or school admin manages accounts")
    return users.account_of(user)


def _refs(classes: tuple[users.ClassRef, ...] | list[users.ClassRef]) -> list[ClassRefPublic]:
    return [ClassRefPublic(id=c.id, name=c.name) for c in classes]


def _public(item: users.AccountListing) -> AccountPublic:
    a = item.account
    return AccountPublic(username=a.username, role=a.role, school=a.school,
                         full_name=a.full_name, disabled=a.disabled,
                         created_at=item.created_at, classes=_refs(item.classes))


def _listing(conn: ConnDep, username: str) -> users.AccountListing:
    item = users.get_listing(conn, username)
    assert item is not None  # just written in this request
    return item


def _changes(body: UserUpdate) -> rules.Changes:
    sent = body.model_fields_set
    for name in ("role", "disabled"):
        if name in sent and getattr(body, name) is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name} cannot be null")
    if not sent - {"password"} and body.password is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "nothing to change")
    return rules.Changes(
        role=body.role if body.role is not None else rules.KEEP,
        school=body.school if "school" in sent else rules.KEEP,
        full_name=body.full_name if "full_name" in sent else rules.KEEP,
        disabled=body.disabled if body.disabled is not None else rules.KEEP,
        password=body.password,
    )


def _class_public(cls: users.ClassInfo) -> ClassPublic:
    return ClassPublic(id=cls.id, school=cls.school, name=cls.name, grade=cls.grade,
                       homeroom_teacher=cls.homeroom_teacher, teacher=cls.teacher)


@router.get("/me", response_model=UserPublic)
def read_me(user: CurrentUser) -> UserPublic:
    return UserPublic(
        username=user.username, role=user.role, school=user.school_id, full_name=user.full_name
    )


@router.get("/users", response_model=list[AccountPublic], responses=_ERRORS)
def read_users(
    conn: ConnDep,
    user: CurrentUser,
    schools: SchoolFilterDep,
    role: Annotated[Role | None, Query(description="Only this role")] = None,
) -> list[AccountPublic]:
    """Accounts (a school admin: their school's), with the classes each teacher holds."""
    require_user_admin(user)
    if schools.matches_nothing:
        return []
    return [_public(i) for i in users.list_accounts(conn, school=schools.school, role=role)]


@router.post("/users", response_model=AccountCreatedPublic,
             status_code=status.HTTP_201_CREATED, responses=_ERRORS)
def create_user(conn: ConnDep, user: CurrentUser, body: UserCreate) -> AccountCreatedPublic:
    """Create an account; without a password the answer carries a generated one, once."""
    actor = require_user_admin(user)
    password = body.password if body.password is not None else generate_password()
    try:
        account = users.add_account(conn, username=body.username, role=body.role,
                                    school=body.school, full_name=body.full_name,
                                    password=password, actor=actor)
    except rules.UsersError as exc:
        _refused(exc)
    created = _public(_listing(conn, account.username))
    return AccountCreatedPublic(**created.model_dump(),
                                password=None if body.password is not None else password)


@router.patch("/users/{username}", response_model=AccountUpdatedPublic, responses=_ERRORS)
def update_user(
    conn: ConnDep, user: CurrentUser, username: UsernamePath, body: UserUpdate
) -> AccountUpdatedPublic:
    """Change role, school, full name, disabled or password. Disabling takes effect at
    once, tokens included; a teacher who changes role or school releases their classes."""
    actor = require_user_admin(user)
    try:
        _, released = users.update_account(conn, username, _changes(body), actor=actor)
    except rules.UsersError as exc:
        _refused(exc)
    updated = _public(_listing(conn, username))
    return AccountUpdatedPublic(**updated.model_dump(), released_classes=_refs(released))


# -- contacts: how alarms reach an account (issue #13) --------------------------------

class ContactUpdate(BaseModel):
    """The whole contact: fields left out are cleared."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel = Field(
        description="none, webhook, zalo (needs zalo_id) or sms (needs phone)")
    phone: str | None = Field(default=None, max_length=32)
    zalo_id: str | None = Field(default=None, max_length=MAX_ZALO_ID)
    webhook_url: str | None = Field(
        default=None, max_length=MAX_URL,
        description="The account's own webhook; null: the district's configured one")


@router.get("/users/{username}/contact", response_model=ContactPublic, responses=_ERRORS)
def read_contact(conn: ConnDep, user: CurrentUser, username: UsernamePath) -> ContactPublic:
    """How alarms reach the account (who may administer it may read it)."""
    actor = require_user_admin(user)
    try:
        return contacts.get_contact(conn, username, actor=actor)
    except rules.UsersError as exc:
        _refused(exc)


@router.put("/users/{username}/contact", response_model=ContactPublic, responses=_ERRORS)
def update_contact(
    conn: ConnDep, user: CurrentUser, username: UsernamePath, body: ContactUpdate
) -> ContactPublic:
    """Set how alarms reach the account: a school's facility managers hear of its new
    major and critical alarms, district admins and the control room of those nobody
    acknowledged in time (SMARTSCHOOL_NOTIFY_ALARM_ESCALATE_AFTER_S)."""
    actor = require_user_admin(user)
    try:
        return contacts.set_contact(
            conn, username, Contact(channel=body.channel, phone=body.phone,
                                    zalo_id=body.zalo_id, webhook_url=body.webhook_url),
            actor=actor)
    except rules.UsersError as exc:
        _refused(exc)


@router.get("/classes", response_model=list[ClassPublic])
def read_classes(conn: ConnDep, schools: SchoolFilterDep) -> list[ClassPublic]:
    """Classes with their teacher's account (a school's staff: their school's)."""
    if schools.matches_nothing:
        return []
    return [_class_public(c) for c in users.list_classes(conn, school=schools.school)]


@router.put("/classes/{class_id}/teacher", response_model=ClassPublic, responses=_ERRORS)
def update_class_teacher(
    conn: ConnDep,
    user: CurrentUser,
    class_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: ClassTeacherUpdate,
) -> ClassPublic:
    """Set the teacher who may correct this class's register (null: none); a district
    admin anywhere, a school admin in their school; the teacher must teach there."""
    try:
        done = users.set_class_teacher(conn, class_id, body.username,
                                       actor=users.account_of(user))
    except rules.UsersError as exc:
        _refused(exc)
    return _class_public(done.cls)
