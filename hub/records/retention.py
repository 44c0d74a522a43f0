"""How long raw gate events are kept, and their purge.

Raw passages (who went through which gate, when) are personal data kept only as long as
the school needs them to answer a question about a day (Decree 13/2023, Art. 3: storage
limited to the purpose). The daily attendance rollup (attendance_daily) stays: it is the
school's register, with its own legal retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Final

from core.settings import Settings
from hub.db import Conn

# One school year and a summer: long enough for end-of-year questions about a given day.
DEFAULT_EVENT_RETENTION_DAYS: Final = 400
MIN_RETENTION_DAYS: Final = 1
# Deleting in slices keeps each transaction short on a table the ingest writes to.
PURGE_BATCH: Final = 50_000


def retention_cutoff(now: datetime, days: int) -> datetime:
    """Events received before this instant are past retention."""
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    if days < MIN_RETENTION_DAYS:
        raise ValueError(f"retention must be at least {MIN_RETENTION_DAYS} day")
    return now - timedelta(days=days)


def purge_gate_events(conn: Conn, cutoff: datetime, *,
                      batch: int = PURGE_BATCH) -> int:
    """Delete raw gate events received before ``cutoff``; returns how many went."""
    total = 0
    while True:
        with conn.transaction():
            deleted = conn.execute(
                "delete from gate_events where ctid = any(array("
                " select ctid from gate_events where received_at < %s limit %s))",
                (cutoff, batch),
            ).rowcount
        total += deleted
        if deleted < batch:
            return total


# --- every other table holding personal data (issue #12) -------------------------------

# The windows' defaults, each the shortest that still serves the table's purpose:
# a parent asking "was I told?" asks within a term; dead letters and device replies are
# for debugging a device this month; a leaver's national ids and their parents' contacts
# answer a year of questions from the next school, then go.
DEFAULT_NOTIFICATION_RETENTION_DAYS: Final = 90
DEFAULT_DEAD_LETTER_RETENTION_DAYS: Final = 30
DEFAULT_DEVICE_REPLY_RETENTION_DAYS: Final = 30
DEFAULT_LEAVER_RETENTION_DAYS: Final = 365


@dataclass(frozen=True, slots=True)
class RetentionWindows:
    """Days each kind of personal data is kept; the hub purges past them every hour."""

    notifications: int = DEFAULT_NOTIFICATION_RETENTION_DAYS  # phones and message texts
    dead_letters: int = DEFAULT_DEAD_LETTER_RETENTION_DAYS  # raw payloads: codes, UIDs
    device_replies: int = DEFAULT_DEVICE_REPLY_RETENTION_DAYS
    leavers: int = DEFAULT_LEAVER_RETENTION_DAYS  # since left_on: ids, guardians

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionWindows:
        return cls(notifications=settings.notification_retention_days,
                   dead_letters=settings.dead_letter_retention_days,
                   device_replies=settings.device_reply_retention_days,
                   leavers=settings.leaver_retention_days)


def purge_notifications(conn: Conn, cutoff: datetime) -> int:
    """Outbox rows (a guardian's phone or address, the message text) created before
    ``cutoff``, whatever their state: a message that could not go in months never will."""
    with conn.transaction():
        return conn.execute("delete from notification_outbox where created_at < %s",
                            (cutoff,)).rowcount


def purge_dead_letters(conn: Conn, cutoff: datetime) -> int:
    with conn.transaction():
        return conn.execute("delete from dead_letters where received_at < %s",
                            (cutoff,)).rowcount


def purge_device_replies(conn: Conn, cutoff: datetime) -> int:
    """Replies received before ``cutoff``, except the answer to each gate's latest sync
    push: the publisher reads it to retry a sync that failed."""
    with conn.transaction():
        return conn.execute(
            "delete from device_replies r where r.received_at < %s and not exists"
            " (select 1 from device_sync_pushes p where p.cmd_id = r.cmd_id)",
            (cutoff,)).rowcount


def purge_leavers(conn: Conn, cutoff: date) -> int:
    """Pupils who left before ``cutoff``: their national ids are erased and their
    guardians (names, phones, addresses) deleted. The name, code and registers stay:
    they are the school's register. Returns how many pupils were erased."""
    with conn.transaction():
        ids = [int(r[0]) for r in conn.execute(
            "update students set personal_id = null, moet_id = null"
            " where not active and left_on < %s"
            " and (personal_id is not null or moet_id is not null"
            "      or exists (select 1 from guardians g where g.student_id = students.id))"
            " returning id", (cutoff,))]
        if ids:
            conn.execute("delete from guardians where student_id = any(%s)", (ids,))
    return len(ids)


def compact_exchange_changes(conn: Conn) -> int:
    """Delete each exchange-feed change that a newer change of the same (kind, key)
    follows (migration 0027 says why no consumer can miss anything by it). Only changes
    of finished transactions are touched, as the feed itself reads only those."""
    with conn.transaction():
        return conn.execute(
            "delete from exchange_changes c"
            " where c.xid < pg_snapshot_xmin(pg_current_snapshot()) and exists"
            " (select 1 from exchange_changes n where n.kind = c.kind and n.key = c.key"
            "  and (n.xid, n.seq) > (c.xid, c.seq)"
            "  and n.xid < pg_snapshot_xmin(pg_current_snapshot()))").rowcount


def purge_personal_data(conn: Conn, now: datetime, windows: RetentionWindows,
                        tz: tzinfo = UTC) -> dict[str, int]:
    """Every purge past its window; the counts by table, as the hub logs them."""
    return {
        "notification_outbox": purge_notifications(
            conn, retention_cutoff(now, windows.notifications)),
        "dead_letters": purge_dead_letters(conn, retention_cutoff(now, windows.dead_letters)),
        "device_replies": purge_device_replies(
            conn, retention_cutoff(now, windows.device_replies)),
        "leavers": purge_leavers(
            conn, retention_cutoff(now, windows.leavers).astimezone(tz).date()),
        # keys of learners who left stay in the log only until a newer change replaces them
        "exchange_changes": compact_exchange_changes(conn),
    }
