"""Read queries shared by the API and the dashboard: one place for the SQL they both show."""

from __future__ import annotations

from datetime import date, datetime

import psycopg
from psycopg.rows import class_row
from pydantic import BaseModel, ConfigDict


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True)


class SchoolPublic(_Row):
    id: str
    name: str
    level: str
    ward: str
    start_time: str
    students: int
    devices: int


class SchoolAttendance(_Row):
    school: str
    name: str
    level: str
    enrolled: int
    present: int  # arrived by the start time
    late: int  # arrived after the start time
    absent: int  # not (yet) arrived: enrolled - present - late
    devices_online: int
    devices_total: int


class DevicePublic(_Row):
    id: str
    school: str
    role: str
    state: str  # online / offline / unknown, from status, Last Will and silence
    last_seen: datetime | None
    fw: str | None
    ip: str | None


class GateEventPublic(_Row):
    device: str
    school: str
    seq: int
    ts: datetime
    received_at: datetime
    direction: str
    method: str
    card_uid: str | None
    person: str | None  # the records' person code when resolved, else what the edge sent
    person_name: str | None
    class_name: str | None
    decision: str
    reason: str | None
    resolved: bool


class ArrivalBucket(_Row):
    bucket: datetime  # district-local wall time, naive
    on_time: int
    late: int


class DeadLetterPublic(_Row):
    id: int
    topic: str
    reason: str
    detail: str | None
    payload_size: int
    received_at: datetime


def list_schools(conn: psycopg.Connection[object]) -> list[SchoolPublic]:
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
    conn: psycopg.Connection[object],
    *,
    day: date,
    timezone: str,
    offline_gate_s: int,
    offline_classroom_s: int,
) -> list[SchoolAttendance]:
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
                "tz": timezone,
                "day": day,
                "offline_gate_s": offline_gate_s,
                "offline_classroom_s": offline_classroom_s,
            },
        )
        return cur.fetchall()


def list_devices(
    conn: psycopg.Connection[object],
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
    conn: psycopg.Connection[object],
    *,
    device: str | None = None,
    school: str | None = None,
    limit: int = 100,
) -> list[GateEventPublic]:
    with conn.cursor(row_factory=class_row(GateEventPublic)) as cur:
        cur.execute(
            """
            select e.device_id as device, e.school_id as school, e.seq, e.ts, e.received_at,
                   e.direction, e.method, e.card_uid,
                   coalesce(st.code, e.person_ref) as person,
                   st.full_name as person_name, c.name as class_name,
                   e.decision, e.reason, e.resolved
            from gate_events e
            left join students st on st.id = e.student_id
            left join classes c on c.id = st.class_id
            where (%(device)s::text is null or e.device_id = %(device)s)
              and (%(school)s::text is null or e.school_id = %(school)s)
            order by e.received_at desc, e.ts desc
            limit %(limit)s
            """,
            {"device": device, "school": school, "limit": limit},
        )
        return cur.fetchall()


def list_dead_letters(
    conn: psycopg.Connection[object], *, limit: int = 100
) -> list[DeadLetterPublic]:
    with conn.cursor(row_factory=class_row(DeadLetterPublic)) as cur:
        cur.execute(
            """
            select id, topic, reason, detail, payload_size, received_at
            from dead_letters order by received_at desc, id desc limit %(limit)s
            """,
            {"limit": limit},
        )
        return cur.fetchall()


def arrivals_by_bucket(
    conn: psycopg.Connection[object],
    *,
    day: date,
    timezone: str,
    bucket_minutes: int,
    school: str | None = None,
) -> list[ArrivalBucket]:
    """First entries of the day per time bucket, split on each school's start time
    (one school's when ``school`` is given)."""
    with conn.cursor(row_factory=class_row(ArrivalBucket)) as cur:
        cur.execute(
            """
            select date_bin(make_interval(mins => %(bucket)s),
                            a.first_in at time zone %(tz)s, %(day)s::timestamp) as bucket,
                   count(*) filter (where (a.first_in at time zone %(tz)s)::time
                                    <= s.start_time) as on_time,
                   count(*) filter (where (a.first_in at time zone %(tz)s)::time
                                    > s.start_time) as late
            from attendance_daily a join schools s on s.id = a.school_id
            where a.day = %(day)s and a.first_in is not null
              and (%(school)s::text is null or a.school_id = %(school)s)
            group by 1 order by 1
            """,
            {"bucket": bucket_minutes, "tz": timezone, "day": day, "school": school},
        )
        return cur.fetchall()
