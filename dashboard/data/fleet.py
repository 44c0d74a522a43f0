"""What the fleet view reads (issue #13): every device with its state (the API's rule,
hub.read.queries.list_devices), its school and room, and what it last reported about
itself in ``status`` (migration 0020: configuration version, outbox backlog, clock sync),
decommissioned devices marked."""

from __future__ import annotations

from core.settings import Settings
from dashboard.builders.fleet import FleetRow
from hub.db import Conn
from hub.read.queries import list_devices

_EXTRA = """
select d.id, s.name, r.name, d.config_version, d.outbox_backlog, d.clock_synced,
       d.reported_at, d.decommissioned_at
from devices d join schools s on s.id = d.school_id left join rooms r on r.id = d.room_id
where %(school)s::text is null or d.school_id = %(school)s
"""


def load_fleet(conn: Conn, settings: Settings, school: str | None) -> list[FleetRow]:
    """Every device of ``school`` (None: the district), ordered by school and id."""
    extra = {str(r[0]): r[1:] for r in conn.execute(_EXTRA, {"school": school})}
    rows = []
    for d in list_devices(conn, offline_gate_s=settings.offline_after_gate_s,
                          offline_classroom_s=settings.offline_after_classroom_s,
                          school=school):
        found = extra.get(d.id)
        if found is None:  # registered between the two reads
            continue
        name, room, version, backlog, synced, reported, gone = found
        rows.append(FleetRow(
            id=d.id, school=d.school, school_name=str(name), role=d.role, room=room,
            state=d.state, last_seen=d.last_seen, fw=d.fw, config_version=version,
            backlog=backlog, clock_synced=synced, reported_at=reported,
            decommissioned_at=gone))
    return rows


def fleet_schools(conn: Conn, school: str | None) -> list[tuple[str, str]]:
    """The schools the picker offers: every one, or only ``school``."""
    rows = conn.execute("select id, name from schools where %s::text is null or id = %s"
                        " order by id", (school, school))
    return [(str(i), str(n)) for i, n in rows]
