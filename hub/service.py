"""The hub process: ingest and the API side by side, stoppable as one."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import uvicorn

from hub.ingest import Ingest
from smartschool.mqtt import BrokerAddress
from smartschool.settings import Settings

log = logging.getLogger(__name__)

SERVER_START_TIMEOUT_S = 20.0


class ApiServer:
    """uvicorn in a thread of ours, so the demo and the hub stop it like the rest."""

    def __init__(self, app: Any, *, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                                access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="api", daemon=True)
        self.host, self.port = host, port

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"the API did not start on {self.host}:{self.port}")
            if time.monotonic() > deadline:
                raise TimeoutError("the API took too long to start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class Hub:
    def __init__(
        self,
        settings: Settings,
        *,
        database_url: str,
        mqtt_url: str,
        api: bool = True,
        ingest: bool = True,
        shared: bool = False,
        client_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.ingest: Ingest | None = None
        self.api: ApiServer | None = None
        if ingest:
            password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
            self.ingest = Ingest(
                database_url=database_url,
                mqtt_url=mqtt_url,
                client_id=client_id or settings.hub_client_id,
                timezone=settings.timezone,
                username=settings.mqtt_username,
                password=password,
                shared=shared,
            )
        if api:
            from hub.api.app import create_app

            app = create_app(settings, database_url=database_url,
                             mqtt_display=str(BrokerAddress.parse(mqtt_url)))
            self.api = ApiServer(app, host=settings.api_host, port=settings.api_port)

    def start(self) -> None:
        if self.ingest:
            self.ingest.start()
        if self.api:
            self.api.start()
            log.info("API on http://%s:%d (docs at /docs)", self.api.host, self.api.port)

    def stop(self) -> None:
        if self.api:
            self.api.stop()
        if self.ingest:
            self.ingest.stop()
