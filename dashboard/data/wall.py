"""What the wall's indicator strip and the kiosk's targets view read: the plan's
indicators through dashboard.data.kpi (the code /kpi and /api/v1/kpi answer with), kept
for a minute and shared by every wall screen.

The indicators read every school's records; a wall refreshing every 2 s must not run
that each time, and a figure a minute old is as good as a fresh one for a target.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final, Generic, TypeVar
from zoneinfo import ZoneInfo

from dashboard.data.kpi import KpiView, load_kpi
from hub.db import Conn

KPI_TTL_S: Final = 60.0

T = TypeVar("T")


class TtlCache(Generic[T]):
    """A value at most ``ttl`` seconds old; concurrent callers wait for one refresh. A
    failed refresh raises and leaves the previous value for the next caller to retry."""

    def __init__(self, load: Callable[[], T], *, ttl: float) -> None:
        self._load = load
        self._ttl = ttl
        self._lock = threading.Lock()
        self._value: T | None = None
        self._at = 0.0

    def get(self) -> T:
        with self._lock:
            if self._value is None or time.monotonic() - self._at >= self._ttl:
                self._value = self._load()
                self._at = time.monotonic()
            return self._value


def load_wall_kpi(conn: Conn, tz: ZoneInfo) -> KpiView | None:
    """The district and every ward and school under it (counts, never a person)."""
    return load_kpi(conn, tz, school=None)
