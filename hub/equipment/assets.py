"""The asset register: listing with live state, the coverage KPI and rated lamp lives."""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

from psycopg.rows import class_row

from hub.db import Conn
from hub.models import ApiModel

# What a "complete digital record" needs; projectors also need their rated lamp life.
COMPLETE_SQL: Final = """
    (a.model is not null and a.serial is not null and a.room_id is not null
     and a.purchase_date is not null and a.warranty_end is not null
     and (a.type <> 'projector' or a.rated_lamp_hours is not null))
"""


class AssetPublic(ApiModel):
    tag: str
    type: str
    model: str | None
    serial: str | None
    school_id: str
    room: str | None
    purchase_date: date | None
    warranty_end: date | None
    rated_lamp_hours: int | None
    status: str
    device_id: str | None
    complete: bool
    # live state, from the latest telemetry
    device_state: str | None
    power: str | None
    lamp_hours: float | None
    error: str | None
    last_seen: datetime | None
    open_alarms: int


class CoverageRow(ApiModel):
    school_id: str
    assets: int
    complete: int
    share: float  # complete / assets, 0 when there are none


class CoveragePublic(ApiModel):
    schools: list[CoverageRow]
    district: CoverageRow


_LIST = f"""
select a.tag, a.type, a.model, a.serial, a.school_id, r.name as room, a.purchase_date,
       a.warranty_end, a.rated_lamp_hours, a.status, a.device_id,
       {COMPLETE_SQL} as complete,
       case
           when d.id is null then null
           when d.state = 'offline' then 'offline'
           when d.last_seen is null then 'unknown'
           when now() - d.last_seen > make_interval(secs => case d.role
               when 'gate' then %(offline_gate_s)s else %(offline_classroom_s)s end)
               then 'offline'
           else 'online'
       end as device_state,
       pw.value_text as power, lh.value_num as lamp_hours, er.value_text as error,
       greatest(pw.received_at, lh.received_at, er.received_at) as last_seen,
       (select count(*) from alarms al where al.subject = a.tag and al.state <> 'cleared')::int
           as open_alarms
from assets a
left join rooms r on r.id = a.room_id
left join devices d on d.id = a.device_id
left join telemetry_latest pw on pw.subject = a.tag and pw.metric = 'projector.power'
left join telemetry_latest lh on lh.subject = a.tag and lh.metric = 'projector.lamp_hours'
left join telemetry_latest er on er.subject = a.tag and er.metric = 'projector.error'
"""  # noqa: S608 - the interpolated part is a constant


def list_assets(
    conn: Conn, *, school: str | None = None, offline_gate_s: int = 120,
    offline_classroom_s: int = 600,
) -> list[AssetPublic]:
    with conn.cursor(row_factory=class_row(AssetPublic)) as cur:
        cur.execute(
            _LIST + """ where %(school)s::text is null or a.school_id = %(school)s
            order by a.school_id, r.name nulls last, a.tag""",
            {"school": school, "offline_gate_s": offline_gate_s,
             "offline_classroom_s": offline_classroom_s},
        )
        return cur.fetchall()


def get_asset(conn: Conn, tag: str) -> AssetPublic | None:
    with conn.cursor(row_factory=class_row(AssetPublic)) as cur:
        cur.execute(_LIST + " where a.tag = %(tag)s",
                    {"tag": tag, "offline_gate_s": 120, "offline_classroom_s": 600})
        return cur.fetchone()


def coverage(conn: Conn, *, school: str | None = None) -> CoveragePublic:
    rows = conn.execute(
        f"""
        select s.id, count(a.tag)::int, (count(a.tag) filter (where {COMPLETE_SQL}))::int
        from schools s left join assets a on a.school_id = s.id
        where %(school)s::text is null or s.id = %(school)s
        group by s.id order by s.id
        """,  # noqa: S608 - the interpolated part is a constant
        {"school": school},
    ).fetchall()
    schools = [_coverage(str(s), int(n), int(c)) for s, n, c in rows]
    total = sum(r.assets for r in schools)
    done = sum(r.complete for r in schools)
    return CoveragePublic(schools=schools, district=_coverage("*", total, done))


def _coverage(school: str, n: int, complete: int) -> CoverageRow:
    return CoverageRow(school_id=school, assets=n, complete=complete,
                       share=round(complete / n, 4) if n else 0.0)


def rated_lamp_hours(conn: Conn) -> dict[str, int]:
    rows = conn.execute(
        "select tag, rated_lamp_hours from assets where rated_lamp_hours is not null"
    ).fetchall()
    return {str(t): int(h) for t, h in rows}
