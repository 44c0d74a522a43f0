"""The hub process: ingest and the API side by side, stoppable as one."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import uvicorn

from core.mqtt import (
    BrokerAddress,
    TlsFiles,
    TransportRefused,
    negotiate_protocol,
    transport_problem,
)
from core.settings import Settings
from hub.devices.publisher import SyncPublisher
from hub.devices.sender import CommandSender
from hub.equipment.evaluator import Evaluator
from hub.ingest.worker import Ingest
from hub.notify.settings import NotifySettings
from hub.notify.worker import NotificationWorker
from hub.records.retention import RetentionWindows

log = logging.getLogger(__name__)

SERVER_START_TIMEOUT_S = 20.0
WORKER_RESTART_INITIAL_S = 1.0  # a worker that dies is restarted after this, doubling
WORKER_RESTART_MAX_S = 30.0
WORKER_HEALTHY_S = 60.0  # a worker alive this long resets its restart backoff
WORKER_STOP_TIMEOUT_S = 15.0


class WorkerPool:
    """N ingest worker processes on the shared subscription, kept alive.

    Processes rather than threads: paho's receive loop and the writer are CPU-bound
    Python, so one process per worker is what puts a second core to work. Each
    worker keeps its own client id across restarts (``{base}-w{i}``): its
    persistent session, with whatever it had not acknowledged, waits for it at the
    broker.
    """

    def __init__(self, count: int, *, base_client_id: str) -> None:
        self.client_ids = [f"{base_client_id}-w{i}" for i in range(count)]
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.restarts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="workers", daemon=True)

    def _spawn(self, client_id: str) -> None:
        cmd = [sys.executable, "-m", "smartschool", "hub", "--no-api", "--shared",
               "--client-id", client_id]
        self.procs[client_id] = subprocess.Popen(cmd, env=os.environ.copy())
        log.info("ingest worker %s started (pid %d)", client_id,
                 self.procs[client_id].pid)

    def start(self) -> None:
        for client_id in self.client_ids:
            self._spawn(client_id)
        self._thread.start()

    def _supervise(self) -> None:
        delay = dict.fromkeys(self.client_ids, WORKER_RESTART_INITIAL_S)
        started = dict.fromkeys(self.client_ids, time.monotonic())
        while not self._stop.wait(0.5):
            for client_id, proc in list(self.procs.items()):
                if proc.poll() is None:
                    if time.monotonic() - started[client_id] > WORKER_HEALTHY_S:
                        delay[client_id] = WORKER_RESTART_INITIAL_S
                    continue
                log.error("ingest worker %s exited (%s); restarting in %.0fs", client_id,
                          proc.returncode, delay[client_id])
                if self._stop.wait(delay[client_id]):
                    return
                delay[client_id] = min(delay[client_id] * 2, WORKER_RESTART_MAX_S)
                self._spawn(client_id)
                started[client_id] = time.monotonic()
                self.restarts += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(WORKER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


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


def broker_tls(settings: Settings) -> TlsFiles:
    """The TLS files the settings name (SMARTSCHOOL_MQTT_CA_FILE, ..._CERT_FILE, ..._KEY_FILE)."""
    def text(path: Path | None) -> str | None:
        return str(path) if path is not None else None

    return TlsFiles(text(settings.mqtt_ca_file), text(settings.mqtt_cert_file),
                    text(settings.mqtt_key_file))


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
        workers: int = 0,
        notify: bool | None = None,
        school_clock: Callable[[], datetime] | None = None,
    ) -> None:
        """``workers`` > 0: ingest runs in that many child processes on the shared
        subscription instead of in this process. ``notify`` (default: with the API) runs
        the parents' notification worker here; several are safe (rows are claimed with
        ``for update skip locked``). ``school_clock``: the time the lessons' cutoffs are
        checked by (the demo's simulated school day; the real clock by default)."""
        self.settings = settings
        # Transport (issue #11): the district CA and client certificate from the settings;
        # plain MQTT to another machine is refused unless allowed explicitly.
        tls = broker_tls(settings)
        problem = transport_problem(
            BrokerAddress.parse(mqtt_url, tls), allow_plaintext=settings.mqtt_allow_plaintext,
            how_to_allow="set SMARTSCHOOL_MQTT_ALLOW_PLAINTEXT=true")
        if problem is not None:
            raise TransportRefused(problem)
        if ingest or api:
            # Fail fast on a broker that refuses the hub (BrokerRefused): an edge agent
            # keeps running through a refusal, the hub must not start half-connected.
            negotiate_protocol(
                BrokerAddress.parse(mqtt_url, tls), username=settings.mqtt_username,
                password=settings.mqtt_password.get_secret_value()
                if settings.mqtt_password else None)
        self.notifier: NotificationWorker | None = None
        # Alarms and rollups: every hub process may run one; an advisory lock makes one
        # the leader and the others standbys.
        self.evaluator: Evaluator | None = None
        if ingest:
            self.evaluator = Evaluator(
                database_url,
                offline_after_gate_s=settings.offline_after_gate_s,
                offline_after_classroom_s=settings.offline_after_classroom_s,
                event_retention_days=settings.event_retention_days,
                retention=RetentionWindows.from_settings(settings),
                # The plan's targets (issue #13): month-end KPI snapshots
                kpi_tz=ZoneInfo(settings.timezone),
            )
        if notify if notify is not None else api:
            self.notifier = NotificationWorker(database_url, settings=NotifySettings(),
                                               tz=ZoneInfo(settings.timezone),
                                               school_clock=school_clock)
            # Warnings and forecasts (issue 15): nightly beside the notifier that sends them
            from hub.warnings.runner import NightlyWarnings

            self.warnings: NightlyWarnings | None = NightlyWarnings(
                database_url, at=settings.warnings_at, tz=ZoneInfo(settings.timezone))
            # Exchange with the city (issue 15): the push, through the same outbox
            from hub.exchange.push_settings import PushSettings
            from hub.exchange.push_worker import ExchangePushWorker

            push_settings = PushSettings()
            self.pusher: ExchangePushWorker | None = ExchangePushWorker(
                database_url, settings=push_settings, tz=ZoneInfo(settings.timezone)
            ) if push_settings.enabled else None
        else:
            self.warnings = None
            self.pusher = None
        self.ingest: Ingest | None = None
        self.api: ApiServer | None = None
        self.workers: WorkerPool | None = None
        if ingest and workers > 0:
            self.workers = WorkerPool(workers, base_client_id=client_id or settings.hub_client_id)
        elif ingest:
            password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
            self.ingest = Ingest(
                database_url=database_url,
                mqtt_url=mqtt_url,
                client_id=client_id or settings.hub_client_id,
                tz=settings.timezone,
                username=settings.mqtt_username,
                password=password,
                shared=shared,
                tls=tls,
            )
        # Gates told to fetch when their school's cards or gallery change: beside the API
        # they fetch from (worker processes run --no-api); an advisory lock keeps it to
        # one publisher should several hub processes serve the API.
        self.sync_publisher: SyncPublisher | None = None
        # Commands to devices (issue #13): the one command client of this process, shared
        # by the gallery publisher and the API's commands.
        self.command_sender: CommandSender | None = None
        if api:
            from hub.api.app import create_app

            password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
            self.command_sender = CommandSender(
                mqtt_url, client_id=f"{client_id or settings.hub_client_id}-sync",
                username=settings.mqtt_username, password=password, tls=tls)
            app = create_app(settings, database_url=database_url,
                             command_sender=self.command_sender,
                             mqtt_display=str(BrokerAddress.parse(mqtt_url)),
                             ingest=self.ingest)
            self.api = ApiServer(app, host=settings.api_host, port=settings.api_port)
            password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
            self.sync_publisher = SyncPublisher(
                database_url, mqtt_url=mqtt_url,
                client_id=f"{client_id or settings.hub_client_id}-sync",
                tz=ZoneInfo(settings.timezone), username=settings.mqtt_username,
                password=password, tls=tls, sender=self.command_sender,
            )

    def start(self) -> None:
        if self.ingest:
            self.ingest.start()
        if self.notifier:
            self.notifier.start()
        if self.warnings:
            self.warnings.start()
        if self.pusher:
            self.pusher.start()
        if self.evaluator:
            self.evaluator.start()
        if self.workers:
            self.workers.start()
        if self.api:
            self.api.start()
            log.info("API on http://%s:%d (docs at /docs)", self.api.host, self.api.port)
        if self.sync_publisher:
            self.sync_publisher.start()

    def stop(self) -> None:
        if self.sync_publisher:
            self.sync_publisher.stop()
        if self.evaluator:
            self.evaluator.stop()
        if self.warnings:
            self.warnings.stop()
        if self.pusher:
            self.pusher.stop()
        if self.notifier:
            self.notifier.stop()
        if self.api:
            self.api.stop()
        if self.command_sender:  # after the API: no request is left to publish
            self.command_sender.close()
        if self.ingest:
            self.ingest.stop()
        if self.workers:
            self.workers.stop()
