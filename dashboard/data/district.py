"""What the district page reads: one snapshot of the district's day (schools and their
wards, gate events, arrivals, recent gate activity, open alarms and every device's
state), read through hub.read.queries and hub.equipment and shared by every wall screen.
The events carry names: how much of them a screen is shown is the page's decision
(dashboard.access.wall_view), taken again on every refresh.

The schools' figures are the attendance rules' (queries.district_day over
reports.daily_summary): the same numbers as the school page and GET
/api/v1/attendance/daily, so the two pages never disagree about a holiday, a correction
or a student not yet due."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from core.settings import Settings
from hub.db import Conn
from hub.equipment import alarms as equipment_alarms
from hub.equipment.alarms import AlarmPublic
from hub.read import queries

# Where the dashboard takes "now" from: the real clock, or the demo's compressed one.
Now = Callable[[], datetime]

FEED_LIMIT: Final = 30
# Several wall screens polling every 2 s would each run the same queries; one snapshot
# per second serves all of them and keeps the dashboard's load on the database flat.
SNAPSHOT_TTL_S: Final = 1.0
ARRIVAL_BUCKET_MIN: Final = 5
# The public wall's gate panel: passages per school over this many recent minutes.
ACTIVITY_WINDOW_MIN: Final = 15
# Open alarms read per snapshot: a district-wide outage raises hundreds, the wall lists a
# handful and counts the rest.
ALARM_LIMIT: Final = 500


@dataclass(frozen=True, slots=True)
class DistrictSnapshot:
    now: datetime  # aware, in the district's time zone
    schools: list[queries.SchoolDayAttendance]
    events: list[queries.GateEventPublic]
    arrivals: list[queries.ArrivalBucket] = field(default_factory=list)
    activity: list[queries.GateActivity] = field(default_factory=list)
    wards: dict[str, str] = field(default_factory=dict)  # school id -> ward
    alarms: list[AlarmPublic] = field(default_factory=list)  # open, every severity
    devices: list[queries.DevicePublic] = field(default_factory=list)


def load_district(
    conn: Conn, settings: Settings, now: datetime, *, received_now: datetime | None = None
) -> DistrictSnapshot:
    """The wall's day as of ``now`` (the attendance clock). ``received_now`` is the real
    time the gate-activity window ends at: passages are counted by when the hub received
    them, which a demo's compressed clock does not move (default: ``now``)."""
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
            conn, since=(received_now or now) - timedelta(minutes=ACTIVITY_WINDOW_MIN)),
        wards={s.id: s.ward for s in queries.list_schools(conn)},
        alarms=equipment_alarms.list_alarms(conn, state="open", limit=ALARM_LIMIT),
        devices=queries.list_devices(conn, offline_gate_s=settings.offline_after_gate_s,
                                     offline_classroom_s=settings.offline_after_classroom_s),
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


def district_now(settings: Settings, now: Now | None = None) -> datetime:
    """The district's time: ``now()`` when given (the demo passes its simulated clock, so
    the wall counts the simulated morning and not the afternoon it is replayed in),
    else the real clock; in SMARTSCHOOL_TIMEZONE either way."""
    tz = ZoneInfo(settings.timezone)
    moment = now() if now is not None else datetime.now(UTC)
    return moment.astimezone(tz)
