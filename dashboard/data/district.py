"""What the district page reads: one snapshot of the district's day (schools, gate
events, arrivals, recent gate activity), read through hub.read.queries and shared by
every wall screen. The events carry names: how much of them a screen is shown is the
page's decision (dashboard.access.wall_view), taken again on every refresh.

The schools' figures are the attendance rules' (queries.district_day over
reports.daily_summary): the same numbers as the school page and GET
/api/v1/attendance/daily, so the two pages never disagree about a holiday, a correction
or a student not yet due."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from core.settings import Settings
from hub.db import Conn
from hub.read import queries

FEED_LIMIT: Final = 30
# Several wall screens polling every 2 s would each run the same queries; one snapshot
# per second serves all of them and keeps the dashboard's load on the database flat.
SNAPSHOT_TTL_S: Final = 1.0
ARRIVAL_BUCKET_MIN: Final = 5
# The public wall's gate panel: passages per school over this many recent minutes.
ACTIVITY_WINDOW_MIN: Final = 15


@dataclass(frozen=True, slots=True)
class DistrictSnapshot:
    now: datetime  # aware, in the district's time zone
    schools: list[queries.SchoolDayAttendance]
    events: list[queries.GateEventPublic]
    arrivals: list[queries.ArrivalBucket] = field(default_factory=list)
    activity: list[queries.GateActivity] = field(default_factory=list)


def load_district(
    conn: Conn, settings: Settings, now: datetime
) -> DistrictSnapshot:
    day = now.date()
    return DistrictSnapshot(
        now=now,
        schools=queries.district_day(
            conn,
            day=day,
            tz=ZoneInfo(settings.timezone),
            now=now,
            offline_gate_s=settings.offline_after_gate_s,
            offline_classroom_s=settings.offline_after_classroom_s,
        ),
        events=queries.list_events(conn, limit=FEED_LIMIT),
        arrivals=queries.arrivals_by_bucket(
            conn, day=day, tz=settings.timezone, bucket_minutes=ARRIVAL_BUCKET_MIN
        ),
        activity=queries.gate_activity(
            conn, since=now - timedelta(minutes=ACTIVITY_WINDOW_MIN)),
    )


class SnapshotCache:
    """A snapshot at most ``ttl`` seconds old; concurrent callers wait for one refresh."""

    def __init__(
        self, load: Callable[[], DistrictSnapshot], *, ttl: float = SNAPSHOT_TTL_S
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._lock = threading.Lock()
        self._value: DistrictSnapshot | None = None
        self._at = 0.0

    def get(self) -> DistrictSnapshot:
        with self._lock:
            if self._value is None or time.monotonic() - self._at >= self._ttl:
                self._value = self._load()
                self._at = time.monotonic()
            return self._value


def district_now(settings: Settings) -> datetime:
    return datetime.now(ZoneInfo(settings.timezone))
