"""Gate passages, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hub.api.deps import ID_PATTERN, ConnDep, SchoolFilterDep
from hub.read import queries
from hub.read.queries import GateEventPublic

MAX_LIMIT = 1000

router = APIRouter(prefix="/api/v1", tags=["events"])


@router.get("/events", response_model=list[GateEventPublic])
def read_events(
    conn: ConnDep,
    schools: SchoolFilterDep,
    device: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="Only this device (its id)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most this many")] = 100,
) -> list[GateEventPublic]:
    if schools.matches_nothing:
        return []
    return queries.list_events(conn, device=device, school=schools.school, limit=limit)
