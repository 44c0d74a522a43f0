"""Equipment alarms: list, acknowledge, clear, and open a work order from one.

Who may act, and where, is hub.equipment.actions' rule (the dashboard applies the same);
its refusals are AlarmErrors that hub.api.app answers with 403, 404 or 409."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, Field

from hub.api import paging
from hub.api.deps import ConnDep, ContextDep, CurrentUser, SchoolFilterDep
from hub.api.responses import AUTHED, CONFLICT, FORBIDDEN, NOT_FOUND
from hub.equipment import actions, alarms
from hub.equipment.alarms import AlarmPublic, StateFilter, WorkOrderPublic

router = APIRouter(prefix="/api/v1", tags=["alarms"], responses=AUTHED)
# Acting on an alarm: refusals are AlarmErrors (hub.api.app maps them).
_ACTION = FORBIDDEN | NOT_FOUND | CONFLICT

AlarmId = Annotated[int, Path(ge=1, le=2**62)]


class CommentIn(BaseModel):
    comment: str | None = Field(default=None, max_length=alarms.MAX_COMMENT)


class WorkOrderIn(BaseModel):
    assignee: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=alarms.MAX_COMMENT)


@router.get("/alarms", response_model=list[AlarmPublic], responses=paging.PAGED)
def read_alarms(
    ctx: ContextDep,
    response: Response,
    conn: ConnDep,
    schools: SchoolFilterDep,
    state: StateFilter = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: paging.CursorParam = None,
) -> list[AlarmPublic]:
    after = paging.after(ctx, cursor, purpose="alarms", types=(int, int, str, int))
    if schools.matches_nothing:
        return []
    rows = alarms.list_alarms(conn, state=state, school=schools.school, limit=limit,
                              after=after)  # type: ignore[arg-type]
    if rows:
        paging.set_next(response, ctx, purpose="alarms", full=len(rows) == limit,
                        last=alarms.alarm_sort_key(rows[-1]))
    return rows


@router.post("/alarms/{alarm_id}/ack", response_model=AlarmPublic, responses=_ACTION)
def ack_alarm(conn: ConnDep, user: CurrentUser, alarm_id: AlarmId,
              body: CommentIn | None = None) -> AlarmPublic:
    return actions.acknowledge(conn, user, alarm_id, comment=body.comment if body else None)


@router.post("/alarms/{alarm_id}/clear", response_model=AlarmPublic, responses=_ACTION)
def clear_alarm(conn: ConnDep, user: CurrentUser, alarm_id: AlarmId,
                body: CommentIn | None = None) -> AlarmPublic:
    return actions.clear(conn, user, alarm_id, comment=body.comment if body else None)


@router.post("/alarms/{alarm_id}/work-order", response_model=WorkOrderPublic,
             status_code=status.HTTP_201_CREATED, responses=_ACTION)
def open_work_order(conn: ConnDep, user: CurrentUser, alarm_id: AlarmId,
                    body: WorkOrderIn | None = None) -> WorkOrderPublic:
    return actions.open_work_order(conn, user, alarm_id,
                                   assignee=body.assignee if body else None,
                                   note=body.note if body else None)
