"""A pupil leaves, or moves to another school (hub.records.leavers holds the work).

Leave: a district admin, or the admin of the pupil's school. Transfer: a district admin
only (it writes into a school the sending school's admin does not manage).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from hub.api.deps import ID_PATTERN, ConnDep, ContextDep, CurrentUser
from hub.api.models import ErrorPublic
from hub.api.responses import AUTHED
from hub.models import ApiModel
from hub.records.leavers import (
    MAX_REASON_LEN,
    Move,
    MoveError,
    find_pupil,
    leave,
    leave_problems,
    may_record_leave,
    may_transfer,
    transfer,
)

router = APIRouter(prefix="/api/v1", tags=["records"], responses=AUTHED)

# Person codes are short; a longer path segment is refused before any lookup.
MAX_CODE_LEN = 64
CodeParam = Annotated[str, PathParam(min_length=1, max_length=MAX_CODE_LEN)]
_RESPONSES: dict[int | str, dict[str, object]] = {
    403: {"model": ErrorPublic, "description": "The account may not move this pupil"},
    404: {"model": ErrorPublic, "description": "No such pupil (or not in the caller's school)"},
    409: {"model": ErrorPublic, "description": "Already left, or already at that school"},
}


class LeaveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date = Field(description="The day the pupil left")
    reason: str | None = Field(default=None, max_length=MAX_REASON_LEN)


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(pattern=ID_PATTERN, description="Code of the receiving school")
    date: dt.date | None = Field(default=None, description="The day of the move (default today)")
    reason: str | None = Field(default=None, max_length=MAX_REASON_LEN)


class MovePublic(ApiModel):
    person: str
    kind: str
    date: dt.date
    from_school: str
    to_school: str | None
    cards: int
    encodings_deleted: int
    sync_versions: dict[str, int]


def _public(move: Move) -> MovePublic:
    return MovePublic(person=move.code, kind=move.kind, date=move.day,
                      from_school=move.from_school, to_school=move.to_school,
                      cards=move.cards, encodings_deleted=move.encodings_deleted,
                      sync_versions=move.sync_versions)


def _school_of(conn: ConnDep, user: CurrentUser, code: str) -> str:
    pupil = find_pupil(conn, code)
    # Another school's pupil is "not found" to a school-scoped caller: the answer must not
    # reveal which codes exist elsewhere.
    if pupil is None or (user.school_scoped and user.school_id != pupil.school_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no pupil {code!r}")
    return pupil.school_id


def _check(ctx: ContextDep, day: dt.date, reason: str | None) -> None:
    problems = leave_problems(day=day, today=dt.datetime.now(ctx.tz).date(), reason=reason)
    if problems:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "; ".join(problems))


def _refused(exc: MoveError) -> HTTPException:
    code = (status.HTTP_404_NOT_FOUND if exc.not_found
            else status.HTTP_422_UNPROCESSABLE_CONTENT if exc.invalid
            else status.HTTP_409_CONFLICT)
    return HTTPException(code, str(exc))


@router.post("/students/{code}/leave", response_model=MovePublic, responses=_RESPONSES)
def leave_school(conn: ConnDep, ctx: ContextDep, user: CurrentUser, code: CodeParam,
                 body: LeaveRequest) -> MovePublic:
    """The pupil left: their cards are refused at every gate of the school within seconds,
    their face encodings are deleted, their registers stay."""
    school = _school_of(conn, user, code)
    if not may_record_leave(user.role, user.school_id, school):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "only a district admin or this school's admin may do this")
    _check(ctx, body.date, body.reason)
    try:
        return _public(leave(conn, code, day=body.date, reason=body.reason,
                             by=user.username))
    except MoveError as exc:
        raise _refused(exc) from None


@router.post("/students/{code}/transfer", response_model=MovePublic, responses=_RESPONSES)
def transfer_school(conn: ConnDep, ctx: ContextDep, user: CurrentUser, code: CodeParam,
                    body: TransferRequest) -> MovePublic:
    """The pupil moves to another school of the district, with their cards; both schools'
    gates resync. District admins only."""
    _school_of(conn, user, code)
    if not may_transfer(user.role):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a district admin transfers pupils")
    day = body.date or dt.datetime.now(ctx.tz).date()
    _check(ctx, day, body.reason)
    try:
        return _public(transfer(conn, code, to_school=body.to, day=day, reason=body.reason,
                                by=user.username))
    except MoveError as exc:
        raise _refused(exc) from None
