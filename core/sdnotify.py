"""systemd's notify protocol without a dependency: READY=1 and WATCHDOG=1 as datagrams
to ``$NOTIFY_SOCKET`` (see sd_notify(3)).

Units with ``Type=notify`` and ``WatchdogSec=`` restart a process that stops sending
WATCHDOG=1, so :func:`heartbeat` belongs in the loop that does the work (the ingest
writer, the gate's tick loop), never in a timer thread that would keep beating while
the work is stuck. Outside systemd (no ``$NOTIFY_SOCKET``) every call is a no-op.

Child processes inherit ``$NOTIFY_SOCKET``: the hub's ingest workers beat for the hub,
whose unit says ``NotifyAccess=all`` (``WATCHDOG_PID`` is deliberately not honoured).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Mapping

# systemd's own client limits watchdog pings to about twice per WatchdogSec; once a
# second is plenty for any WatchdogSec worth setting and costs nothing per batch.
BEAT_EVERY_S = 1.0


def socket_address(value: str | None) -> str | None:
    """Where to send: a path, or an abstract socket (``@name`` becomes ``\\0name``).
    None when unset or not a unix socket address (systemd also allows ``vsock:``,
    which a service on this host never gets)."""
    if not value:
        return None
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None


def beat_due(now: float, last: float | None, every: float = BEAT_EVERY_S) -> bool:
    return last is None or now - last >= every


def notify(state: str, env: Mapping[str, str] | None = None) -> bool:
    """Send one notification (e.g. ``"READY=1"``); True when it was sent."""
    address = socket_address((os.environ if env is None else env).get("NOTIFY_SOCKET"))
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(state.encode(), address)
    except OSError:
        # the manager went away or the socket is not ours: nothing to tell
        return False
    return True


class Heartbeat:
    """READY=1 on the first beat, then WATCHDOG=1 at most every ``every`` seconds."""

    def __init__(self, every: float = BEAT_EVERY_S) -> None:
        self.every = every
        self._last: float | None = None
        self._ready = False
        self._lock = threading.Lock()

    def beat(self, env: Mapping[str, str] | None = None) -> bool:
        now = time.monotonic()
        with self._lock:
            if not beat_due(now, self._last, self.every):
                return False
            self._last = now
            state = "WATCHDOG=1" if self._ready else "READY=1\nWATCHDOG=1"
            sent = notify(state, env)
            self._ready = self._ready or sent
        return sent


_process_heartbeat = Heartbeat()


def heartbeat() -> bool:
    """This process's beat: call it from the loop that proves the process works."""
    return _process_heartbeat.beat()
