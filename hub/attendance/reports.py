"""Attendance reports: the class register, daily summaries per class/school, monthly rates.

Summaries read the ingest rollup (attendance_daily) and the corrections, and apply the
same status rule as the engine (hub.attendance.rules) in SQL, so a district day costs
one pass over about 15k rollup rows instead of millions of raw events.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.attendance.service import SchoolSetup, derive_students, effective_now, load_setups
from hub.db import Conn
from hub.models import ApiModel


class CorrectionInfo(ApiModel):
    status: str
    reason: str
    corrected_by: str
    corrected_at: datetime


class RegisterRow(ApiModel):
    student: str  # student code
    full_name: str
    status: str
    first_in: datetime | None
    last_out: datetime | None
    flags: list[str]
    correction: CorrectionInfo | None


class ClassRegister(ApiModel):
    date: date
    school: str
    class_id: int
    class_name: str
    school_day: bool
    students: list[RegisterRow]


class DailyRow(ApiModel):
    school: str
    class_id: int | None  # None: the whole school
    class_name: str | None
    school_day: bool
    enrolled: int
    present: int
    late: int
    absent: int
    excused: int
    pending: int  # not arrived yet, before the absent cutoff


class MonthlyRow(ApiModel):
    school: str
    class_id: int
    class_name: str
    school_days: int
    student_days: int
    present: int
    late: int
    absent: int
    excused: int
    pending: int
    attendance_rate: float  # (present + late) / counted student-days
    late_rate: float
    absent_rate: float


# Mirrors rules.derive_day without flags: correction, then no-school, then first entry
# against the late cutoff, an exit alone counts as present, then pending or absent.
STATUS_SQL = """
    case
        when o.status is not null then o.status
        when not r.school_day then 'no-school'
        when a.first_in is not null then
            case when a.first_in > r.late_cut then 'late' else 'present' end
        when a.last_out is not null then 'present'
        when %(now)s::timestamptz is not null and %(now)s::timestamptz < r.absent_cut
            then 'pending'
        else 'absent'
    end
"""

_COUNTS = """
    count(*) filter (where x.status <> 'no-school') as enrolled,
    count(*) filter (where x.status = 'present') as present,
    count(*) filter (where x.status = 'late') as late,
    count(*) filter (where x.status = 'absent') as absent,
    count(*) filter (where x.status = 'excused') as excused,
    count(*) filter (where x.status = 'pending') as pending
"""


class NotFoundError(LookupError):
    """The class, student or school does not exist (or is outside the caller's scope)."""


def class_register(
    conn: Conn, *, class_id: int, day: date, tz: ZoneInfo, now: datetime
) -> ClassRegister:
    row = conn.execute(
        "select school_id, name from classes where id = %s", (class_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"class {class_id} not found")
    school_id, class_name = row
    setups = load_setups(conn, first=day, last=day, school=school_id)
    students = conn.execute(
        "select id, code, full_name from students where class_id = %s"
        # a pupil who left stays on the registers of the days before (hub/records/leavers)
        " and (active or left_on > %s)"
        " order by full_name collate \"C\", code",
        (class_id, day),
    ).fetchall()
    records = derive_students(
        conn, students=[(sid, school_id) for sid, _, _ in students], day=day, setups=setups,
        tz=tz, now=now,
    )
    corrections = {
        sid: CorrectionInfo(status=st, reason=reason, corrected_by=by, corrected_at=at)
        for sid, st, reason, by, at in conn.execute(
            "select student_id, status, reason, corrected_by, corrected_at"
            " from attendance_overrides where day = %s and student_id = any(%s)",
            (day, [s[0] for s in students]),
        ).fetchall()
    }
    return ClassRegister(
        date=day,
        school=school_id,
        class_id=class_id,
        class_name=class_name,
        school_day=setups[school_id].calendar.is_school_day(day),
        students=[
            RegisterRow(
                student=code,
                full_name=name,
                status=records[sid].status,
                first_in=records[sid].first_in,
                last_out=records[sid].last_out,
                flags=sorted(records[sid].flags),
                correction=corrections.get(sid),
            )
            for sid, code, name in students
        ],
    )


def rules_params(
    setups: dict[str, SchoolSetup], days: list[date], tz: ZoneInfo
) -> dict[str, list[Any]]:
    """The parameters of RULES_CTE: each school's cutoffs on each day, computed by
    rules.Rules itself, so no query re-derives a cutoff from the schools' columns."""
    ids, ds, late, absent, school_day = [], [], [], [], []
    for setup in setups.values():
        for d in days:
            ids.append(setup.id)
            ds.append(d)
            late.append(setup.rules.late_cutoff(d, tz))
            absent.append(setup.rules.absent_cutoff(d, tz))
            school_day.append(setup.calendar.is_school_day(d))
    return {"r_school": ids, "r_day": ds, "r_late": late, "r_absent": absent, "r_sd": school_day}


# One row per (school, day): the late and absent cutoffs and whether it is a school day.
# Every query that splits on a cutoff joins this (reports here, read.queries' arrivals).
RULES_CTE = """
    r (school_id, day, late_cut, absent_cut, school_day) as (
        select * from unnest(%(r_school)s::text[], %(r_day)s::date[],
                             %(r_late)s::timestamptz[], %(r_absent)s::timestamptz[],
                             %(r_sd)s::boolean[])
    )
"""


def daily_summary(
    conn: Conn,
    *,
    day: date,
    tz: ZoneInfo,
    now: datetime,
    school: str | None = None,
    by_class: bool = False,
    setups: dict[str, SchoolSetup] | None = None,
) -> list[DailyRow]:
    """One row per school with active students (or per class of ``school`` when
    ``by_class``): the district and school daily summaries, by the engine's rule.

    ``setups`` are the schools' rules and calendars for ``day`` when the caller already
    loaded them (load_setups over at least ``school``); by default they are loaded here.
    """
    if setups is None:
        setups = load_setups(conn, first=day, last=day, school=school)
    params: dict[str, Any] = {
        **rules_params(setups, [day], tz),
        "now": effective_now(day, tz, now),
        "day": day,
        "school": school,
    }
    group = "st.school_id, st.class_id" if by_class else "st.school_id"
    rows = conn.execute(
        f"""
        with {RULES_CTE}, x as (
            select st.school_id, st.class_id, r.school_day, {STATUS_SQL} as status
            from students st
            join r on r.school_id = st.school_id
            left join attendance_daily a on a.student_id = st.id and a.day = %(day)s
            left join attendance_overrides o on o.student_id = st.id and o.day = %(day)s
            where (st.active or st.left_on > %(day)s)
              and (%(school)s::text is null or st.school_id = %(school)s)
        ), g as (
            select {group.replace("st.", "x.")}, bool_or(x.school_day) as school_day, {_COUNTS}
            from x group by {group.replace("st.", "x.")}
        )
        select g.*, {"c.name" if by_class else "null::text"} as class_name
        from g {"left join classes c on c.id = g.class_id" if by_class else ""}
        order by g.school_id{", class_name" if by_class else ""}
        """,  # noqa: S608 - interpolated parts are constants; values are parameters
        params,
    ).fetchall()
    out = []
    for row in rows:
        if by_class:
            sid, cid, sd, enrolled, present, late, absent, excused, pending, cname = row
        else:
            sid, sd, enrolled, present, late, absent, excused, pending, cname = row
            cid = None
        out.append(
            DailyRow(school=sid, class_id=cid, class_name=cname, school_day=sd,
                     enrolled=enrolled, present=present, late=late, absent=absent,
                     excused=excused, pending=pending)
        )
    return out


def month_bounds(month: str) -> tuple[date, date]:
    """'2026-11' -> (2026-11-01, 2026-11-30); ValueError when malformed."""
    first = datetime.strptime(month + "-01", "%Y-%m-%d").date()  # noqa: DTZ007 - a date
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, nxt - timedelta(days=1)


def _rate(n: int, d: int) -> float:
    return round(n / d, 4) if d else 0.0


def monthly_rates(
    conn: Conn, *, school: str, month: str, tz: ZoneInfo, now: datetime
) -> list[MonthlyRow]:
    """Per class: rates over the month's school days up to today."""
    first, last = month_bounds(month)
    setups = load_setups(conn, first=first, last=last, school=school)
    if school not in setups:
        raise NotFoundError(f"school {school} not found")
    today = now.astimezone(tz).date()
    days = list(setups[school].calendar.school_days(first, min(last, today)))
    params: dict[str, Any] = {
        **rules_params(setups, days, tz),
        "now": now,
        "school": school,
    }
    rows = conn.execute(
        f"""
        with {RULES_CTE}, x as (
            select st.class_id, {STATUS_SQL} as status
            from students st
            join r on r.school_id = st.school_id
            left join attendance_daily a on a.student_id = st.id and a.day = r.day
            left join attendance_overrides o on o.student_id = st.id and o.day = r.day
            where (st.active or st.left_on > r.day) and st.school_id = %(school)s
        )
        select c.id, c.name, {_COUNTS}
        from classes c left join x on x.class_id = c.id
        where c.school_id = %(school)s
        group by c.id, c.name order by c.name
        """,  # noqa: S608 - interpolated parts are constants; values are parameters
        params,
    ).fetchall()
    out = []
    for cid, cname, enrolled, present, late, absent, excused, pending in rows:
        counted = enrolled - pending
        out.append(
            MonthlyRow(
                school=school, class_id=cid, class_name=cname, school_days=len(days),
                student_days=enrolled, present=present, late=late, absent=absent,
                excused=excused, pending=pending,
                attendance_rate=_rate(present + late, counted),
                late_rate=_rate(late, counted),
                absent_rate=_rate(absent, counted),
            )
        )
    return out


class StudentDayRow(ApiModel):
    student: str  # student code
    full_name: str
    class_id: int | None
    class_name: str | None
    status: str
    first_in: datetime | None
    correction: CorrectionInfo | None


def school_students(
    conn: Conn,
    *,
    school: str,
    day: date,
    tz: ZoneInfo,
    now: datetime,
    statuses: list[str] | None = None,
) -> list[StudentDayRow]:
    """Every active student of ``school`` with the day's status (``statuses`` only, if
    given): the school page's late and absent lists, one query by the summaries' rule."""
    setups = load_setups(conn, first=day, last=day, school=school)
    if school not in setups:
        raise NotFoundError(f"school {school} not found")
    params: dict[str, Any] = {
        **rules_params(setups, [day], tz),
        "now": effective_now(day, tz, now),
        "day": day,
        "school": school,
        "statuses": statuses,
    }
    rows = conn.execute(
        f"""
        with {RULES_CTE}, x as (
            select st.code, st.full_name, st.class_id, c.name as class_name,
                   {STATUS_SQL} as status, a.first_in,
                   o.status as o_status, o.reason, o.corrected_by, o.corrected_at
            from students st
            join r on r.school_id = st.school_id
            left join classes c on c.id = st.class_id
            left join attendance_daily a on a.student_id = st.id and a.day = %(day)s
            left join attendance_overrides o on o.student_id = st.id and o.day = %(day)s
            where (st.active or st.left_on > %(day)s) and st.school_id = %(school)s
        )
        select * from x
        where %(statuses)s::text[] is null or x.status = any(%(statuses)s::text[])
        order by x.class_name, x.first_in nulls last, x.full_name collate "C", x.code
        """,  # noqa: S608 - interpolated parts are constants; values are parameters
        params,
    ).fetchall()
    return [
        StudentDayRow(
            student=code, full_name=name, class_id=cid, class_name=cname, status=status,
            first_in=first_in,
            correction=None if o_status is None else CorrectionInfo(
                status=o_status, reason=reason, corrected_by=by, corrected_at=at),
        )
        for code, name, cid, cname, status, first_in, o_status, reason, by, at in rows
    ]
