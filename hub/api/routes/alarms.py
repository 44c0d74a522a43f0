"""Equipment alarms: list, acknowledge, clear, and open a work order from one."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, Field

from hub.accounts.auth import User
from hub.api.deps import ConnDep, CurrentUser, SchoolFilterDep
from hub.equipment import alarms
from hub.equipment.alarms import AlarmPublic, StateFilter, WorkOrderPublic

router = APIRouter(prefix="/api/v1", tags=["alarms"])

# Who may act on alarms and work orders; control_room watches, teachers only look.
ACTING_ROLES: Final = frozenset(("district_admin", "school_admin", "facility_manager"))
AlarmId = Annotated[int, Path(ge=1, le=2**62)]


class CommentIn(BaseModel):
    comment: str | None = Field(default=None, max_length=alarms.MAX_COMMENT)


class WorkOrderIn(BaseModel):
    assignee: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=alarms.MAX_COMMENT)


def acting_scope(user: User) -> str | None:
    """The school a user may act for (None: every school); 403 for watch-only roles."""
    if user.role not in ACTING_ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"the {user.role} role cannot change alarms or work orders")
    if user.school_scoped:
        if user.school_id is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "account has no school")
        return user.school_id
    return None


@router.get("/alarms", response_model=list[AlarmPublic])
def read_alarms(
    conn: ConnDep,
    schools: SchoolFilterDep,
    state: StateFilter = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AlarmPublic]:
    if schools.matches_nothing:
        return []
    return alarms.list_alarms(conn, state=state, school=schools.school, limit=limit)


@router.post("/alarms/{alarm_id}/ack", response_model=AlarmPublic)
def ack_alarm(conn: ConnDep, user: CurrentUser, alarm_id: AlarmId,
              body: CommentIn | None = None) -> AlarmPublic:
    scope = acting_scope(user)
    return alarms.acknowledge(conn, alarm_id, actor=user.username,
                              comment=body.comment if body else None, school=scope)


@router.post("/alarms/{alarm_id}/clear", response_model=AlarmPublic)
def clear_alarm(conn: ConnDep, user: CurrentUser, alarm_id: AlarmId,
                body: CommentIn | None = None) -> AlarmPublic:
    scope = acting_scope(user)
    return alarms.clear(conn, alarm_id, actor=user.username,
                        comment=body.comment if body else None, school=scope)


@router.post("/alarms/{alarm_id}/work-order", response_model=WorkOrderPublic,
             status_code=status.HTTP_201_CREATED)
def open_work_order(conn: ConnDep, user: CurrentUser, alarm_id: AlarmId,
                    body: WorkOrderIn | None = None) -> WorkOrderPublic:
    scope = acting_scope(user)
    return alarms.open_work_order(conn, alarm_id, actor=user.username,
                                  assignee=body.assignee if body else None,
                                  note=body.note if body else None, school=scope)
