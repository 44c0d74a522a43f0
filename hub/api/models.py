"""Response bodies the API adds on top of the query layer's rows (hub.read.queries)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from hub.models import ApiModel
from hub.read.queries import SchoolAttendance


class IngestHealthPublic(ApiModel):
    """The in-process ingest writer (issue #16): whether it is connected and committing."""

    broker: Literal["connected", "disconnected"]
    subscribed: bool
    # Seconds since the writer's last commit; None before the first. It grows on a quiet
    # night too: an alert wants it large while devices are online (see README).
    last_commit_age_s: float | None
    backlog: int  # received, not yet taken by the writer


class HealthPublic(ApiModel):
    status: Literal["ok", "degraded"]
    # Where the broker and the database are: only to a caller with a valid token.
    mqtt: str | None = None
    database: str | None = None
    detail: str | None = None
    # None where ingest runs in other processes (hub --workers, --no-ingest).
    ingest: IngestHealthPublic | None = None


class TokenPublic(ApiModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int  # seconds


class UserPublic(ApiModel):
    username: str
    role: str
    school: str | None
    full_name: str | None


class AttendanceTotals(ApiModel):
    enrolled: int
    present: int
    late: int
    absent: int


class AttendanceSummaryPublic(ApiModel):
    date: dt.date
    schools: list[SchoolAttendance]
    totals: AttendanceTotals


class ErrorPublic(ApiModel):
    detail: str


class ClassRefPublic(ApiModel):
    id: int
    name: str


class AccountPublic(ApiModel):
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
    released_classes: list[ClassRefPublic] = []  # noqa: RUF012 - pydantic copies it


class ClassPublic(ApiModel):
    id: int
    school: str
    name: str
    grade: int
    homeroom_teacher: str | None  # the display name from the records
    teacher: str | None  # the account that may correct the register
