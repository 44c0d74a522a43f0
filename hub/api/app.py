"""The hub's HTTP API: build the FastAPI app around one connection pool.

Routes are synchronous: psycopg's pool is thread-based, and FastAPI runs sync routes in
its worker threads, so one concurrency model holds for the whole API.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from psycopg_pool import ConnectionPool

from core.settings import Settings
from hub.accounts.auth import load_or_create_secret
from hub.api.context import ApiContext
from hub.api.limits import BodyLimits
from hub.api.methods import AllowedMethods
from hub.api.redact import redact_url
from hub.api.routes import (
    attendance,
    attendance_reports,
    auth,
    commands,
    consents,
    dead_letters,
    device_sync,
    devices,
    enrollments,
    equipment,
    events,
    feed,
    health,
    leavers,
    metrics,
    notifications,
    records,
    schools,
    users,
)
from hub.db import Conn
from hub.devices.sender import CommandSender
from hub.equipment.alarms import AlarmError
from hub.metrics import IngestView, build_registry

log = logging.getLogger(__name__)

TITLE = "smartschool hub API"
# Few connections: the API answers short reads; the ingest workers have their own pool.
POOL_MIN_SIZE = 1
POOL_MAX_SIZE = 8
# Seconds after which the pool gives up a connection attempt; with the database down, the
# pool keeps retrying in the background while requests get 503.
POOL_RECONNECT_TIMEOUT_S = 60.0


def create_app(settings: Settings, *, database_url: str, mqtt_display: str,
               ingest: IngestView | None = None,
               command_sender: CommandSender | None = None) -> FastAPI:
    """The API app; its pool opens with the app's lifespan and closes on shutdown.

    Opening does not wait for the database, so the API starts (and /api/health says
    "degraded") while PostgreSQL is still coming up.
    """
    try:
        tz = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"SMARTSCHOOL_TIMEZONE {settings.timezone!r} is not a time zone") from exc

    pool: ConnectionPool[Conn] = ConnectionPool(
        database_url,
        min_size=POOL_MIN_SIZE,
        max_size=POOL_MAX_SIZE,
        # Reads only, one statement each: autocommit avoids idle-in-transaction sessions.
        kwargs={"autocommit": True, "application_name": "smartschool-api"},
        # A database restart leaves dead connections in the pool; checking each on checkout
        # turns that into one reconnect instead of one failed request per stale connection.
        check=ConnectionPool.check_connection,
        configure=partial(_configure_connection, tz=settings.timezone),
        reconnect_timeout=POOL_RECONNECT_TIMEOUT_S,
        open=False,
        name="api",
    )
    ctx = ApiContext(
        settings=settings,
        pool=pool,
        secret=load_or_create_secret(settings),
        tz=tz,
        database_display=redact_url(database_url),
        mqtt_display=mqtt_display,
        # Commands to devices (issue #13): the hub process's one command client
        commands=command_sender,
        # Observability (issue #16): ingest liveness for /api/health, series for /metrics
        ingest=ingest,
        metrics=build_registry(pool, ingest),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        with _opened(pool):
            yield

    app = FastAPI(title=TITLE, docs_url="/docs", lifespan=lifespan)
    app.state.ctx = ctx
    app.add_exception_handler(psycopg.OperationalError, _database_unavailable)
    app.add_exception_handler(AlarmError, _alarm_refused)
    # Limits before work (issue #12): body sizes and upload tokens checked before a read.
    app.add_middleware(BodyLimits)
    # Every route honours its contract (issue #12): a 405 names all the path's methods.
    app.add_middleware(AllowedMethods)
    for module in (health, auth, users, schools, attendance, devices, events, dead_letters):
        app.include_router(module.router)
    app.include_router(records.router)
    app.include_router(consents.router)
    app.include_router(enrollments.router)
    app.include_router(attendance_reports.router)
    app.include_router(notifications.router)
    app.include_router(equipment.router)
    app.include_router(device_sync.router)
    # People leave (issue #12): leave and transfer
    app.include_router(leavers.router)
    # Exchange with the city (issue 15): the change feed, and the push's endpoints and
    # deliveries
    app.include_router(feed.router)
    from hub.api.routes import exchange_push

    app.include_router(exchange_push.router)
    # The plan's targets (issue #13): the indicators and the yearly report's XLSX
    from hub.api.routes import kpi

    app.include_router(kpi.router)
    # Observability (issue #16): Prometheus' scrape target
    app.include_router(metrics.router)
    # Commands to devices (issue #13)
    app.include_router(commands.router)
    # Warnings and forecasts (issue 15)
    from hub.api.routes import warnings as warnings_routes

    app.include_router(warnings_routes.router)
    # Classroom attendance (issue 14): timetables and lesson registers
    from hub.api.routes import lessons, timetable

    app.include_router(timetable.router)
    app.include_router(lessons.router)
    return app


def _configure_connection(conn: Conn, *, tz: str) -> None:
    # Timestamps then leave the API with the district's offset (+07:00), as devices send
    # them, rather than in whatever zone the server happens to run.
    conn.execute("select set_config('TimeZone', %s, false)", (tz,))


@contextmanager
def _opened(pool: ConnectionPool[Conn]) -> Iterator[None]:
    pool.open(wait=False)
    try:
        yield
    finally:
        pool.close()


async def _alarm_refused(_request: Request, exc: Exception) -> JSONResponse:
    # An account that may not act (403), an alarm or work order that is not there for it
    # (404) or not in a state that allows the action (409): one mapping for every
    # equipment route.
    assert isinstance(exc, AlarmError)
    code = (status.HTTP_403_FORBIDDEN if exc.forbidden
            else status.HTTP_404_NOT_FOUND if exc.not_found else status.HTTP_409_CONFLICT)
    return JSONResponse(status_code=code, content={"detail": str(exc)})


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # Connection loss, a pool timeout or a server shutting down: the client may retry.
    log.warning("%s %s: database unavailable: %s", request.method, request.url.path, exc)
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        content={"detail": "the database is unavailable; try again shortly"},
        headers={"Retry-After": "5"},
    )
