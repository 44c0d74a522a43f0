"""Liveness for load balancers and the demo: answers without a token.

Where the broker and the database live (hosts, ports, user names) helps an attacker more
than a load balancer: only a caller with a valid token sees them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import psycopg
from fastapi import APIRouter, Depends, Response, status
from fastapi.security import OAuth2PasswordBearer

from hub.accounts.auth import InvalidTokenError, decode_token, get_user, token_current
from hub.api.deps import TOKEN_URL, ContextDep
from hub.api.models import HealthPublic, IngestHealthPublic
from hub.db import Conn

# A health probe must answer quickly even when the database hangs.
HEALTH_DB_TIMEOUT_S = 2.0

router = APIRouter(tags=["health"])

# A missing or bad token is not an error here: the probe answers, with less.
_optional_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
OptionalToken = Annotated[str | None, Depends(_optional_bearer)]


def _signed_in(conn: Conn, secret: str, token: str) -> bool:
    try:
        claims = decode_token(token, secret=secret)
    except InvalidTokenError:
        return False
    user = get_user(conn, username=claims.username)
    return user is not None and not user.disabled and token_current(claims, user)


@router.get(
    "/api/health",
    response_model=HealthPublic,
    responses={503: {"model": HealthPublic, "description": "The database is unreachable"}},
    # `ingest` only where ingest runs in this process: elsewhere the answer stays as it was
    response_model_exclude_unset=True,
)
def health(ctx: ContextDep, response: Response, token: OptionalToken = None) -> HealthPublic:
    detail = None
    shown = False
    try:
        with ctx.pool.connection(timeout=HEALTH_DB_TIMEOUT_S) as conn:
            conn.execute("select 1")
            shown = token is not None and _signed_in(conn, ctx.secret, token)
    except psycopg.Error as exc:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        detail = f"database unreachable: {type(exc).__name__}"
    answer = HealthPublic(
        status="degraded" if detail else "ok",
        mqtt=ctx.mqtt_display if shown else None,
        database=ctx.database_display if shown else None,
        detail=detail,
    )
    ingest = _ingest(ctx)
    return answer if ingest is None else answer.model_copy(update={"ingest": ingest})


def _ingest(ctx: ContextDep) -> IngestHealthPublic | None:
    # Counts and ages only, so it needs no token: nothing here names a host.
    if ctx.ingest is None:
        return None
    stats = ctx.ingest.stats
    last = stats.last_commit
    return IngestHealthPublic(
        broker="connected" if stats.connected else "disconnected",
        subscribed=stats.subscribed,
        last_commit_age_s=round((datetime.now(UTC) - last).total_seconds(), 3)
        if last is not None else None,
        backlog=ctx.ingest.backlog,
    )
