"""Who hears of an equipment alarm, and when: pure (no database, no HTTP).

Two stages, each sent once per alarm and recipient:

* ``alarm``: a new alarm of a notifying severity (critical, major) goes to the facility
  managers of its school who have a contact.
* ``alarm-escalation``: still unacknowledged ``escalate_after`` after it was raised, it
  goes to the district (district admins and the control room) who have a contact. A
  school with no reachable facility manager escalates at once: there is nobody to wait
  for.

An alarm acknowledged (or cleared by a person) is not sent at all from then on, and an
alarm older than ``max_age`` is history, not news: a hub that was off for days does not
wake anyone for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

Stage = Literal["alarm", "alarm-escalation"]
# Minor alarms and warnings wait on the equipment page for the next round; waking a
# person for a lamp at 90% of its life would teach them to ignore the channel.
NOTIFY_SEVERITIES: Final[frozenset[str]] = frozenset(("critical", "major"))
SCHOOL_RECIPIENT_ROLES: Final[frozenset[str]] = frozenset(("facility_manager",))
DISTRICT_RECIPIENT_ROLES: Final[frozenset[str]] = frozenset(("district_admin", "control_room"))


@dataclass(frozen=True, slots=True)
class Contact:
    """An account as the dispatcher sees it."""

    username: str
    role: str
    school: str | None
    channel: str  # none | webhook | zalo | sms
    phone: str | None = None
    zalo_id: str | None = None
    webhook_url: str | None = None
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class AlarmView:
    id: int
    school: str
    severity: str
    state: str
    raised_at: datetime
    acked_at: datetime | None


def reachable(contact: Contact) -> bool:
    """Enabled, with a channel and the address that channel needs (a webhook needs none
    of its own: without a URL of the account it posts to the district's)."""
    if contact.disabled or contact.channel == "none":
        return False
    if contact.channel == "sms":
        return bool(contact.phone)
    if contact.channel == "zalo":
        return bool(contact.zalo_id)
    return contact.channel == "webhook"


def acknowledged(alarm: AlarmView) -> bool:
    return alarm.acked_at is not None or alarm.state == "cleared"


def recipients(stage: Stage, school: str, contacts: Iterable[Contact]) -> list[Contact]:
    """The reachable accounts a stage goes to, in username order."""
    if stage == "alarm":
        chosen = [c for c in contacts
                  if c.role in SCHOOL_RECIPIENT_ROLES and c.school == school]
    else:
        chosen = [c for c in contacts if c.role in DISTRICT_RECIPIENT_ROLES]
    return sorted((c for c in chosen if reachable(c)), key=lambda c: c.username)


def due_stages(
    alarm: AlarmView, *, now: datetime, escalate_after: timedelta, max_age: timedelta,
    school_reachable: bool,
) -> list[Stage]:
    """The stages due for ``alarm`` at ``now`` (each is sent once: the outbox's key drops
    a stage offered again)."""
    if alarm.severity not in NOTIFY_SEVERITIES or acknowledged(alarm):
        return []
    if now - alarm.raised_at > max_age:
        return []
    stages: list[Stage] = ["alarm"]
    if not school_reachable or now >= alarm.raised_at + escalate_after:
        stages.append("alarm-escalation")
    return stages


def idempotency_key(stage: Stage, alarm_id: int, username: str) -> str:
    return f"{stage}:{alarm_id}:{username}"


def render(stage: Stage, *, school: str, subject: str, message: str, severity: str,
           raised_at: datetime, minutes_unacked: int) -> str:
    """Vietnamese text; ``raised_at`` in the district's local time."""
    clock = raised_at.strftime("%H:%M %d/%m/%Y")
    level = "NGHIÊM TRỌNG" if severity == "critical" else "mức cao"
    head = f"Cảnh báo thiết bị {level} tại trường {school}: {subject} - {message}"
    if stage == "alarm":
        return f"{head} (lúc {clock}). Vui lòng kiểm tra và xác nhận."
    return (f"CHUYỂN CẤP: {head} (lúc {clock}) chưa được xác nhận sau "
            f"{minutes_unacked} phút.")
