"""The parent-notification outbox: what was sent, what is pending, what failed.

Rows carry guardians' phone numbers and Zalo ids: district and school admins only.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel

from hub.access import ADMIN_ROLES
from hub.accounts.auth import User
from hub.api import paging
from hub.api.deps import ConnDep, ContextDep, CurrentUser, Day, SchoolFilterDep
from hub.api.responses import AUTHED, FORBIDDEN, NOT_FOUND

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"],
                   responses=AUTHED | FORBIDDEN)


class NotificationPublic(BaseModel):
    id: int
    idempotency_key: str
    student: str
    school: str
    channel: str
    kind: str
    date: dt.date
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    text: str


def _require_admin(user: User) -> None:
    if user.role not in ADMIN_ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "district or school admins only")


@router.get("", response_model=list[NotificationPublic], responses=paging.PAGED)
def list_notifications(
    ctx: ContextDep,
    response: Response,
    conn: ConnDep,
    user: CurrentUser,
    schools: SchoolFilterDep,
    date: Day | None = None,
    state: Annotated[Literal["pending", "sent", "failed"] | None,
                     Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: paging.CursorParam = None,
) -> list[NotificationPublic]:
    _require_admin(user)
    before = paging.after(ctx, cursor, purpose="notifications", types=(int,))
    if schools.matches_nothing:
        return []
    rows = conn.execute(
        """
        select o.id, o.idempotency_key, st.code, st.school_id, o.channel, o.kind, o.day,
               o.status, o.attempts, o.next_attempt_at, o.last_error, o.created_at,
               o.sent_at, o.payload->>'text'
        from notification_outbox o join students st on st.id = o.student_id
        where (%(school)s::text is null or st.school_id = %(school)s)
          and (%(day)s::date is null or o.day = %(day)s)
          and (%(status)s::text is null or o.status = %(status)s)
          and (%(before)s::bigint is null or o.id < %(before)s)
        order by o.id desc limit %(limit)s
        """,
        {"school": schools.school, "day": date, "status": state, "limit": limit,
         "before": before[0] if before is not None else None},
    ).fetchall()
    found = [_row(r) for r in rows]
    if found:
        paging.set_next(response, ctx, purpose="notifications", full=len(found) == limit,
                        last=(found[-1].id,))
    return found


def _row(r: Any) -> NotificationPublic:
    (i, key, student, school, channel, kind, day, st, attempts, nxt, err, created, sent,
     text) = r
    return NotificationPublic(
        id=i, idempotency_key=key, student=student, school=school, channel=channel, kind=kind,
        date=day, status=st, attempts=attempts, next_attempt_at=nxt, last_error=err,
        created_at=created, sent_at=sent, text=text,
    )


@router.post("/{notification_id}/retry", response_model=NotificationPublic,
             responses=NOT_FOUND)
def retry_notification(
    conn: ConnDep,
    user: CurrentUser,
    schools: SchoolFilterDep,
    notification_id: Annotated[int, Path(ge=1, le=2**62)],
) -> NotificationPublic:
    """Send a failed message again (after fixing a guardian's number, say)."""
    _require_admin(user)
    row = conn.execute(
        """
        update notification_outbox o
        set status = 'pending', attempts = 0, next_attempt_at = now()
        from students st
        where o.id = %(id)s and st.id = o.student_id and o.status = 'failed'
          and (%(school)s::text is null or st.school_id = %(school)s)
          and not %(nothing)s
        returning o.id, o.idempotency_key, st.code, st.school_id, o.channel, o.kind, o.day,
                  o.status, o.attempts, o.next_attempt_at, o.last_error, o.created_at,
                  o.sent_at, o.payload->>'text'
        """,
        {"id": notification_id, "school": schools.school, "nothing": schools.matches_nothing},
    ).fetchone()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no failed notification with that id")
    return _row(row)
