"""What the fleet view reads (issue #13): every device with its state (the API's rule,
hub.read.queries.list_devices), its school and room, and what it last reported about
itself in ``status`` (migration 0020: configuration version, outbox backlog, clock sync),
decommissioned devices marked; the backlog from the heartbeat when that is newer."""

from __future__ import annotations

from core.settings import Settings
from dashboard.builders.fleet import FleetRow
from hub.db import Conn
from hub.read.queries import list_devices

# The backlog in ``status`` is sent only when a device connects or stops cleanly; its
# heartbeat telemetry counts ``outbox.pending`` every minute, so the newer of the two wins.
_EXTRA = """
select d.id, s.name, r.name, d.config_version,
       case when hb.value_num is not null
                 and (d.reported_at is null or hb.received_at > d.reported_at)
            then hb.value_num::integer else d.outbox_backlog end,
       d.clock_synced, d.reported_at, d.decommissioned_at
from devices d join schools s on s.id = d.school_id left join rooms r on r.id = d.room_id
left join telemetry_latest hb on hb.subject = d.id and hb.metric = 'outbox.pending'
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
