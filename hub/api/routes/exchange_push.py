"""The push to systems that cannot pull (issue 15): its endpoints and its deliveries.

``GET /api/v1/exchange/deliveries``: each delivery's state (queued, sent, failed and
retrying, dead), tries, last error and next try, newest first, keyset-paged like the
history lists (X-Next-Cursor). Exchange accounts and district admins, as the feed.
``/api/v1/exchange/endpoints``: where the hub pushes; district admins only. The secret is
shown once, in the answer that creates the endpoint.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from hub.accounts.auth import User
from hub.api import paging
from hub.api.deps import ConnDep, ContextDep, CurrentUser, FeedReader
from hub.api.responses import AUTHED, CONFLICT, NOT_FOUND
from hub.exchange import push
from hub.exchange.push_documents import PUSH_KINDS, PushKind
from hub.models import ApiModel

router = APIRouter(prefix="/api/v1/exchange", tags=["exchange"], responses=AUTHED)

_PURPOSE = "exchange-deliveries"
NameParam = Annotated[str, Path(pattern=push.NAME_PATTERN, description="The endpoint's name")]


class DeliveryPublic(ApiModel):
    id: int
    delivery_id: str = Field(description="X-Smartschool-Delivery: the same on every try")
    endpoint: str | None = Field(description="Null once the endpoint was removed")
    kind: PushKind
    period: dt.date = Field(description="The day, or the month's first day")
    state: push.DeliveryState = Field(
        description="queued: not tried yet (or being sent); failed: the last try failed, "
                    "another is scheduled; sent: the receiver answered 2xx; dead: given up")
    attempts: int
    last_error: str | None
    next_try: dt.datetime | None = Field(description="When it is tried next; null once "
                                                     "sent or dead")
    created_at: dt.datetime
    sent_at: dt.datetime | None


class EndpointPublic(ApiModel):
    name: str
    url: str
    kinds: list[PushKind]
    created_at: dt.datetime
    created_by: str | None
    deliveries: dict[push.DeliveryState, int] = Field(description="Deliveries by state")


class EndpointCreated(EndpointPublic):
    secret: str = Field(description="The HMAC-SHA256 key; shown only in this answer")


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=push.NAME_PATTERN)
    url: str = Field(pattern=r"^https?://\S+$", max_length=push.URL_MAX)
    kinds: list[PushKind] = Field(min_length=1, max_length=len(PUSH_KINDS))
    secret: str | None = Field(
        default=None, min_length=push.SECRET_MIN, max_length=push.SECRET_MAX,
        description="The HMAC key the receiver verifies with; a random one when absent")


def _require_district_admin(user: User) -> None:
    if user.role != "district_admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "district admins only")


@router.get("/deliveries", response_model=list[DeliveryPublic], responses=paging.PAGED)
def list_deliveries(
    ctx: ContextDep,
    response: Response,
    conn: ConnDep,
    _reader: FeedReader,
    state: push.DeliveryState | None = None,
    endpoint: Annotated[str | None, Query(pattern=push.NAME_PATTERN)] = None,
    kind: PushKind | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: paging.CursorParam = None,
) -> list[DeliveryPublic]:
    before = paging.after(ctx, cursor, purpose=_PURPOSE, types=(int,))
    found = push.list_deliveries(conn, limit=limit,
                                 before_id=int(before[0]) if before is not None else None,
                                 state=state, endpoint=endpoint, kind=kind)
    rows = [_delivery(d) for d in found]
    if rows:
        paging.set_next(response, ctx, purpose=_PURPOSE, full=len(rows) == limit,
                        last=(rows[-1].id,))
    return rows


@router.post("/deliveries/{delivery}/retry", response_model=DeliveryPublic,
             responses=NOT_FOUND)
def retry_delivery(
    conn: ConnDep,
    user: CurrentUser,
    delivery: Annotated[int, Path(ge=1, le=2**62, description="The delivery's id")],
) -> DeliveryPublic:
    """Try a dead delivery again (after the receiver is fixed): the same delivery id and
    body, a new round of tries."""
    _require_district_admin(user)
    if not push.retry_dead(conn, outbox_id=delivery):
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            "no dead delivery with that id and an endpoint")
    [found] = push.list_deliveries(conn, limit=1, before_id=delivery + 1)
    return _delivery(found)


def _delivery(d: push.Delivery) -> DeliveryPublic:
    return DeliveryPublic(id=d.id, delivery_id=d.delivery_id, endpoint=d.endpoint,
                          kind=d.kind, period=d.period, state=d.state, attempts=d.attempts,
                          last_error=d.last_error, next_try=d.next_try,
                          created_at=d.created_at, sent_at=d.sent_at)


def _public(e: push.Endpoint, counts: dict[str, dict[push.DeliveryState, int]]
            ) -> EndpointPublic:
    return EndpointPublic(name=e.name, url=e.url, kinds=list(e.kinds),
                          created_at=e.created_at, created_by=e.created_by,
                          deliveries=counts.get(e.name, dict.fromkeys(push.DELIVERY_STATES, 0)))


@router.get("/endpoints", response_model=list[EndpointPublic])
def list_endpoints(conn: ConnDep, user: CurrentUser) -> list[EndpointPublic]:
    _require_district_admin(user)
    counts = push.state_counts(conn)
    return [_public(e, counts) for e in push.list_endpoints(conn)]


@router.post("/endpoints", response_model=EndpointCreated, status_code=status.HTTP_201_CREATED,
             responses=CONFLICT)
def add_endpoint(conn: ConnDep, user: CurrentUser, body: EndpointCreate) -> EndpointCreated:
    _require_district_admin(user)
    secret = body.secret if body.secret is not None else push.new_secret()
    try:
        e = push.add_endpoint(conn, name=body.name, url=body.url, kinds=body.kinds,
                              secret=secret, created_by=user.username)
    except push.EndpointExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except push.EndpointError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from exc
    public = _public(e, {})
    return EndpointCreated(**public.model_dump(), secret=secret)


@router.delete("/endpoints/{name}", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response, responses=NOT_FOUND)
def remove_endpoint(conn: ConnDep, user: CurrentUser, name: NameParam) -> Response:
    """Remove an endpoint; its deliveries not sent yet are given up (dead)."""
    _require_district_admin(user)
    if not push.remove_endpoint(conn, name):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no endpoint named {name!r}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
