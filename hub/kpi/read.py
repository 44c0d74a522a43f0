"""The inputs of the plan's indicators, gathered per school; wards and the district add up.

Each query reads what one indicator needs and `hub/kpi/indicators.py` decides what counts,
so the SQL holds no rule of its own beyond "active" and "not retired". A district has tens
of schools and tens of thousands of pupils: the per-record rules (identifier checksums,
guardian contacts) run in Python over one pass of rows, which takes well under a second.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal, cast
from zoneinfo import ZoneInfo

from hub.attendance.service import load_setups
from hub.db import Conn
from hub.equipment.assets import COMPLETE_SQL
from hub.kpi.indicators import (
    AUTOMATIC_METHODS,
    INDICATORS,
    Contact,
    IndicatorId,
    Ratio,
    RoomAsset,
    classroom_ready,
    data_driven,
    is_teacher,
    learner_counts,
    parent_reachable,
    smart_gate,
    teacher_counts,
    total,
)
from hub.records.cells import Channel

Scope = Literal["district", "ward", "school"]
# How far back the last school day is looked for: past a summer holiday there is none,
# and the day-based indicators count nothing rather than a day from last term.
LOOKBACK_DAYS = 31


@dataclass(slots=True)
class SchoolKpi:
    id: str
    name: str
    ward: str
    last_school_day: date | None
    ratios: dict[IndicatorId, Ratio] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScopeKpi:
    scope: Scope
    scope_id: str  # '' for the district
    name: str
    ratios: dict[IndicatorId, Ratio]


def _one(flag: bool) -> Ratio:
    return Ratio(1 if flag else 0, 1)


def _day_start(day: date | None, tz: ZoneInfo) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tz)


def _gender(value: object) -> Literal["M", "F"] | None:
    return value if value in ("M", "F") else None


def school_kpis(conn: Conn, *, now: datetime, tz: ZoneInfo) -> list[SchoolKpi]:
    """Every school's ratio for every indicator, as of ``now``."""
    today = now.astimezone(tz).date()
    setups = load_setups(conn, first=today - timedelta(days=LOOKBACK_DAYS), last=today)
    schools: dict[str, SchoolKpi] = {}
    for sid, name, ward in conn.execute("select id, name, ward from schools order by id"):
        setup = setups.get(sid)
        days = list(setup.calendar.school_days(today - timedelta(days=LOOKBACK_DAYS), today)
                    ) if setup else []
        schools[sid] = SchoolKpi(sid, name, ward, days[-1] if days else None)

    def ratio_by_school(counts: dict[str, list[int]]) -> dict[str, Ratio]:
        return {s: Ratio(n, d) for s, (n, d) in counts.items()}

    def tally(rows: Iterable[tuple[str, bool]]) -> dict[str, Ratio]:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for sid, counted in rows:
            counts[sid][0] += int(counted)
            counts[sid][1] += 1
        return ratio_by_school(counts)

    learners = tally(
        (sid, learner_counts(pid, moet, birth_year=year, gender=_gender(gender)))
        for sid, pid, moet, year, gender in conn.execute(
            """select school_id, personal_id, moet_id, extract(year from birth_date)::int,
                      gender from students where active""")
    )
    teachers = tally(
        (sid, teacher_counts(pid, moet, birth_year=year, gender=_gender(gender)))
        for sid, pid, moet, year, gender, position in conn.execute(
            """select school_id, personal_id, moet_id, extract(year from birth_date)::int,
                      gender, position from staff where active""")
        if is_teacher(position)
    )
    equipment = {
        str(sid): Ratio(int(n), int(d)) for sid, n, d in conn.execute(
            f"""select a.school_id, (count(*) filter (where {COMPLETE_SQL}))::int,
                       count(*)::int
                from assets a where a.status <> 'retired' group by a.school_id"""  # noqa: S608
        )
    }
    # Classrooms: rooms a class is taught in, with what their assets last reported.
    room_assets: dict[tuple[str, int], list[RoomAsset]] = {}
    for sid, room_id, atype, astatus, reported in conn.execute(
        """
        select r.school_id, r.id, a.type, a.status,
               greatest((select max(t.received_at) from telemetry_latest t
                         where t.subject = a.tag), d.last_seen)
        from rooms r
        left join assets a on a.room_id = r.id
        left join devices d on d.id = a.device_id
        where exists (select 1 from classes c where c.room_id = r.id)
        """
    ):
        found = room_assets.setdefault((sid, room_id), [])
        if atype is not None:
            found.append(RoomAsset(atype, astatus, reported))
    classrooms = tally(
        (sid, classroom_ready(assets, _day_start(schools[sid].last_school_day, tz)))
        for (sid, _room), assets in room_assets.items() if sid in schools
    )
    pupils = {str(s): int(n) for s, n in conn.execute(
        "select school_id, count(*)::int from students where active group by school_id")}
    contacts: dict[tuple[str, int], list[Contact]] = {}
    for sid, student, channel, phone, address, notify in conn.execute(
        """select s.school_id, s.id, g.channel, g.phone, g.address, g.notify
           from students s left join guardians g on g.student_id = s.id where s.active"""
    ):
        found_contacts = contacts.setdefault((sid, student), [])
        if channel is not None:
            found_contacts.append(Contact(cast(Channel, channel), phone, address, notify))
    parents = tally((sid, parent_reachable(c)) for (sid, _s), c in contacts.items())

    for school in schools.values():
        since = _day_start(school.last_school_day, tz)
        automatic = recognised = 0
        if since is not None:
            row = conn.execute(
                """
                select count(*) filter (where method = any(%(auto)s))::int,
                       count(distinct student_id) filter (where decision = 'granted')::int
                from gate_events
                where school_id = %(school)s and ts >= %(since)s and ts < %(until)s
                  and room is null  -- the gates', not a classroom door's (issue 14)
                """,
                {"auto": sorted(AUTOMATIC_METHODS), "school": school.id, "since": since,
                 "until": since + timedelta(days=1)},
            ).fetchone()
            if row is not None:
                automatic, recognised = int(row[0]), int(row[1])
        zero = Ratio(0, 0)
        school.ratios = {
            "learners_e_records": learners.get(school.id, zero),
            "teachers_e_records": teachers.get(school.id, zero),
            "equipment_e_records": equipment.get(school.id, zero),
            "classrooms_ready": classrooms.get(school.id, zero),
            "smart_gate_schools": _one(smart_gate(automatic)),
            "data_driven_schools": _one(data_driven(recognised, pupils.get(school.id, 0))),
            "parents_reachable": parents.get(school.id, zero),
        }
    return list(schools.values())


def scopes(schools: list[SchoolKpi], district_name: str = "") -> list[ScopeKpi]:
    """The district, each ward and each school, the sums of their schools' ratios."""
    def summed(members: list[SchoolKpi]) -> dict[IndicatorId, Ratio]:
        return {i.id: total(s.ratios[i.id] for s in members) for i in INDICATORS}

    out = [ScopeKpi("district", "", district_name, summed(schools))]
    wards: dict[str, list[SchoolKpi]] = defaultdict(list)
    for s in schools:
        wards[s.ward].append(s)
    out += [ScopeKpi("ward", w, w, summed(members)) for w, members in sorted(wards.items())]
    out += [ScopeKpi("school", s.id, s.name, dict(s.ratios)) for s in schools]
    return out
