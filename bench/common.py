"""What the benchmarks share: a private Mosquitto configured as the hub expects."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_broker(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Mosquitto with deploy/mosquitto/hub.conf on a free port; its data in ``workdir``."""
    port = free_port()
    conf = workdir / "mosquitto.conf"
    shipped = (ROOT / "deploy" / "mosquitto" / "hub.conf").read_text()
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n{shipped}\n"
                    f"persistence_location {workdir}/\nuser {getpass.getuser()}\n")
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=(workdir / "mosquitto.log").open("ab"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")
