"""Read queries shared by the API and the dashboard: one place for the SQL they both show."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from psycopg.rows import class_row

from hub.attendance import reports
from hub.attendance.service import load_setups
from hub.db import Conn
from hub.models import ApiModel


class SchoolPublic(ApiModel):
    id: str
    name: str
    level: str
    ward: str
    start_time: str
    students: int
    devices: int


class SchoolAttendance(ApiModel):
    school: str
    name: str
    level: str
    enrolled: int
    present: int  # arrived by the start time
    late: int  # arrived after the start time
    absent: int  # not (yet) arrived: enrolled - present - late
    devices_online: int
    devices_total: int


class SchoolDayAttendance(SchoolAttendance):
    """One school's day by the attendance rules, with its devices: what the district page
    shows. The counts are reports.daily_summary's (GET /api/v1/attendance/daily, the school
    page), not attendance_summary's: ``enrolled`` is the day's expected students (0 when
    the school has no school day), ``present``/``late`` split on the school's late cutoff,
    ``absent`` counts only from its absent cutoff (``pending`` before it), and corrections
    win (``excused``)."""

    school_day: bool
    excused: int
    pending: int


class DevicePublic(ApiModel):
    id: str
    school: str
    role: str
    state: str  # online / offline / unknown, from status, Last Will and silence
    last_seen: datetime | None
    fw: str | None
    ip: str | None


class GateEventPublic(ApiModel):
    device: str
    school: str
    seq: int
    ts: datetime
    received_at: datetime
    direction: str
    method: str
    # null unless the caller's role manages cards (hub/access.py CARD_ROLES); person,
    # person_name and class_name are null for roles outside PERSON_ROLES
    card_uid: str | None
    person: str | None  # the records' person code when resolved, else what the edge sent
    person_name: str | None
    class_name: str | None
    decision: str
    reason: str | None
    resolved: bool
    # the room whose door saw the pupil, for a classroom device's sighting (issue 14)
    room: str | None = None


class ArrivalBucket(ApiModel):
    bucket: datetime  # district-local wall time, naive
    on_time: int
    late: int


class DeadLetterPublic(ApiModel):
    id: int
    topic: str
    reason: str
    detail: str | None
    payload_size: int
    received_at: datetime


def list_schools(conn: Conn) -> list[SchoolPublic]:
    with conn.cursor(row_factory=class_row(SchoolPublic)) as cur:
        cur.execute(
            """
            select s.id, s.name, s.level, s.ward, to_char(s.start_time, 'HH24:MI') as start_time,
                   (select count(*) from students st where st.school_id = s.id and st.active)
                       as students,
                   (select count(*) from devices d where d.school_id = s.id) as devices
            from schools s order by s.id
            """
        )
        return cur.fetchall()


_EFFECTIVE_STATE = """
    case
        when d.state = 'offline' then 'offline'
        when d.last_seen is null then 'unknown'
        when now() - d.last_seen > make_interval(secs => case d.role
            when 'gate' then %(offline_gate_s)s else %(offline_classroom_s)s end) then 'offline'
        else 'online'
    end
"""


def attendance_summary(
    conn: Conn,
    *,
    day: date,
    tz: str,
    offline_gate_s: int,
    offline_classroom_s: int,
) -> list[SchoolAttendance]:
    """Live arrivals per school (GET /api/v1/attendance/summary): first entries in the
    rollup split on the school's start time; ``absent`` is everyone not arrived yet.

    A head count, not the attendance rules: no late/absent cutoffs per level or school, no
    school calendar, no corrections, no pending. Kept because its shape and meaning are
    part of the published API (clients and tests read ``absent`` as "not here yet").
    Reports and the dashboard use the rule-faithful reports.daily_summary (GET
    /api/v1/attendance/daily) and district_day below."""
    with conn.cursor(row_factory=class_row(SchoolAttendance)) as cur:
        cur.execute(
            f"""
            with arrivals as (
                select a.school_id,
                       count(*) filter (where (a.first_in at time zone %(tz)s)::time
                                        <= s.start_time) as present,
                       count(*) filter (where (a.first_in at time zone %(tz)s)::time
                                        > s.start_time) as late
                from attendance_daily a join schools s on s.id = a.school_id
                where a.day = %(day)s and a.first_in is not null
                group by a.school_id
            ), enrolled as (
                select school_id, count(*) as n from students where active group by school_id
            ), devs as (
                select d.school_id, count(*) as total,
                       count(*) filter (where ({_EFFECTIVE_STATE}) = 'online') as online
                from devices d group by d.school_id
            )
            select s.id as school, s.name, s.level,
                   coalesce(e.n, 0) as enrolled,
                   coalesce(ar.present, 0) as present,
                   coalesce(ar.late, 0) as late,
                   greatest(coalesce(e.n, 0) - coalesce(ar.present, 0) - coalesce(ar.late, 0), 0)
                       as absent,
                   coalesce(dv.online, 0) as devices_online,
                   coalesce(dv.total, 0) as devices_total
            from schools s
            left join arrivals ar on ar.school_id = s.id
            left join enrolled e on e.school_id = s.id
            left join devs dv on dv.school_id = s.id
            order by s.id
            """,  # noqa: S608 - the interpolated part is a constant, values are parameters
            {
                "tz": tz,
                "day": day,
                "offline_gate_s": offline_gate_s,
                "offline_classroom_s": offline_classroom_s,
            },
        )
        return cur.fetchall()


def district_day(
    conn: Conn,
    *,
    day: date,
    tz: ZoneInfo,
    now: datetime,
    offline_gate_s: int,
    offline_classroom_s: int,
) -> list[SchoolDayAttendance]:
    """Every school's day by the attendance rules (reports.daily_summary, the numbers of
    GET /api/v1/attendance/daily and the school page) with its devices' state; a school
    without active students gets a row of zeros, so each school keeps its tile."""
    setups = load_setups(conn, first=day, last=day)
    counts = {
        row.school: row
        for row in reports.daily_summary(conn, day=day, tz=tz, now=now, setups=setups)
    }
    devices: dict[str, tuple[int, int]] = {
        sid: (online, total)
        for sid, online, total in conn.execute(
            f"""
            select d.school_id, count(*) filter (where ({_EFFECTIVE_STATE}) = 'online'),
                   count(*)
            from devices d group by d.school_id
            """,  # noqa: S608 - the interpolated part is a constant, values are parameters
            {"offline_gate_s": offline_gate_s, "offline_classroom_s": offline_classroom_s},
        ).fetchall()
    }
    out = []
    for sid, setup in setups.items():
        row = counts.get(sid)
        online, total = devices.get(sid, (0, 0))
        out.append(
            SchoolDayAttendance(
                school=sid, name=setup.name, level=setup.level,
                school_day=row.school_day if row else setup.calendar.is_school_day(day),
                enrolled=row.enrolled if row else 0, present=row.present if row else 0,
                late=row.late if row else 0, absent=row.absent if row else 0,
                excused=row.excused if row else 0, pending=row.pending if row else 0,
                devices_online=online, devices_total=total,
            )
        )
    return out


def list_devices(
    conn: Conn,
    *,
    offline_gate_s: int,
    offline_classroom_s: int,
    school: str | None = None,
) -> list[DevicePublic]:
    with conn.cursor(row_factory=class_row(DevicePublic)) as cur:
        cur.execute(
            f"""
            select d.id, d.school_id as school, d.role, ({_EFFECTIVE_STATE}) as state,
                   d.last_seen, d.fw, d.ip
            from devices d
            where %(school)s::text is null or d.school_id = %(school)s
            order by d.school_id, d.id
            """,  # noqa: S608 - the interpolated part is a constant, values are parameters
            {
                "school": school,
                "offline_gate_s": offline_gate_s,
                "offline_classroom_s": offline_classroom_s,
            },
        )
        return cur.fetchall()


def list_events(
    conn: Conn,
    *,
    device: str | None = None,
    school: str | None = None,
    limit: int = 100,
    before: tuple[str, str, str, int] | None = None,
) -> list[GateEventPublic]:
    """Newest first; ``before`` (received_at, ts, device, seq of the last row shown, times
    in ISO 8601) continues the list after that row (hub/api/paging.py)."""
    b_recv, b_ts, b_dev, b_seq = before if before is not None else (None, None, None, None)
    with conn.cursor(row_factory=class_row(GateEventPublic)) as cur:
        cur.execute(
            """
            select e.device_id as device, e.school_id as school, e.seq, e.ts, e.received_at,
                   e.direction, e.method, e.card_uid,
                   coalesce(st.code, e.person_ref) as person,
                   st.full_name as person_name, c.name as class_name,
                   e.decision, e.reason, e.resolved, e.room
            from gate_events e
            left join students st on st.id = e.student_id
            left join classes c on c.id = st.class_id
            where (%(device)s::text is null or e.device_id = %(device)s)
              and (%(school)s::text is null or e.school_id = %(school)s)
              and (%(b_recv)s::timestamptz is null
                   or (e.received_at, e.ts, e.device_id, e.seq)
                      < (%(b_recv)s::timestamptz, %(b_ts)s::timestamptz, %(b_dev)s::text,
                         %(b_seq)s::bigint))
            order by e.received_at desc, e.ts desc, e.device_id desc, e.seq desc
            limit %(limit)s
            """,
            {"device": device, "school": school, "limit": limit, "b_recv": b_recv,
             "b_ts": b_ts, "b_dev": b_dev, "b_seq": b_seq},
        )
        return cur.fetchall()


class GateActivity(ApiModel):
    """A school's gate passages over a recent window: counts only, for public walls."""

    school: str
    entered: int  # granted, direction in
    left: int  # granted, direction out
    denied: int


def gate_activity(conn: Conn, *, since: datetime) -> list[GateActivity]:
    """Passages received since ``since``, per school (schools without any are left out).
    On received_at, which the BRIN index covers: a recent window reads a few blocks."""
    with conn.cursor(row_factory=class_row(GateActivity)) as cur:
        cur.execute(
            """
            select e.school_id as school,
                   count(*) filter (where e.decision = 'granted' and e.direction = 'in')
                       as entered,
                   count(*) filter (where e.decision = 'granted' and e.direction = 'out')
                       as "left",
                   count(*) filter (where e.decision <> 'granted') as denied
            from gate_events e
            -- passages at the gates: a classroom door's sightings (issue 14) name a room
            where e.received_at >= %(since)s and e.room is null
            group by e.school_id order by e.school_id
            """,
            {"since": since},
        )
        return cur.fetchall()


def list_dead_letters(
    conn: Conn, *, limit: int = 100, before: tuple[str, int] | None = None
) -> list[DeadLetterPublic]:
    """Newest first; ``before`` (received_at in ISO 8601, id of the last row shown)
    continues after that row."""
    b_recv, b_id = before if before is not None else (None, None)
    with conn.cursor(row_factory=class_row(DeadLetterPublic)) as cur:
        cur.execute(
            """
            select id, topic, reason, detail, payload_size, received_at
            from dead_letters
            where %(b_recv)s::timestamptz is null
               or (received_at, id) < (%(b_recv)s::timestamptz, %(b_id)s::bigint)
            order by received_at desc, id desc limit %(limit)s
            """,
            {"limit": limit, "b_recv": b_recv, "b_id": b_id},
        )
        return cur.fetchall()


def arrivals_by_bucket(
    conn: Conn,
    *,
    day: date,
    tz: str,
    bucket_minutes: int,
    school: str | None = None,
) -> list[ArrivalBucket]:
    """First entries of the day per time bucket, split on each school's late cutoff (the
    reports' own, reports.RULES_CTE), so the chart's late bars agree with the reports'
    late count (one school's when ``school`` is given)."""
    setups = load_setups(conn, first=day, last=day, school=school)
    with conn.cursor(row_factory=class_row(ArrivalBucket)) as cur:
        cur.execute(
            f"""
            with {reports.RULES_CTE}, x as (
                select a.first_in at time zone %(tz)s as local_in,
                       a.first_in > r.late_cut as late
                from attendance_daily a join r on r.school_id = a.school_id and r.day = a.day
                where a.day = %(day)s and a.first_in is not null
                  and (%(school)s::text is null or a.school_id = %(school)s)
            )
            select date_bin(make_interval(mins => %(bucket)s), x.local_in,
                            %(day)s::timestamp) as bucket,
                   count(*) filter (where not x.late) as on_time,
                   count(*) filter (where x.late) as late
            from x group by 1 order by 1
            """,  # noqa: S608 - the interpolated part is a constant; values are parameters
            {**reports.rules_params(setups, [day], ZoneInfo(tz)),
             "bucket": bucket_minutes, "tz": tz, "day": day, "school": school},
        )
        return cur.fetchall()
