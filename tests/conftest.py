"""Shared fixtures: the real PostgreSQL and a private real Mosquitto.

PostgreSQL: SMARTSCHOOL_TEST_PG (default postgresql://postgres@127.0.0.1:5432/postgres)
is the admin connection; each test that asks for ``pg_url`` gets a fresh, migrated
database of its own, dropped afterwards.
Mosquitto: each test session starts its own broker on a free port (the binary from
PATH or /usr/sbin), so tests never see other clients' retained messages.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ADMIN_PG = os.environ.get("SMARTSCHOOL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parent.parent
# The face photos the tests enroll and probe (MIT, see its README): part of the repository.
FACES = ROOT / "tests" / "fixtures" / "faces"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def wait_until(check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _db_url(name: str) -> str:
    base, _, _ = ADMIN_PG.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """A fresh, empty database (no migrations applied)."""
    import psycopg

    name = f"ss_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_PG, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield _db_url(name)
    finally:
        with psycopg.connect(ADMIN_PG, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def pg_url(empty_pg_url: str) -> str:
    """A fresh database with every migration applied."""
    from hub.db import migrate

    migrate(empty_pg_url)
    return empty_pg_url


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if not found:
        pytest.fail("mosquitto is not installed: run .ci/run or apt-get install mosquitto")
    return found


class Broker:
    """A private Mosquitto process; ``stop``/``start`` simulate an outage."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {workdir}/\n"
            "max_queued_messages 0\n"  # unlimited: a restarting hub must lose nothing
            "max_inflight_messages 1000\n"
            "log_dest stderr\n"
            # As root Mosquitto drops to the `mosquitto` user, which cannot write its
            # session file into pytest's private tmp dirs; stay the current user.
            f"user {getpass.getuser()}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "mosquitto.log").open("ab"),
        )
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    return FACES


@contextlib.contextmanager
def running_hub(pg_url: str, broker: Broker, data_dir: Path) -> Iterator[Any]:
    """A real hub (ingest + API) on the test broker, yielded once its subscription is
    confirmed: the SUBACK, not the CONNACK, or a message published first finds no one."""
    from core.settings import Settings
    from hub.service import Hub

    settings = Settings(_env_file=None, api_port=free_port(), data_dir=data_dir,
                        hub_client_id=f"hub-{uuid.uuid4().hex[:6]}", secret_key="s" * 48)
    service = Hub(settings, database_url=pg_url, mqtt_url=broker.url)
    service.start()
    try:
        assert service.ingest is not None
        wait_until(lambda: service.ingest and service.ingest.stats.subscribed,
                   what="hub subscribed")
        yield service
    finally:
        service.stop()
