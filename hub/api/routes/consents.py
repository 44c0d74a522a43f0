"""Consent to face enrollment: record it (who, in what role, when, how), list it, withdraw it.

Withdrawal deletes the pupil's face encodings in the same transaction and bumps the
school's gallery version, the marker the gallery publisher uses to resync the gates.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from hub.api.deps import ConnDep, ContextDep, CurrentUser
from hub.api.responses import AUTHED, FORBIDDEN, NOT_FOUND
from hub.api.routes.records import CodePath, person_for
from hub.models import ApiModel
from hub.records.consent import (
    check_consent_input,
    list_consents,
    missing_roles,
    record_consent,
    required_roles,
    withdraw_consent,
)

router = APIRouter(prefix="/api/v1", tags=["consents"],
                   responses=AUTHED | FORBIDDEN | NOT_FOUND)


class ConsentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    given_by: str = Field(min_length=1, max_length=100, description="Who agreed (full name)")
    role: Literal["guardian", "self"] = Field(description="The guardian, or the pupil")
    method: str = Field(min_length=1, max_length=100,
                        description="How: paper form no. ..., parents' app, ...")
    given_at: dt.datetime | None = Field(default=None, description="When (default: now)")


class ConsentPublic(ApiModel):
    id: int
    given_by: str
    role: str
    given_at: dt.datetime
    method: str
    withdrawn_at: dt.datetime | None
    recorded_by: str | None


class ConsentStatusPublic(ApiModel):
    person: str
    required: list[str]  # roles whose consent enrollment needs, by the pupil's age today
    missing: list[str]
    consents: list[ConsentPublic]


class WithdrawalPublic(ApiModel):
    person: str
    consents_withdrawn: int
    encodings_deleted: int
    gallery_version: int


@router.get("/students/{code}/consents", response_model=ConsentStatusPublic)
def read_consents(conn: ConnDep, ctx: ContextDep, user: CurrentUser,
                  code: CodePath) -> ConsentStatusPublic:
    person = person_for(conn, user, code)
    records = list_consents(conn, person)
    required = required_roles(person.kind, person.birth_date, dt.datetime.now(ctx.tz).date())
    active = [c.given_by_role for c in records if c.withdrawn_at is None]
    return ConsentStatusPublic(
        person=person.code,
        required=sorted(required),
        missing=missing_roles(required, active),
        consents=[ConsentPublic(id=c.id, given_by=c.given_by, role=c.given_by_role,
                                given_at=c.given_at, method=c.method,
                                withdrawn_at=c.withdrawn_at, recorded_by=c.recorded_by)
                  for c in records],
    )


@router.post("/students/{code}/consents", response_model=ConsentPublic,
             status_code=status.HTTP_201_CREATED)
def create_consent(conn: ConnDep, user: CurrentUser, code: CodePath,
                   body: ConsentCreate) -> ConsentPublic:
    person = person_for(conn, user, code)
    now = dt.datetime.now(dt.UTC)
    given_at = body.given_at or now
    problems = check_consent_input(given_by=body.given_by, method=body.method,
                                   given_at=given_at, now=now)
    if problems:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "; ".join(problems))
    ident = record_consent(conn, person, given_by=body.given_by, role=body.role,
                           given_at=given_at, method=body.method, recorded_by=user.username)
    return ConsentPublic(id=ident, given_by=body.given_by.strip(), role=body.role,
                         given_at=given_at, method=body.method.strip(), withdrawn_at=None,
                         recorded_by=user.username)


@router.post("/students/{code}/consents/withdraw", response_model=WithdrawalPublic)
def withdraw(conn: ConnDep, user: CurrentUser, code: CodePath) -> WithdrawalPublic:
    """Withdraw every face consent of the pupil; their encodings are deleted at once."""
    person = person_for(conn, user, code)
    result = withdraw_consent(conn, person.code, at=dt.datetime.now(dt.UTC))
    if result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no pupil {code!r}")
    return WithdrawalPublic(person=person.code, consents_withdrawn=result.consents,
                            encodings_deleted=result.encodings_deleted,
                            gallery_version=result.gallery_version)
