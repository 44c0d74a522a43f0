"""Prometheus' scrape target (issue #16): counts only, so it may stay open.

What it reveals without a token: how many messages, batches, dead letters by reason,
devices by role and state, open alarms by severity and unsent notifications there are.
No host, device id, school or person is a label. A district that wants even the counts
private sets SMARTSCHOOL_METRICS_TOKEN; Prometheus then sends it as a bearer token
(``authorization: {credentials_file: ...}`` in its scrape config).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Final

from fastapi import APIRouter, Header, HTTPException, Response, status
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from hub.api.deps import ContextDep
from hub.api.responses import UNAUTHORIZED, Responses

# The text exposition format, version 0.0.4: what every Prometheus server reads.
METRICS_MEDIA_TYPE: Final = CONTENT_TYPE_PLAIN_0_0_4

router = APIRouter(tags=["metrics"])

_TEXT: Final[Responses] = {
    200: {"description": "Prometheus text exposition format",
          "content": {METRICS_MEDIA_TYPE: {"schema": {"type": "string"}}}},
}
_ANSWERS: Final[Responses] = _TEXT | UNAUTHORIZED


@router.get(
    "/metrics",
    response_class=Response,
    responses=_ANSWERS,
)
def metrics(
    ctx: ContextDep,
    authorization: Annotated[str | None, Header(
        description="Bearer SMARTSCHOOL_METRICS_TOKEN, when that is set")] = None,
) -> Response:
    wanted = ctx.settings.metrics_token
    if wanted is not None:
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), wanted.get_secret_value().encode()):
            raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED,
                                detail="/metrics needs the metrics token",
                                headers={"WWW-Authenticate": "Bearer"})
    assert ctx.metrics is not None  # create_app always builds it
    return Response(generate_latest(ctx.metrics), media_type=METRICS_MEDIA_TYPE)
