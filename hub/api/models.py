"""Response bodies the API adds on top of the query layer's rows (hub.read.queries)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict

from hub.read.queries import SchoolAttendance


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class HealthPublic(_Public):
    status: Literal["ok", "degraded"]
    mqtt: str
    database: str
    detail: str | None = None


class TokenPublic(_Public):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int  # seconds


class UserPublic(_Public):
    username: str
    role: str
    school: str | None
    full_name: str | None


class AttendanceTotals(_Public):
    enrolled: int
    present: int
    late: int
    absent: int


class AttendanceSummaryPublic(_Public):
    date: dt.date
    schools: list[SchoolAttendance]
    totals: AttendanceTotals


class ErrorPublic(_Public):
    detail: str


class ClassRefPublic(_Public):
    id: int
    name: str


class AccountPublic(_Public):
    """An account as admins see it: never the password hash."""

    username: str
    role: str
    school: str | None
    full_name: str | None
    disabled: bool
    created_at: dt.datetime
    classes: list[ClassRefPublic]  # the classes whose register this teacher corrects


class AccountCreatedPublic(AccountPublic):
    # Set only when the hub generated the password: the one time it is ever shown.
    password: str | None = None


class AccountUpdatedPublic(AccountPublic):
    # Classes a teacher stopped holding because their role or school changed.
    released_classes: list[ClassRefPublic] = []


class ClassPublic(_Public):
    id: int
    school: str
    name: str
    grade: int
    homeroom_teacher: str | None  # the display name from the records
    teacher: str | None  # the account that may correct the register
