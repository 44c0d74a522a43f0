"""Alarm dispatch: offer due alarm messages to the notification outbox.

Like the parents' messages, these are derived from state rather than hooked into the
evaluator: each notifier pass reads the open, unacknowledged alarms of a notifying
severity and the accounts with a contact, asks hub.notify.alarm_rules what is due, and
inserts one outbox row per (stage, alarm, account) under a unique key, ``on conflict do
nothing``. A pass repeated, a second hub worker, or a restart therefore sends nothing
twice. The alarms are read ``for share skip locked``: an acknowledgement committing
meanwhile waits for the short pass (whose messages the next pass then withdraws), and an
alarm row the evaluator or a person is writing right now is left to the next pass rather
than waited for, so the pass never joins a lock cycle with the evaluator's multi-row
transaction. Withdrawing skips rows another worker holds for the same reason.

A message still pending when its alarm is acknowledged is withdrawn (marked failed with
that reason), so a late escalation does not go out after someone has acted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

from hub.db import Conn
from hub.notify import alarm_rules
from hub.notify.alarm_rules import AlarmView, Contact, Stage

WITHDRAWN: Final = "alarm acknowledged before the message was sent"

_ALARMS = """
select a.id, a.school_id, a.severity, a.state, a.raised_at, a.acked_at, a.subject, a.message
from alarms a
where a.severity = any(%(severities)s) and a.acked_at is null and a.state <> 'cleared'
  and a.raised_at >= %(since)s
  and not exists (select 1 from notification_outbox o
                  where o.alarm_id = a.id and o.kind = 'alarm-escalation')
order by a.id
for share of a skip locked
"""

_CONTACTS = """
select username, role, school_id, notify_channel, phone, zalo_id, webhook_url, disabled
from users where notify_channel <> 'none' and not disabled
"""

_INSERT = """
insert into notification_outbox (idempotency_key, student_id, guardian_id, channel, kind,
                                 day, payload, alarm_id, username)
values (%s, null, null, %s, %s, %s, %s, %s, %s)
on conflict (idempotency_key) do nothing
"""

_WITHDRAW = """
update notification_outbox set status = 'failed', last_error = %s
where id in (select o.id from notification_outbox o join alarms a on a.id = o.alarm_id
             where o.status = 'pending' and (a.acked_at is not null or a.state = 'cleared')
             for update of o skip locked)
"""


def enqueue_alarm_notifications(
    conn: Conn, *, now: datetime, tz: ZoneInfo, escalate_after: timedelta,
    max_age: timedelta,
) -> int:
    """Offer every due alarm message; returns the rows offered (inserted or not)."""
    offered = 0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(_WITHDRAW, (WITHDRAWN,))
        cur.execute(_ALARMS, {"severities": sorted(alarm_rules.NOTIFY_SEVERITIES),
                              "since": now - max_age})
        alarms = cur.fetchall()
        if not alarms:
            return 0
        cur.execute(_CONTACTS)
        contacts = [Contact(*row) for row in cur.fetchall()]
        rows: list[tuple[Any, ...]] = []
        for aid, school, severity, state, raised_at, acked_at, subject, message in alarms:
            alarm = AlarmView(aid, school, severity, state, raised_at, acked_at)
            school_reachable = bool(alarm_rules.recipients("alarm", school, contacts))
            for stage in alarm_rules.due_stages(
                    alarm, now=now, escalate_after=escalate_after, max_age=max_age,
                    school_reachable=school_reachable):
                text = alarm_rules.render(
                    stage, school=school, subject=subject, message=message,
                    severity=severity, raised_at=raised_at.astimezone(tz),
                    minutes_unacked=int((now - raised_at).total_seconds() // 60))
                for contact in alarm_rules.recipients(stage, school, contacts):
                    rows.append(_row(stage, alarm, contact, subject=subject, message=message,
                                     text=text, tz=tz))
        if rows:
            cur.executemany(_INSERT, rows)
        offered = len(rows)
    return offered


def _row(stage: Stage, alarm: AlarmView, contact: Contact, *, subject: str, message: str,
         text: str, tz: ZoneInfo) -> tuple[Any, ...]:
    local = alarm.raised_at.astimezone(tz)
    payload = {
        "kind": stage,
        "alarm_id": alarm.id,
        "school": alarm.school,
        "subject": subject,
        "severity": alarm.severity,
        "message": message,
        "raised_at": local.isoformat(),
        # The adapters read phone (sms) and address (zalo); webhook_url, when the account
        # has one, is where the webhook adapter posts instead of the district's URL.
        "recipient": {"username": contact.username, "role": contact.role,
                      "phone": contact.phone, "address": contact.zalo_id,
                      "webhook_url": contact.webhook_url},
        "text": text,
    }
    key = alarm_rules.idempotency_key(stage, alarm.id, contact.username)
    return (key, contact.channel, stage, local.date(), Jsonb(payload), alarm.id,
            contact.username)
