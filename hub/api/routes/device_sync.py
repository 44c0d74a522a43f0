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
from hub.devices.sync import build_sync
from hub.devices.tokens import access_refusal, bearer_token, device_for_token
from protocol.sync import SyncDocument

router = APIRouter(prefix="/api/v1", tags=["device sync"])


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail,
                         headers={"WWW-Authenticate": "Bearer"})


@router.get("/device/sync", response_model=SyncDocument,
            responses={401: {"description": "No, or an unknown, device token"},
                       403: {"description": "The device is not a gate"}})
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
    device = device_for_token(conn, token)
    if device is None:
        raise _unauthorized("unknown device token (revoked by a newer one, or never issued)")
    refusal = access_refusal(device)
    if refusal is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, refusal)
    return build_sync(conn, device, at=dt.datetime.now(ctx.tz), gallery=gallery)
