"""A gate fetches its school's cards and face gallery: ``GET /api/v1/device/sync``.

Authenticated by the device token (``Authorization: Bearer <token>``, issued by
``smartschool devices token DEVICE``), never by a user's JWT: the answer holds biometric
data, and only the gate that decides at the school's door needs it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, status

from hub.api.deps import ConnDep, ContextDep
from hub.api.responses import TOO_LARGE, UNAVAILABLE
from hub.devices.sync import build_sync
from hub.devices.tokens import (
    CARDS,
    FACES,
    access_refusal,
    bearer_token,
    capability_refusal,
    grant_for_token,
    grant_refusal,
)
from protocol.sync import SyncDocument

router = APIRouter(prefix="/api/v1", tags=["device sync"])


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail,
                         headers={"WWW-Authenticate": "Bearer"})


@router.get("/device/sync", response_model=SyncDocument,
            responses={401: {"description": "No device token, or an unknown, expired or "
                                             "revoked one"},
                       403: {"description": "The device is not a gate, or its token does "
                                            "not carry what was asked (faces for a "
                                            "card-only gate)"}}
            | TOO_LARGE | UNAVAILABLE)
def device_sync(
    conn: ConnDep,
    ctx: ContextDep,
    authorization: Annotated[str | None, Header(
        description="Bearer <device token>")] = None,
    gallery: Annotated[bool, Query(
        description="Include the face gallery; a card-only gate asks without it, so it "
        "never receives biometric data")] = True,
) -> SyncDocument:
    """The cards and (unless ``gallery=false``) the face gallery of the device's school,
    with the school's current sync version."""
    token = bearer_token(authorization)
    if token is None:
        raise _unauthorized("send the device token as Authorization: Bearer <token> "
                            "(`smartschool devices token DEVICE` issues one)")
    grant = grant_for_token(conn, token)
    if grant is None:
        raise _unauthorized("unknown device token (revoked by a newer one, or never issued)")
    now = dt.datetime.now(ctx.tz)
    refusal = grant_refusal(grant, now)
    if refusal is not None:
        raise _unauthorized(refusal)
    refusal = access_refusal(grant.device)
    for capability in (CARDS, FACES) if gallery else (CARDS,):
        refusal = refusal or capability_refusal(grant, capability)
    if refusal is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, refusal)
    return build_sync(conn, grant.device, at=now, gallery=gallery)
