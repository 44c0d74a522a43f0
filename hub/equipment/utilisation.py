"""Projector utilisation: on-hours per room and day, from the rollup of ``projector.on``."""

from __future__ import annotations

from datetime import date

from hub.db import Conn
from hub.equipment.rollups import POWER_ON_METRIC
from hub.models import ApiModel


class Utilisation(ApiModel):
    school_id: str
    room: str | None
    asset_tag: str
    day: date
    on_hours: float


def utilisation(
    conn: Conn, *, day: date, tz: str, school: str | None = None,
) -> list[Utilisation]:
    """Projector on-hours per room for one local day, from the 5-minute rollup of the 0/1
    ``projector.on`` metric: each bucket's share of 'on' readings times five minutes."""
    rows = conn.execute(
        """
        select a.school_id, r.name, a.tag,
               coalesce(sum(t.sum / t.n), 0) * 5 / 60.0 as hours
        from assets a
        left join rooms r on r.id = a.room_id
        left join telemetry_5m t on t.subject = a.tag and t.metric = %(metric)s
             and t.bucket >= (%(day)s::date::timestamp at time zone %(tz)s)
             and t.bucket < ((%(day)s::date + 1)::timestamp at time zone %(tz)s)
        where a.type = 'projector' and (%(school)s::text is null or a.school_id = %(school)s)
        group by a.school_id, r.name, a.tag
        order by a.school_id, r.name nulls last, a.tag
        """,
        {"metric": POWER_ON_METRIC, "day": day, "tz": tz, "school": school},
    ).fetchall()
    return [Utilisation(school_id=s, room=r, asset_tag=t, day=day, on_hours=round(float(h), 3))
            for s, r, t, h in rows]
