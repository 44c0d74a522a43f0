"""The change feed for outside systems (issue 15, exchange with the city).

``GET /api/v1/feed?kinds=&since=CURSOR&limit=``: the changes to schools, learners,
staff, daily attendance, the equipment inventory and KPI snapshots after an opaque cursor,
oldest
first, each with its document (docs/exchange/: versioned JSON Schemas) as the row is now,
and the cursor to ask from next. A consumer that stores ``next_cursor`` after applying a
page never misses or repeats a change (hub/exchange/feed.py says why). Exchange accounts
and district admins only; an edited or invented cursor is a 422.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import Field

from hub.api.deps import ConnDep, ContextDep, FeedReader
from hub.api.responses import AUTHED
from hub.exchange import cursor as cursors
from hub.exchange import feed
from hub.exchange.documents import KINDS, SCHEMA_VERSION, Kind
from hub.models import ApiModel

router = APIRouter(prefix="/api/v1", tags=["exchange"], responses=AUTHED)

_KINDS_PATTERN = f"^({'|'.join(KINDS)})(,({'|'.join(KINDS)}))*$"


class ChangePublic(ApiModel):
    id: str = Field(description="The change's own id (unique, for deduplication by "
                                "consumers that want to check)")
    kind: Kind
    key: str = Field(description="The document's identity within its kind")
    op: Literal["upsert", "delete"]
    document: dict[str, Any] | None = Field(
        description="The document (schema docs/exchange/v1/<kind>), null for a delete")


class FeedPublic(ApiModel):
    schema_version: int
    changes: list[ChangePublic]
    next_cursor: str = Field(description="Ask with since=this next; store it once the "
                                         "page is applied")
    more: bool = Field(description="More changes are ready now")


@router.get("/feed", response_model=FeedPublic)
def read_feed(
    ctx: ContextDep,
    conn: ConnDep,
    _reader: FeedReader,
    kinds: Annotated[str | None, Query(
        pattern=_KINDS_PATTERN, max_length=200,
        description=f"Comma-separated kinds ({', '.join(KINDS)}); all if absent")] = None,
    since: Annotated[str | None, Query(
        min_length=1, max_length=cursors.MAX_LEN,
        description="The next_cursor of the last page applied; from the start if absent")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=feed.MAX_LIMIT, description="At most this many")]
    = 100,
) -> FeedPublic:
    after = cursors.START
    if since is not None:
        try:
            after = cursors.decode(since, key=ctx.secret)
        except cursors.CursorError as exc:
            # 422 like any other invalid parameter: the cursor's shape is in the OpenAPI
            # document, its signature cannot be.
            raise HTTPException(status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
                                detail=f"since: {exc}") from exc
    wanted: tuple[Kind, ...] = KINDS
    if kinds is not None:
        asked = set(kinds.split(","))
        wanted = tuple(k for k in KINDS if k in asked)
    page = feed.read_page(conn, after=after, kinds=wanted, limit=limit)
    return FeedPublic(
        schema_version=SCHEMA_VERSION,
        changes=[
            ChangePublic(
                id=f"{c.position.xid}-{c.position.seq}", kind=c.kind, key=c.key, op=c.op,
                document=None if c.document is None else c.document.model_dump(mode="json"))
            for c in page.changes
        ],
        next_cursor=cursors.encode(page.next_position, key=ctx.secret),
        more=page.more,
    )
