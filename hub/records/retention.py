"""How long raw gate events are kept, and their purge.

Raw passages (who went through which gate, when) are personal data kept only as long as
the school needs them to answer a question about a day (Decree 13/2023, Art. 3: storage
limited to the purpose). The daily attendance rollup (attendance_daily) stays: it is the
school's register, with its own legal retention.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

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
