"""The Dash application and a stoppable HTTP server for it.

Database access: one ``psycopg_pool.ConnectionPool`` per app (1-4 connections). Each
wall screen polls every 2 s; a fresh connection per poll would cost a TCP/TLS
handshake, authentication and a backend process each time, while the pool bounds what
the dashboard can ever take from PostgreSQL however many screens are open. A
one-second snapshot cache in front of it (dashboard.data.district) makes N screens cost one
set of queries per second.

Login (dashboard.login): ``/login`` and ``/logout`` on the same Flask server, checking
the hub's accounts; the school and equipment pages need it, and so does the district wall
unless SMARTSCHOOL_DASHBOARD_PUBLIC_WALL makes it public (dashboard.access has the rules).

Serving: Werkzeug's threaded server, wrapped in ``DashboardServer`` so the demo can
run it on a background thread and stop it cleanly. A control room has a handful of
screens; for more, serve ``create_app(...).server`` (a Flask WSGI app) with gunicorn.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import dash
from flask import Flask
from psycopg_pool import ConnectionPool
from werkzeug.serving import BaseWSGIServer, make_server

from core.settings import Settings
from dashboard.data.devices import command_sender
from dashboard.data.district import (
    DistrictSnapshot,
    Now,
    SnapshotCache,
    district_now,
    load_district,
)
from dashboard.data.kpi import KpiView
from dashboard.data.wall import KPI_TTL_S, TtlCache, load_wall_kpi
from dashboard.i18n import t
from dashboard.login import DashboardAuth
from dashboard.pages import (
    devices,
    district,
    equipment,
    exchange,
    fleet,
    kpi,
    lessons,
    school,
    shell,
    warnings,
)

log = logging.getLogger(__name__)

ASSETS: Final = Path(__file__).resolve().parent / "assets"
POOL_MIN: Final = 1
POOL_MAX: Final = 4
POOL_TIMEOUT_S: Final = 5.0  # a callback waits this long for a connection, then shows "stale"
STATEMENT_TIMEOUT_MS: Final = 5000
_POOL_KEY: Final = "smartschool_pool"
_SENDER_KEY: Final = "smartschool_command_sender"


def create_app(settings: Settings, *, database_url: str,
               public_district: bool | None = None, mqtt_url: str | None = None,
               now: Now | None = None) -> dash.Dash:
    """Build the dashboard; the pool opens in the background, so no database is needed yet.

    ``public_district``: the district wall (counts, rates and device states only) is shown
    without a login; False asks for a district-wide account or the kiosk there too; None
    follows SMARTSCHOOL_DASHBOARD_PUBLIC_WALL.

    ``mqtt_url``: the hub's broker, for the device panel's commands (default
    SMARTSCHOOL_MQTT_URL; none: commands are recorded as failed, never sent).

    ``now``: the clock the wall counts the day by; the demo passes its simulated one, so
    a morning replayed in the afternoon is not read as a day everybody missed.

    Call ``close_app`` when done (``DashboardServer.stop`` does it).
    """
    pool: ConnectionPool = ConnectionPool(
        database_url,
        min_size=POOL_MIN,
        max_size=POOL_MAX,
        timeout=POOL_TIMEOUT_S,
        kwargs={
            "autocommit": True,
            "application_name": "smartschool-dashboard",
            # A stuck query must not hold every screen's refresh behind the cache lock.
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        },
        name="dashboard",
        open=False,
    )
    pool.open(wait=False)

    def load() -> DistrictSnapshot:
        with pool.connection() as conn:
            return load_district(conn, settings, district_now(settings, now),
                                 received_now=district_now(settings))

    def load_kpis() -> KpiView | None:
        with pool.connection() as conn:
            return load_wall_kpi(conn, ZoneInfo(settings.timezone))

    app = dash.Dash(
        __name__,
        assets_folder=str(ASSETS),
        title=t(settings.language, "title"),
        # Dash accepts None (no "Updating..." flicker every 2 s); its stub says str only.
        update_title=None,  # type: ignore[arg-type]
        serve_locally=True,  # the control room may have no internet: no CDN
        suppress_callback_exceptions=True,  # pages' callbacks wait while they are not shown
    )
    if public_district is None:
        public_district = settings.dashboard_public_wall
    auth = DashboardAuth(settings, pool, public_district=public_district)
    auth.install(app.server)
    app.layout = shell.layout()
    app.validation_layout = shell.validation_layout(settings.language)  # type: ignore[assignment]
    shell.register_callbacks(app, default_lang=settings.language, auth=auth)
    equipment.register_callbacks(app, pool=pool, settings=settings, auth=auth)
    kpi.register_callbacks(app, pool=pool, settings=settings, auth=auth)
    warnings.register_callbacks(app, pool=pool, settings=settings, auth=auth)
    exchange.register_callbacks(app, pool=pool, settings=settings, auth=auth)
    school.register_callbacks(app, pool=pool, settings=settings, auth=auth, now=now)
    sender = command_sender(settings, mqtt_url)
    devices.register_callbacks(app, pool=pool, settings=settings, auth=auth, sender=sender)
    fleet.register_callbacks(app, pool=pool, settings=settings, auth=auth)
    lessons.register_callbacks(app, pool=pool, settings=settings, auth=auth, now=now)
    district.register_callbacks(
        app,
        snapshots=SnapshotCache(load),
        tz=ZoneInfo(settings.timezone),
        default_lang=settings.language,
        auth=auth,
        wall_names=settings.dashboard_wall_names,
        kpis=TtlCache(load_kpis, ttl=KPI_TTL_S),
        now=now,
    )
    app.server.extensions[_POOL_KEY] = pool
    app.server.extensions[_SENDER_KEY] = sender
    return app


def close_app(app: dash.Dash) -> None:
    pool = app.server.extensions.pop(_POOL_KEY, None)
    if isinstance(pool, ConnectionPool):
        pool.close()
    sender = app.server.extensions.pop(_SENDER_KEY, None)
    if sender is not None:
        sender.close()


class DashboardServer:
    """The dashboard on ``host:port`` (port 0: a free one), on a thread or in the foreground."""

    def __init__(self, settings: Settings, *, database_url: str, host: str, port: int,
                 public_district: bool | None = None, mqtt_url: str | None = None,
                 now: Now | None = None) -> None:
        self.app = create_app(settings, database_url=database_url,
                              public_district=public_district, mqtt_url=mqtt_url, now=now)
        self._http: BaseWSGIServer = make_server(host, port, self.app.server, threaded=True)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._http.server_port)

    @property
    def url(self) -> str:
        return f"http://{self._http.server_address[0]!s}:{self.port}/"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="dashboard-http", daemon=True
        )
        self._thread.start()

    def serve_forever(self) -> None:
        try:
            self._http.serve_forever()
        finally:
            self.stop()

    def stop(self) -> None:
        if self._thread is not None:
            self._http.shutdown()  # returns once serve_forever has left its loop
            self._thread.join(timeout=5)
            self._thread = None
        self._http.server_close()
        close_app(self.app)

    def __enter__(self) -> DashboardServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(settings: Settings, *, database_url: str, host: str, port: int) -> None:
    """Run the dashboard in the foreground until interrupted (``smartschool dashboard``)."""
    server = DashboardServer(settings, database_url=database_url, host=host, port=port)
    log.info("dashboard on %s", server.url)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


# issue #16: the WSGI entry point for a production server (deploy/systemd, deploy/compose)
def wsgi_app() -> Flask:
    """The dashboard as a WSGI app, built from the SMARTSCHOOL_* environment:
    ``gunicorn --workers 1 --threads 8 'dashboard.app:wsgi_app()'``.

    One process with threads, not several processes: the snapshot cache (N screens,
    one set of queries a second), the connection pool's bound and the login throttle
    are each per process.
    """
    from core.settings import get_settings
    from hub.accounts.rules import admin_password_problem, secret_key_problem

    settings = get_settings()
    if not settings.database_url:
        raise RuntimeError("SMARTSCHOOL_DATABASE_URL is not set")
    weak = [p for p in (
        settings.secret_key and secret_key_problem(settings.secret_key.get_secret_value()),
        settings.admin_password
        and admin_password_problem(settings.admin_password.get_secret_value()),
    ) if p]
    if weak:
        raise RuntimeError("; ".join(str(p) for p in weak))
    server: Flask = create_app(settings, database_url=settings.database_url).server
    return server
