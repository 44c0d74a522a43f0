"""The warnings run: read what the rules need, ask hub.warnings.rules, keep the table.

One run, in one transaction under an advisory lock (several hub processes, the nightly
schedule and an operator's ``smartschool warnings run`` never run two at once):

1. evaluate every rule for the whole district: the findings, each a subject (pupil code,
   class id, asset tag, asset and alarm type) with the figures the rule decided on;
2. a finding whose subject already has an open warning of its kind updates it; a new one
   opens an episode (``episode`` = the run's day; the key (kind, subject, episode) makes
   a second run on the same day land on the same row, reopening it if it had closed);
3. an open warning with no finding this run is closed (``closed_at``): its condition
   cleared;
4. every open warning is offered to its recipients through the notification outbox under
   the key ``warning:<kind>:<subject>:<episode>:<username>``, ``on conflict do nothing``:
   each episode reaches each person once, however often the run repeats, and a recipient
   who gets a contact later hears of a still-open warning at the next run.

The attendance rules read complete days: the run's data ends yesterday (``as_of``). The
equipment rules read everything up to the run.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

import psycopg
from psycopg.types.json import Jsonb

from hub.attendance.reports import RULES_CTE, STATUS_SQL, rules_params
from hub.attendance.service import SchoolSetup, load_setups
from hub.db import Conn
from hub.notify.alarm_rules import Contact
from hub.warnings import rules
from hub.warnings.rules import Detail, Kind, WeekCount

log = logging.getLogger(__name__)

Trigger = Literal["nightly", "cli", "api", "test"]
# One warnings run per database at a time (pg_advisory_xact_lock).
LOCK_ID: Final = 0x5C5C_0023
# School days read per school: the chronic window, and five weeks of data for the rising
# rule even when some school days have none.
SCHOOL_DAYS_READ: Final = 40


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    subject: str
    school_id: str
    detail: Detail
    who: str  # the pupil's name, the class's, the asset's tag: for the message
    student_id: int | None = None
    class_id: int | None = None
    asset_tag: str | None = None
    homeroom: str | None = None  # the class teacher's account, for pupils' warnings


@dataclass(frozen=True, slots=True)
class RunResult:
    as_of: date
    findings: int
    opened: int
    closed: int
    notified: int
    seconds: float


# -- reading ---------------------------------------------------------------------------

def _recorded_days(conn: Conn, days: dict[str, list[date]]) -> dict[str, list[date]]:
    """Of each school's school days, those on which its gates recorded anyone."""
    schools = [s for s, ds in days.items() for _ in ds]
    flat = [d for ds in days.values() for d in ds]
    rows = conn.execute(
        """
        select r.school_id, r.day
        from unnest(%s::text[], %s::date[]) as r (school_id, day)
        where exists (select 1 from attendance_daily a
                      where a.school_id = r.school_id and a.day = r.day)
        order by r.school_id, r.day
        """, (schools, flat)).fetchall()
    out: dict[str, list[date]] = defaultdict(list)
    for school, day in rows:
        out[school].append(day)
    return out


@dataclass(slots=True)
class _Pupil:
    code: str
    name: str
    school: str
    class_id: int | None
    absent: list[date] = field(default_factory=list)
    late: list[date] = field(default_factory=list)


def _pupils(conn: Conn, setups: dict[str, SchoolSetup], recorded: dict[str, list[date]],
            tz: ZoneInfo) -> dict[int, _Pupil]:
    """Active pupils with an absence or a late arrival on any of the recorded days."""
    if not any(recorded.values()):
        return {}
    params: dict[str, Any] = {"r_school": [], "r_day": [], "r_late": [], "r_absent": [],
                              "r_sd": []}
    for school, days in recorded.items():
        part = rules_params({school: setups[school]}, days, tz)
        for key, values in part.items():
            params[key] += values
    params["now"] = None  # every day read is over
    rows = conn.execute(
        f"""
        with {RULES_CTE}, x as (
            select st.id, st.code, st.full_name, st.school_id, st.class_id, r.day,
                   {STATUS_SQL} as status
            from students st
            join r on r.school_id = st.school_id
            left join attendance_daily a on a.student_id = st.id and a.day = r.day
            left join attendance_overrides o on o.student_id = st.id and o.day = r.day
            where st.active
        )
        select id, code, full_name, school_id, class_id,
               coalesce(array_agg(day order by day)
                        filter (where status in ('absent', 'excused')), '{{}}'),
               coalesce(array_agg(day order by day) filter (where status = 'late'), '{{}}')
        from x
        group by id, code, full_name, school_id, class_id
        having count(*) filter (where status in ('absent', 'excused', 'late')) > 0
        """,  # noqa: S608 - the interpolated parts are the attendance module's constants
        params).fetchall()
    return {sid: _Pupil(code, name, school, cid, list(absent), list(late))
            for sid, code, name, school, cid, absent, late in rows}


def _classes(conn: Conn) -> dict[int, tuple[str, str, int, str | None]]:
    """class id -> (school, name, active pupils, homeroom teacher's account)."""
    rows = conn.execute(
        """
        select c.id, c.school_id, c.name, count(st.id), c.teacher_username
        from classes c join students st on st.class_id = c.id and st.active
        group by c.id
        """).fetchall()
    return {cid: (school, name, n, teacher) for cid, school, name, n, teacher in rows}


def attendance_findings(conn: Conn, *, as_of: date, tz: ZoneInfo) -> list[Finding]:
    setups = load_setups(conn, first=as_of - rules.CALENDAR_LOOKBACK, last=as_of)
    calendar_days = {s: rules.last_school_days(setup.calendar, as_of, SCHOOL_DAYS_READ)
                     for s, setup in setups.items()}
    recorded = _recorded_days(conn, calendar_days)
    pupils = _pupils(conn, setups, recorded, tz)
    classes = _classes(conn)
    out: list[Finding] = []
    chronic_days = {s: set(days[-rules.CHRONIC_WINDOW:]).intersection(recorded.get(s, ()))
                    for s, days in calendar_days.items()}
    for sid, p in pupils.items():
        cls = classes.get(p.class_id) if p.class_id is not None else None
        who = f"{p.name} ({cls[1]})" if cls else p.name
        homeroom = cls[3] if cls else None
        found = rules.chronic_absence(chronic_days.get(p.school, set()), p.absent)
        if found is not None:
            out.append(Finding("chronic_absence", p.code, p.school, found, who,
                               student_id=sid, class_id=p.class_id, homeroom=homeroom))
        found = rules.lateness(as_of, p.late)
        if found is not None:
            out.append(Finding("lateness", p.code, p.school, found, who, student_id=sid,
                               class_id=p.class_id, homeroom=homeroom))
    # Rising absence: each class's absent pupil-days per recorded day, from the pupils read.
    absent_by_class: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for p in pupils.values():
        if p.class_id is not None:
            for day in p.absent:
                absent_by_class[p.class_id][day] += 1
    for cid, (school, name, size, _teacher) in classes.items():
        blocks = rules.week_blocks(recorded.get(school, []))
        per_day = absent_by_class.get(cid, {})
        weeks = [WeekCount(sum(per_day.get(d, 0) for d in block), size * len(block))
                 for block in blocks]
        found = rules.rising_absence(weeks)
        if found is not None:
            found["from"], found["to"] = blocks[-1][0].isoformat(), blocks[-1][-1].isoformat()
            out.append(Finding("rising_absence", str(cid), school, found, name,
                               class_id=cid))
    return out


def equipment_findings(conn: Conn, *, now: datetime, tz: ZoneInfo) -> list[Finding]:
    today = now.astimezone(tz).date()
    out: list[Finding] = []
    since = now - timedelta(days=rules.LAMP_WINDOW_DAYS + 1)
    readings: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for tag, day, hours in conn.execute(
            """
            -- each day's last reading: a lamp replaced during the day ends it low
            select distinct on (t.subject, day)
                   t.subject, (t.bucket at time zone %(tz)s)::date as day, t.last
            from telemetry_1h t
            where t.metric = 'projector.lamp_hours' and t.bucket >= %(since)s
              and t.bucket <= %(now)s
            order by t.subject, day, t.bucket desc
            """, {"tz": str(tz), "since": since, "now": now}).fetchall():
        readings[tag].append((day, float(hours)))
    for tag, school, rated in conn.execute(
            "select tag, school_id, rated_lamp_hours from assets where type = 'projector'"
            " and status <> 'retired' and rated_lamp_hours is not null and tag = any(%s)",
            (list(readings),)).fetchall():
        found = rules.lamp_end_of_life(today, rated, readings[tag])
        if found is not None:
            out.append(Finding("lamp_end_of_life", tag, school, found, tag, asset_tag=tag))
    raised: dict[tuple[str, str], list[date]] = defaultdict(list)
    where: dict[tuple[str, str], tuple[str, str | None]] = {}
    for subject, kind, school, tag, at in conn.execute(
            """
            select a.subject, a.type, a.school_id, a.asset_tag, l.at
            from alarm_log l join alarms a on a.id = l.alarm_id
            where l.action in ('raised', 're-raised') and l.at >= %s and l.at <= %s
              and a.type <> all(%s)
            """, (now - rules.REPEAT_WINDOW - timedelta(days=1), now,
                  sorted(rules.NOT_FAULTS))).fetchall():
        raised[subject, kind].append(at.astimezone(tz).date())
        where[subject, kind] = (school, tag)
    for (subject, kind), days in raised.items():
        found = rules.repeat_fault(today, kind, days)
        if found is not None:
            school, tag = where[subject, kind]
            out.append(Finding("repeat_fault", f"{subject}:{kind}", school, found, subject,
                               asset_tag=tag))
    return out


def evaluate(conn: Conn, *, now: datetime, tz: ZoneInfo) -> list[Finding]:
    as_of = now.astimezone(tz).date() - timedelta(days=1)
    return attendance_findings(conn, as_of=as_of, tz=tz) + equipment_findings(
        conn, now=now, tz=tz)


# -- keeping the table -----------------------------------------------------------------

_CONTACTS = """
select username, role, school_id, notify_channel, phone, zalo_id, webhook_url, disabled
from users where notify_channel <> 'none' and not disabled
"""

_OUTBOX = """
insert into notification_outbox (idempotency_key, student_id, guardian_id, channel, kind,
                                 day, payload, warning_id, username)
values (%s, null, null, %s, 'warning', %s, %s, %s, %s)
on conflict (idempotency_key) do nothing
"""


def _apply(cur: psycopg.Cursor[Any], findings: Iterable[Finding], *, episode: date,
           now: datetime) -> tuple[int, int, dict[int, Finding]]:
    """Open, update and close; returns (opened, closed, open warning id -> finding)."""
    cur.execute("select id, kind, subject from warnings where closed_at is null")
    open_ids = {(kind, subject): wid for wid, kind, subject in cur.fetchall()}
    opened = 0
    current: dict[int, Finding] = {}
    for f in findings:
        wid = open_ids.pop((f.kind, f.subject), None)
        if wid is not None:
            cur.execute("update warnings set detail = %s, updated_at = %s where id = %s",
                        (Jsonb(f.detail), now, wid))
        else:
            cur.execute(
                """
                insert into warnings as w (kind, subject, episode, school_id, student_id,
                                           class_id, asset_tag, detail, opened_at, updated_at)
                values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                on conflict (kind, subject, episode) do update
                    set detail = excluded.detail, updated_at = excluded.updated_at,
                        closed_at = null
                returning id
                """,
                (f.kind, f.subject, episode, f.school_id, f.student_id, f.class_id,
                 f.asset_tag, Jsonb(f.detail), now, now))
            row = cur.fetchone()
            assert row is not None
            wid = int(row[0])
            opened += 1
        current[wid] = f
    if open_ids:
        cur.execute("update warnings set closed_at = %s where id = any(%s)",
                    (now, list(open_ids.values())))
    return opened, len(open_ids), current


def _notify(cur: psycopg.Cursor[Any], current: dict[int, Finding], *, tz: ZoneInfo) -> int:
    if not current:
        return 0
    cur.execute(_CONTACTS)
    contacts = [Contact(*row) for row in cur.fetchall()]
    cur.execute("select id, episode, opened_at from warnings where id = any(%s)",
                (list(current),))
    episodes = {wid: (ep, at) for wid, ep, at in cur.fetchall()}
    sent = 0
    for wid, f in sorted(current.items()):
        episode, opened_at = episodes[wid]
        text = rules.render(f.kind, school=f.school_id, who=f.who, detail=f.detail)
        for c in rules.recipients(f.kind, f.school_id, contacts, homeroom=f.homeroom):
            payload = {
                "kind": "warning", "warning_kind": f.kind, "warning_id": wid,
                "school": f.school_id, "subject": f.subject, "detail": f.detail,
                "opened_at": opened_at.astimezone(tz).isoformat(),
                "recipient": {"username": c.username, "role": c.role, "phone": c.phone,
                              "address": c.zalo_id, "webhook_url": c.webhook_url},
                "text": text,
            }
            cur.execute(_OUTBOX, (rules.idempotency_key(f.kind, f.subject, episode,
                                                        c.username),
                                  c.channel, episode, Jsonb(payload), wid, c.username))
            sent += cur.rowcount
    return sent


def run(conn: Conn, *, now: datetime | None = None, tz: ZoneInfo,
        trigger: Trigger = "cli") -> RunResult:
    """One whole run (see the module's docstring); safe to repeat at any time."""
    now = now or datetime.now(UTC)
    started = datetime.now(UTC)
    as_of = now.astimezone(tz).date() - timedelta(days=1)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(%s)", (LOCK_ID,))
        findings = evaluate(conn, now=now, tz=tz)
        opened, closed, current = _apply(cur, findings, episode=now.astimezone(tz).date(),
                                         now=now)
        notified = _notify(cur, current, tz=tz)
        finished = datetime.now(UTC)
        cur.execute(
            "insert into warning_runs (as_of, started_at, finished_at, opened, closed,"
            " notified, trigger) values (%s, %s, %s, %s, %s, %s, %s)",
            (as_of, started, finished, opened, closed, notified, trigger))
    result = RunResult(as_of, len(findings), opened, closed, notified,
                       (finished - started).total_seconds())
    log.info("warnings run (%s): %s", trigger, result)
    return result


# -- the nightly schedule ----------------------------------------------------------------

def latest_due(now_local: datetime, at: time) -> datetime:
    """The latest scheduled moment at or before ``now_local`` (an aware local time)."""
    today = datetime.combine(now_local.date(), at, now_local.tzinfo)
    return today if today <= now_local else today - timedelta(days=1)


def is_due(now_local: datetime, at: time, last_nightly: datetime | None) -> bool:
    """A nightly run is due when none ran since the latest scheduled moment (a hub that
    was down at that time makes the run up when it starts)."""
    return last_nightly is None or last_nightly < latest_due(now_local, at)


class NightlyWarnings(threading.Thread):
    """Runs the warnings at ``at`` (local time) each night, and at start when the last
    nightly run is older than the latest scheduled moment. Several hub processes may each
    run one: the check and the run share the run's advisory lock."""

    def __init__(self, database_url: str, *, at: time, tz: ZoneInfo, poll_s: float = 60.0,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(name="warnings", daemon=True)
        self.database_url, self.at, self.tz, self.poll_s = database_url, at, tz, poll_s
        self.clock = clock or (lambda: datetime.now(UTC))
        self._stopping = threading.Event()
        self.runs = 0

    def run_if_due(self) -> RunResult | None:
        with psycopg.connect(self.database_url, application_name="smartschool-warnings") as conn:
            now = self.clock()
            with conn.transaction():
                conn.execute("select pg_advisory_xact_lock(%s)", (LOCK_ID,))
                row = conn.execute("select max(started_at) from warning_runs"
                                   " where trigger = 'nightly'").fetchone()
                if not is_due(now.astimezone(self.tz), self.at, row[0] if row else None):
                    return None
                result = run(conn, now=now, tz=self.tz, trigger="nightly")
        self.runs += 1
        return result

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_if_due()
            except psycopg.Error as exc:
                log.warning("warnings: database unavailable (%s); retrying", exc)
            except Exception:
                log.exception("warnings run failed")
            self._stopping.wait(self.poll_s)

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)
