"""Liveness for load balancers and the demo: answers without a token."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Response, status

from hub.api.deps import ContextDep
from hub.api.models import HealthPublic

# A health probe must answer quickly even when the database hangs.
HEALTH_DB_TIMEOUT_S = 2.0

router = APIRouter(tags=["health"])


@router.get(
    "/api/health",
    response_model=HealthPublic,
    responses={503: {"model": HealthPublic, "description": "The database is unreachable"}},
)
def health(ctx: ContextDep, response: Response) -> HealthPublic:
    detail = None
    try:
        with ctx.pool.connection(timeout=HEALTH_DB_TIMEOUT_S) as conn:
            conn.execute("select 1")
    except psycopg.Error as exc:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        detail = f"database unreachable: {type(exc).__name__}"
    return HealthPublic(
        status="degraded" if detail else "ok",
        mqtt=ctx.mqtt_display,
        database=ctx.database_display,
        detail=detail,
    )
