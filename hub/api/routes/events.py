"""Gate passages, newest first.

What a role sees (hub/access.py): ``card_uid`` only for roles that manage cards
(CARD_ROLES), null for the others; ``person``, ``person_name`` and ``class_name`` are null
for a facility manager (PERSON_ROLES), who sees the gate's decisions, not who passed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from hub.access import CARD_ROLES, PERSON_ROLES
from hub.api import paging
from hub.api.deps import ID_PATTERN, ConnDep, ContextDep, CurrentUser, SchoolFilterDep
from hub.api.responses import AUTHED
from hub.read import queries
from hub.read.queries import GateEventPublic

MAX_LIMIT = 1000

router = APIRouter(prefix="/api/v1", tags=["events"], responses=AUTHED)


@router.get("/events", response_model=list[GateEventPublic], responses=paging.PAGED)
def read_events(
    ctx: ContextDep,
    response: Response,
    conn: ConnDep,
    user: CurrentUser,
    schools: SchoolFilterDep,
    device: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="Only this device (its id)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most this many")] = 100,
    cursor: paging.CursorParam = None,
) -> list[GateEventPublic]:
    before = paging.after(ctx, cursor, purpose="events", types=(str, str, str, int))
    if schools.matches_nothing:
        return []
    events = queries.list_events(conn, device=device, school=schools.school, limit=limit,
                                 before=before)  # type: ignore[arg-type]
    if events:
        last = events[-1]
        paging.set_next(response, ctx, purpose="events", full=len(events) == limit,
                        last=(last.received_at.isoformat(), last.ts.isoformat(), last.device,
                              last.seq))
    hidden: dict[str, None] = {}
    if user.role not in CARD_ROLES:
        hidden["card_uid"] = None
    if user.role not in PERSON_ROLES:
        hidden |= {"person": None, "person_name": None, "class_name": None}
    return [e.model_copy(update=hidden) for e in events] if hidden else events
