"""The notification worker: one thread that enqueues, sweeps and sends.

Each pass: enqueue today's entry/exit messages from the rollup, run the absence sweep,
offer the due alarm messages to staff (hub/notify/alarm_dispatch.py), then send every
due message through its channel's adapter. A failed send is retried with exponential
backoff and jitter until ``max_attempts``, then marked failed. Several workers
(one per hub replica) may run at once: claiming uses ``for update skip locked`` and every
enqueue is idempotent.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import httpx
import psycopg

from hub.attendance import lessons_flags
from hub.db import Conn
from hub.notify import alarm_dispatch, outbox
from hub.notify.adapters import Adapter, DeliveryError, Outgoing, build_adapters
from hub.notify.settings import NotifySettings

log = logging.getLogger(__name__)

# Spread of the random factor on each retry delay, so many messages failing together
# (a gateway outage) do not all come back in the same second.
JITTER: Final = 0.25
RECONNECT_DELAY_S: Final = 5.0


def backoff_delay(attempt: int, *, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Delay after failed attempt number ``attempt`` (1-based): base * 2^(attempt-1),
    capped, times a random factor in [1 - JITTER, 1 + JITTER]."""
    raw = min(cap_s, base_s * 2.0 ** max(attempt - 1, 0))
    return raw * rng.uniform(1 - JITTER, 1 + JITTER)


class NotificationWorker(threading.Thread):
    def __init__(
        self,
        database_url: str,
        *,
        settings: NotifySettings,
        tz: ZoneInfo,
        adapters: Mapping[str, Adapter] | None = None,
        clock: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
        school_clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(name="notify-worker", daemon=True)
        self.database_url = database_url
        self.settings = settings
        self.tz = tz
        self._client = httpx.Client(timeout=settings.timeout_s,
                                    headers={"User-Agent": "smartschool-notifier/1"})
        self.adapters: Mapping[str, Adapter] = (
            adapters if adapters is not None else build_adapters(settings, self._client)
        )
        self.clock = clock or (lambda: datetime.now(UTC))
        # Lessons' cutoffs follow the school day's clock: the demo's runs simulated, while
        # alarms escalate by real minutes (``clock``).
        self.school_clock = school_clock or self.clock
        self.rng = rng or random.Random()
        self._stopping = threading.Event()
        self._conn: Conn | None = None
        self.sent = 0
        self.failed = 0

    # -- one pass, callable from tests ----------------------------------------------------

    def _connection(self) -> Conn:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.database_url, autocommit=True,
                                         application_name="smartschool-notify")
        return self._conn

    def enqueue(self) -> int:
        conn = self._connection()
        now = self.clock()
        offered = outbox.enqueue_gate_notifications(conn, day=now.astimezone(self.tz).date(),
                                                    tz=self.tz)
        offered += outbox.run_absence_sweep(conn, now=now, tz=self.tz)
        # Classroom attendance (issue 14): "in school, not in class" to the class's teacher
        offered += lessons_flags.enqueue_not_in_class(conn, now=self.school_clock(), tz=self.tz)
        return offered + alarm_dispatch.enqueue_alarm_notifications(
            conn, now=now, tz=self.tz,
            escalate_after=timedelta(seconds=self.settings.alarm_escalate_after_s),
            max_age=timedelta(seconds=self.settings.alarm_max_age_s))

    def deliver_due(self) -> int:
        """Send what is due; returns how many messages were attempted."""
        conn = self._connection()
        claimed = outbox.claim_due(conn, limit=self.settings.batch_size,
                                   channels=sorted(self.adapters))
        for message in claimed:
            self._deliver(conn, message)
        return len(claimed)

    def _deliver(self, conn: Conn, message: outbox.Claimed) -> None:
        adapter = self.adapters[message.channel]
        try:
            adapter.send(Outgoing(message.idempotency_key, message.kind, message.payload))
        except DeliveryError as exc:
            if not exc.retryable or message.attempts >= self.settings.max_attempts:
                log.warning("notification %s failed for good after %d attempts: %s",
                            message.idempotency_key, message.attempts, exc)
                outbox.mark_failed(conn, message.id, error=str(exc))
                self.failed += 1
                return
            delay = backoff_delay(message.attempts, base_s=self.settings.backoff_base_s,
                                  cap_s=self.settings.backoff_max_s, rng=self.rng)
            log.info("notification %s attempt %d failed (%s); retry in %.1fs",
                     message.idempotency_key, message.attempts, exc, delay)
            outbox.mark_retry(conn, message.id, error=str(exc), delay_s=delay)
            return
        outbox.mark_sent(conn, message.id)
        self.sent += 1

    def run_once(self) -> int:
        self.enqueue()
        return self.deliver_due()

    # -- thread -----------------------------------------------------------------------

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = self.run_once()
            except psycopg.OperationalError as exc:
                log.warning("notifier: database unavailable (%s); retrying", exc)
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                self._stopping.wait(RECONNECT_DELAY_S)
                continue
            except Exception:
                # A bug must not silence parents' notifications for the rest of the day.
                log.exception("notifier pass failed")
                busy = 0
            if not busy:
                self._stopping.wait(self.settings.poll_interval_s)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)
        if self._conn is not None:
            self._conn.close()
        self._client.close()
