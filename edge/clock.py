"""Where agents get the time: the wall clock on a Pi, a compressed clock in the simulator."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _district_zone() -> tzinfo:
    try:
        return ZoneInfo("Asia/Ho_Chi_Minh")
    except ZoneInfoNotFoundError:
        # A Pi image without tzdata: Vietnam has kept +07:00 without DST since 1975.
        return timezone(timedelta(hours=7), "ICT")


DISTRICT_TZ = _district_zone()


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime in the district's zone (the offset goes on the wire in ``ts``)."""
        ...


class SystemClock:
    def __init__(self, tz: tzinfo = DISTRICT_TZ) -> None:
        self._tz = tz

    def now(self) -> datetime:
        return datetime.now(self._tz)


class CompressedClock:
    """Simulated time running ``speed`` times faster than real time from ``start``.

    Built on the monotonic clock so a wall-clock step (NTP) does not make the
    simulated day jump.
    """

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("CompressedClock needs an aware start time")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start = start.astimezone(DISTRICT_TZ)
        self._speed = speed
        self._t0 = time.monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self._speed)


class ManualClock:
    """Time that moves only when told: for tests and step-by-step replays."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware start time")
        self._now = start.astimezone(DISTRICT_TZ)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("ManualClock needs an aware time")
        self._now = moment.astimezone(DISTRICT_TZ)
