"""Services the demo brings up itself when no settings point elsewhere.

PostgreSQL: the ``pgserver`` wheel carries a real server, kept under the data dir.
MQTT: Mosquitto from PATH on a free loopback port, else the pure-Python amqtt
(MQTT 3.1.1 only), each in its own child process so a broker crash is visible.
"""

from __future__ import annotations

import getpass
import logging
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

BROKER_START_TIMEOUT_S = 15.0
DEMO_DATABASE = "smartschool"

# Same intent as deploy/mosquitto/hub.conf, inlined so an installed wheel needs no repo.
MOSQUITTO_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence true
persistence_location {dir}/
max_queued_messages 0
max_inflight_messages 1000
message_size_limit 131072
log_dest file {dir}/mosquitto.log
user {user}
"""

AMQTT_CONF = """\
listeners:
  default:
    type: tcp
    bind: 127.0.0.1:{port}
plugins:
  amqtt.plugins.authentication.AnonymousAuthPlugin:
    allow_anonymous: true
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


def find_mosquitto() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    # Debian installs it in sbin, which is not on a normal user's PATH.
    sbin = Path("/usr/sbin/mosquitto")
    return str(sbin) if sbin.exists() else None


class EmbeddedPostgres:
    """A real PostgreSQL (from the pgserver wheel) whose data lives in ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: object | None = None

    def start(self) -> str:
        try:
            import pgserver  # heavy import; only the demo needs it
        except ImportError as exc:
            # the `demo` extra installs it on x86_64 only: pgserver has no other wheels
            raise RuntimeError(
                "the embedded PostgreSQL needs pgserver (the `demo` extra, x86_64 only); "
                "elsewhere set SMARTSCHOOL_DATABASE_URL to a PostgreSQL of your own") from exc

        self.data_dir.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(  # type: ignore[attr-defined]
            self.data_dir, cleanup_mode="stop")
        self._server = server
        uri = str(server.get_uri())
        import psycopg

        with psycopg.connect(uri, autocommit=True) as conn:
            exists = conn.execute(
                "select 1 from pg_database where datname = %s", (DEMO_DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f"create database {DEMO_DATABASE}")
        url = str(server.get_uri(DEMO_DATABASE))
        log.info("embedded PostgreSQL in %s", self.data_dir)
        return url

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None


class ManagedBroker:
    """Mosquitto if installed, else amqtt, on a free loopback port."""

    def __init__(self, work_dir: Path, *, prefer: Literal["auto", "mosquitto", "amqtt"] = "auto"
                 ) -> None:
        self.work_dir = work_dir
        self.prefer = prefer
        self.port = 0
        self.kind = ""
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> str:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        mosquitto = find_mosquitto() if self.prefer in ("auto", "mosquitto") else None
        if mosquitto:
            conf = self.work_dir / "mosquitto.conf"
            # As root Mosquitto would drop to its own user, who cannot write our data dir.
            conf.write_text(MOSQUITTO_CONF.format(port=self.port, dir=self.work_dir,
                                                  user=getpass.getuser()))
            cmd = [mosquitto, "-c", str(conf)]
            self.kind = "mosquitto"
        else:
            conf = self.work_dir / "amqtt.yaml"
            conf.write_text(AMQTT_CONF.format(port=self.port))
            cmd = [sys.executable, "-c",
                   "from amqtt.scripts.broker_script import main; main()", "-c", str(conf)]
            self.kind = "amqtt"
        log_file = (self.work_dir / f"{self.kind}.out").open("ab")
        self._proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT)
        wait_for_port(self.port, BROKER_START_TIMEOUT_S, self._proc)
        log.info("%s broker on %s", self.kind, self.url)
        return self.url

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._proc = None
