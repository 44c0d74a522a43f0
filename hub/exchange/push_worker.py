"""The push worker: the notification worker on the outbox channel ``exchange``.

It is hub.notify.worker.NotificationWorker with two changes: its pass enqueues what the
push schedule says is due (hub/exchange/push.py) instead of parents' and staff messages,
and its one adapter signs and POSTs a delivery to its endpoint. Claiming (skip locked,
a lease), retries with exponential backoff and jitter, and giving up after
``max_attempts`` (dead) are that worker's, unchanged. The parents' notifier never claims
these rows: it claims only the channels it has adapters for.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

import httpx

from hub.exchange import push
from hub.exchange.push_settings import PushSettings
from hub.exchange.push_signing import signed_headers
from hub.notify.adapters import DeliveryError, Outgoing, _post
from hub.notify.worker import NotificationWorker

USER_AGENT: Final = "smartschool-exchange/1"


class PushAdapter:
    """Sends one stored delivery: the same body and delivery id on every try, a fresh
    timestamp and signature each time (hub/exchange/push_signing.py)."""

    channel = push.CHANNEL

    def __init__(self, client: httpx.Client, *, target: Callable[[int], push.Target | None],
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.client, self.target, self.wall_clock = client, target, wall_clock

    def send(self, message: Outgoing) -> None:
        found = self.target(int(message.payload["endpoint_id"]))
        if found is None:
            raise DeliveryError(push.REMOVED, retryable=False)
        body = str(message.payload["body"]).encode()
        headers = signed_headers(found.secret, body=body, timestamp=int(self.wall_clock()),
                                 delivery_id=message.idempotency_key, kind=message.kind)
        headers["User-Agent"] = USER_AGENT
        _post(self.client, found.url, content=body, headers=headers)


class ExchangePushWorker(NotificationWorker):
    def __init__(
        self,
        database_url: str,
        *,
        settings: PushSettings,
        tz: ZoneInfo,
        clock: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(database_url, settings=settings.outbox_settings(), tz=tz,
                         adapters={}, clock=clock, rng=rng)
        self.name = "exchange-push"
        self.push_settings = settings
        self.adapters = {push.CHANNEL: PushAdapter(self._client, target=self._endpoint_target)}
        self.enqueued = 0

    # Not _target: threading.Thread keeps its run target under that name.
    def _endpoint_target(self, endpoint_id: int) -> push.Target | None:
        return push.target(self._connection(), endpoint_id)

    def enqueue(self) -> int:
        made = push.enqueue_due(self._connection(), now=self.clock(), tz=self.tz,
                                settings=self.push_settings)
        self.enqueued += len(made)
        return len(made)
