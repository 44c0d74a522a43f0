"""The push to systems that cannot pull (issue 15): endpoints, what is due, the outbox rows,
and the deliveries' state. The decisions are hub/exchange/schedule.py's (pure); sending,
retrying with backoff and giving up are the notification outbox's (hub/notify), on the
channel ``exchange`` (hub/exchange/push_worker.py).

Once per (endpoint, kind, period): the ledger row (exchange_pushes) and the outbox row
are written in one transaction, the ledger's primary key refusing a second; the outbox
row's idempotency key is the delivery id every try of it carries. The body is rendered
once, when the push is enqueued, and stored as text, so every retry sends the same bytes.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, Literal, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import psycopg
from psycopg.types.json import Jsonb

from hub.attendance.reports import daily_summary
from hub.attendance.service import load_setups
from hub.db import Conn
from hub.exchange.documents import SCHEMA_VERSION, KpiSnapshotDoc
from hub.exchange.push_documents import (
    DOCUMENT_SCHEMAS,
    PERIODS,
    PUSH_KINDS,
    AttendanceDailyAggregateDoc,
    PushEnvelope,
    PushKind,
    schema_id,
)
from hub.exchange.push_settings import PushSettings
from hub.exchange.schedule import (
    DayPlan,
    Push,
    due_days,
    due_months,
    last_cutoff,
    pushes_to_make,
    recent_days,
    recent_months,
)

CHANNEL: Final = "exchange"
NAME_PATTERN: Final = r"^[a-z0-9][a-z0-9._-]{0,62}$"
URL_MAX: Final = 500
SECRET_MIN: Final = 16
SECRET_MAX: Final = 200
REMOVED: Final = "endpoint removed before the delivery was sent"

DeliveryState = Literal["queued", "sent", "failed", "dead"]
DELIVERY_STATES: Final[tuple[DeliveryState, ...]] = ("queued", "sent", "failed", "dead")


class EndpointError(ValueError):
    """An endpoint that cannot be added: a bad name, URL, secret or kind, or a name taken."""


class EndpointExists(EndpointError):
    """The name is taken."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: int
    name: str
    url: str
    kinds: tuple[PushKind, ...]
    created_at: datetime
    created_by: str | None


@dataclass(frozen=True, slots=True)
class Target:
    """Where a delivery goes and the key it is signed with."""

    name: str
    url: str
    secret: str


# -- endpoints -------------------------------------------------------------------------


def endpoint_problem(*, name: str, url: str, kinds: Sequence[str], secret: str) -> str | None:
    """Why an endpoint cannot be added, or None. Pure."""
    if not re.fullmatch(NAME_PATTERN, name):
        return "name: lower-case letters, digits, '.', '_' or '-', at most 63, starting " \
               "with a letter or digit"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # "http://[::1" and the like
        host = None
    if (not host or parts.scheme not in ("http", "https") or len(url) > URL_MAX
            or not url.isprintable() or any(c.isspace() for c in url)):
        return f"url: an http:// or https:// URL with a host, at most {URL_MAX} characters"
    if not kinds:
        return f"kinds: at least one of {', '.join(PUSH_KINDS)}"
    unknown = sorted(set(kinds) - set(PUSH_KINDS))
    if unknown:
        return f"kinds: {', '.join(unknown)} unknown; one or more of {', '.join(PUSH_KINDS)}"
    if not SECRET_MIN <= len(secret) <= SECRET_MAX or not secret.isprintable():
        return f"secret: {SECRET_MIN} to {SECRET_MAX} printable characters"
    return None


def new_secret() -> str:
    return secrets.token_urlsafe(32)


_ENDPOINT_COLUMNS = "id, name, url, kinds, created_at, created_by"


def _endpoint(row: Any) -> Endpoint:
    i, name, url, kinds, created_at, created_by = row
    ordered = tuple(k for k in PUSH_KINDS if k in kinds)
    return Endpoint(i, name, url, ordered, created_at, created_by)


def add_endpoint(conn: Conn, *, name: str, url: str, kinds: Sequence[str], secret: str,
                 created_by: str | None) -> Endpoint:
    """A new endpoint; EndpointError when invalid or the name is taken."""
    problem = endpoint_problem(name=name, url=url, kinds=kinds, secret=secret)
    if problem is not None:
        raise EndpointError(problem)
    try:
        with conn.transaction():
            row = conn.execute(
                "insert into exchange_endpoints (name, url, secret, kinds, created_by)"  # noqa: S608
                f" values (%s, %s, %s, %s, %s) returning {_ENDPOINT_COLUMNS}",
                (name, url, secret, sorted(set(kinds)), created_by),
            ).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise EndpointExists(f"an endpoint named {name!r} exists already") from exc
    assert row is not None
    return _endpoint(row)


def list_endpoints(conn: Conn) -> list[Endpoint]:
    return [_endpoint(r) for r in conn.execute(
        f"select {_ENDPOINT_COLUMNS} from exchange_endpoints order by name"  # noqa: S608
    ).fetchall()]


def remove_endpoint(conn: Conn, name: str) -> bool:
    """Remove an endpoint: its deliveries not sent yet are given up (dead, with the
    reason), the sent ones stay in the history without it. False when there is none."""
    with conn.transaction():
        row = conn.execute("select id from exchange_endpoints where name = %s for update",
                           (name,)).fetchone()
        if row is None:
            return False
        conn.execute(
            "update notification_outbox set status = 'failed', last_error = %s"
            " where channel = %s and endpoint_id = %s and status = 'pending'",
            (REMOVED, CHANNEL, row[0]))
        conn.execute("delete from exchange_endpoints where id = %s", (row[0],))
    return True


def target(conn: Conn, endpoint_id: int) -> Target | None:
    row = conn.execute("select name, url, secret from exchange_endpoints where id = %s",
                       (endpoint_id,)).fetchone()
    return None if row is None else Target(*row)


# -- what is due, and enqueuing it ------------------------------------------------------


def due_pushes(conn: Conn, *, now: datetime, tz: ZoneInfo, settings: PushSettings,
               days: Sequence[date] | None = None,
               months: Sequence[date] | None = None) -> list[Push]:
    """What the schedule says is due now and the ledger does not hold. ``days`` and
    ``months`` replace the lookback (a manual push of given periods); the rules that make
    a period due (cutoffs passed, month over with its snapshot) still apply."""
    endpoints = [(e.id, e.kinds) for e in list_endpoints(conn)]
    if not endpoints:
        return []
    wanted = {k for _, kinds in endpoints for k in kinds}
    due: dict[PushKind, list[date]] = {}
    day_list = list(days) if days is not None else recent_days(now, tz, settings.lookback_days)
    if "attendance_daily_aggregate" in wanted and day_list:
        setups = load_setups(conn, first=min(day_list), last=max(day_list))
        plans = [
            DayPlan(d, last_cutoff((s.calendar.is_school_day(d), s.rules.absent_cutoff(d, tz))
                                   for s in setups.values()))
            for d in day_list
        ]
        due["attendance_daily_aggregate"] = due_days(now, plans, grace=settings.daily_grace)
    month_list = (list(months) if months is not None
                  else recent_months(now, tz, settings.lookback_months))
    if "kpi_snapshot" in wanted and month_list:
        taken = {m for (m,) in conn.execute(
            "select distinct month from kpi_snapshots where month = any(%s)", (month_list,))}
        due["kpi_snapshot"] = due_months(now, tz, month_list, snapshots=taken,
                                         grace=settings.monthly_grace)
    periods = sorted({p for ps in due.values() for p in ps})
    if not periods:
        return []
    done = {Push(e, cast(PushKind, k), p) for e, k, p in conn.execute(
        "select endpoint_id, kind, period from exchange_pushes where period = any(%s)",
        (periods,))}
    return pushes_to_make(endpoints, due, done)


def daily_documents(conn: Conn, *, day: date, tz: ZoneInfo, now: datetime
                    ) -> list[AttendanceDailyAggregateDoc]:
    return [
        AttendanceDailyAggregateDoc(
            school=r.school, day=day, school_day=r.school_day, enrolled=r.enrolled,
            present=r.present, late=r.late, absent=r.absent, excused=r.excused,
            pending=r.pending)
        for r in daily_summary(conn, day=day, tz=tz, now=now)
    ]


def kpi_documents(conn: Conn, *, month: date) -> list[KpiSnapshotDoc]:
    return [
        KpiSnapshotDoc(month=m, scope=scope, scope_id=sid, indicator=ind, numerator=n,
                       denominator=d, target=target_, taken_at=taken)
        for m, scope, sid, ind, n, d, target_, taken in conn.execute(
            """select month, scope, scope_id, indicator, numerator, denominator, target,
                      taken_at
               from kpi_snapshots where month = %s order by scope, scope_id, indicator""",
            (month,))
    ]


def render_body(envelope: PushEnvelope) -> str:
    """The exact text POSTed: compact JSON, UTF-8 as is."""
    return json.dumps(envelope.model_dump(mode="json"), ensure_ascii=False,
                      separators=(",", ":"))


_LEDGER = """
insert into exchange_pushes (endpoint_id, kind, period, delivery_id)
values (%s, %s, %s, %s)
on conflict (endpoint_id, kind, period) do nothing
returning delivery_id
"""

_OUTBOX = """
insert into notification_outbox (idempotency_key, student_id, guardian_id, channel, kind,
                                 day, payload, endpoint_id)
values (%s, null, null, 'exchange', %s, %s, %s, %s)
"""


def enqueue_due(conn: Conn, *, now: datetime, tz: ZoneInfo, settings: PushSettings,
                days: Sequence[date] | None = None,
                months: Sequence[date] | None = None) -> list[Push]:
    """Put every due push in the outbox; returns those enqueued by this call (a push
    another process enqueued meanwhile is skipped, not doubled)."""
    pushes = due_pushes(conn, now=now, tz=tz, settings=settings, days=days, months=months)
    if not pushes:
        return []
    names = {e.id: e.name for e in list_endpoints(conn)}
    documents: dict[tuple[PushKind, date], Any] = {}
    made: list[Push] = []
    for push in pushes:
        key = (push.kind, push.period)
        if key not in documents:
            documents[key] = (
                daily_documents(conn, day=push.period, tz=tz, now=now)
                if push.kind == "attendance_daily_aggregate"
                else kpi_documents(conn, month=push.period))
        delivery_id = str(uuid.uuid4())
        envelope = PushEnvelope(
            schema_version=SCHEMA_VERSION, delivery_id=delivery_id,
            endpoint=names.get(push.endpoint_id, ""), kind=push.kind,
            schema_id=schema_id(DOCUMENT_SCHEMAS[push.kind]), period=push.period,
            period_type=PERIODS[push.kind], generated_at=now, documents=documents[key])
        payload = {"endpoint_id": push.endpoint_id, "body": render_body(envelope)}
        try:
            with conn.transaction():
                won = conn.execute(_LEDGER, (push.endpoint_id, push.kind, push.period,
                                             delivery_id)).fetchone()
                if won is None:
                    continue
                conn.execute(_OUTBOX, (delivery_id, push.kind, push.period, Jsonb(payload),
                                       push.endpoint_id))
        except psycopg.errors.ForeignKeyViolation:
            continue  # the endpoint was removed meanwhile
        made.append(push)
    return made


# -- deliveries --------------------------------------------------------------------------

# The outbox's status and last error, as the push's states: queued (not tried yet, or in
# flight), failed (the last try failed, another is scheduled), sent, dead (given up).
STATE_SQL: Final = """
    case when o.status = 'sent' then 'sent'
         when o.status = 'failed' then 'dead'
         when o.last_error is not null then 'failed'
         else 'queued' end
"""


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    delivery_id: str
    endpoint: str | None
    kind: PushKind
    period: date
    state: DeliveryState
    attempts: int
    last_error: str | None
    next_try: datetime | None
    created_at: datetime
    sent_at: datetime | None


def list_deliveries(conn: Conn, *, limit: int, before_id: int | None = None,
                    state: DeliveryState | None = None, endpoint: str | None = None,
                    kind: PushKind | None = None) -> list[Delivery]:
    """Newest first, ``limit`` of them after (below) ``before_id``."""
    rows = conn.execute(
        f"""
        select o.id, o.idempotency_key, e.name, o.kind, o.day, {STATE_SQL} as state,
               o.attempts, o.last_error, o.next_attempt_at, o.created_at, o.sent_at
        from notification_outbox o left join exchange_endpoints e on e.id = o.endpoint_id
        where o.channel = 'exchange'
          and (%(before)s::bigint is null or o.id < %(before)s)
          and (%(state)s::text is null or {STATE_SQL} = %(state)s)
          and (%(endpoint)s::text is null or e.name = %(endpoint)s)
          and (%(kind)s::text is null or o.kind = %(kind)s)
        order by o.id desc limit %(limit)s
        """,  # noqa: S608 - the interpolated part is a constant
        {"before": before_id, "state": state, "endpoint": endpoint, "kind": kind,
         "limit": limit},
    ).fetchall()
    return [
        Delivery(i, did, name, k, day, st, attempts, err,
                 nxt if st in ("queued", "failed") else None, created, sent)
        for i, did, name, k, day, st, attempts, err, nxt, created, sent in rows
    ]


def retry_dead(conn: Conn, *, outbox_id: int | None = None) -> list[int]:
    """Give dead deliveries (all, or one) a new round of tries, with the same delivery id
    and body; those of a removed endpoint stay dead. Returns the ids revived."""
    rows = conn.execute(
        """
        update notification_outbox
        set status = 'pending', attempts = 0, next_attempt_at = now()
        where channel = 'exchange' and status = 'failed' and endpoint_id is not null
          and (%(id)s::bigint is null or id = %(id)s)
        returning id
        """,
        {"id": outbox_id},
    ).fetchall()
    return sorted(r[0] for r in rows)


def state_counts(conn: Conn) -> dict[str, dict[DeliveryState, int]]:
    """Per endpoint name: how many deliveries are in each state."""
    out: dict[str, dict[DeliveryState, int]] = {}
    for name, st, n in conn.execute(
        f"""select e.name, {STATE_SQL} as state, count(*)
            from notification_outbox o join exchange_endpoints e on e.id = o.endpoint_id
            where o.channel = 'exchange' group by 1, 2"""  # noqa: S608
    ):
        out.setdefault(name, dict.fromkeys(DELIVERY_STATES, 0))[st] = int(n)
    return out
