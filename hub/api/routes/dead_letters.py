"""Messages ingest refused (docs/protocol.md "Bad input"), newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from hub.api import paging
from hub.api.deps import ConnDep, ContextDep, CurrentUser
from hub.api.models import ErrorPublic
from hub.api.responses import AUTHED
from hub.read import queries
from hub.read.queries import DeadLetterPublic

MAX_LIMIT = 1000

router = APIRouter(prefix="/api/v1", tags=["dead-letters"], responses=AUTHED)


@router.get(
    "/dead-letters",
    response_model=list[DeadLetterPublic],
    responses=paging.PAGED
    | {403: {"model": ErrorPublic, "description": "School-scoped accounts"}},
)
def read_dead_letters(
    ctx: ContextDep,
    response: Response,
    conn: ConnDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most this many")] = 100,
    cursor: paging.CursorParam = None,
) -> list[DeadLetterPublic]:
    # Dead letters have no school column (a refused message may not even name a real
    # school), so they cannot be narrowed to one school: district-wide accounts only.
    if user.school_scoped:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail="dead letters are district-wide; a school account cannot list them",
        )
    before = paging.after(ctx, cursor, purpose="dead-letters", types=(str, int))
    rows = queries.list_dead_letters(conn, limit=limit,
                                     before=before)  # type: ignore[arg-type]
    if rows:
        paging.set_next(response, ctx, purpose="dead-letters", full=len(rows) == limit,
                        last=(rows[-1].received_at.isoformat(), rows[-1].id))
    return rows
