"""Work orders opened from alarms: list, (re)assign and close."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from hub.api.deps import ConnDep, CurrentUser, SchoolFilterDep
from hub.api.responses import AUTHED, CONFLICT, FORBIDDEN, NOT_FOUND
from hub.equipment import actions, alarms
from hub.equipment.alarms import WorkOrderPublic

router = APIRouter(prefix="/api/v1", tags=["work-orders"], responses=AUTHED)
# Refusals are AlarmErrors (hub.api.app maps them).
_ACTION = FORBIDDEN | NOT_FOUND | CONFLICT


class CloseIn(BaseModel):
    note: str | None = Field(default=None, max_length=alarms.MAX_COMMENT)


@router.get("/work-orders", response_model=list[WorkOrderPublic])
def read_work_orders(
    conn: ConnDep,
    schools: SchoolFilterDep,
    only_open: bool = True,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[WorkOrderPublic]:
    if schools.matches_nothing:
        return []
    return alarms.list_work_orders(conn, school=schools.school, only_open=only_open,
                                   limit=limit)


class AssignIn(BaseModel):
    assignee: str | None = Field(max_length=alarms.MAX_COMMENT,
                                 description="Who does the work; null to unassign")


@router.post("/work-orders/{order_id}/assign", response_model=WorkOrderPublic,
             responses=_ACTION)
def assign_work_order(conn: ConnDep, user: CurrentUser,
                      order_id: Annotated[int, Path(ge=1, le=2**62)],
                      body: AssignIn) -> WorkOrderPublic:
    return actions.assign_work_order(conn, user, order_id, assignee=body.assignee)


@router.post("/work-orders/{order_id}/close", response_model=WorkOrderPublic,
             responses=_ACTION)
def close_work_order(conn: ConnDep, user: CurrentUser,
                     order_id: Annotated[int, Path(ge=1, le=2**62)],
                     body: CloseIn | None = None) -> WorkOrderPublic:
    return actions.close_work_order(conn, user, order_id, note=body.note if body else None)
