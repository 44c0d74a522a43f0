"""Channel adapters: one HTTP POST each, configured by a URL and a secret.

Every request carries the outbox row's idempotency key (``Idempotency-Key``), so a
receiver can drop the rare duplicate an at-least-once sender produces (a worker that
dies between the POST and recording it as sent).

The webhook's signature is not an HMAC of the body alone: ``X-Smartschool-Signature``
is ``sha256=`` and the hex HMAC-SHA256, keyed by SMARTSCHOOL_NOTIFY_WEBHOOK_SECRET, of
``ts + "." + body``, where ``ts`` is the ``X-Smartschool-Timestamp`` header (Unix
seconds, as sent) and ``body`` the raw request body. A receiver recomputes it over
exactly those bytes, compares in constant time, and refuses a timestamp older than a
few minutes: that is what stops a captured request from being replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import httpx

from hub.notify.settings import NotifySettings

SIGNATURE_HEADER: Final = "X-Smartschool-Signature"
TIMESTAMP_HEADER: Final = "X-Smartschool-Timestamp"
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
USER_AGENT: Final = "smartschool-notifier/1"


class DeliveryError(Exception):
    """A send failed; ``retryable`` False means trying again cannot help (a 4xx)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class Outgoing:
    idempotency_key: str
    kind: str
    payload: Mapping[str, Any]

    @property
    def text(self) -> str:
        return str(self.payload["text"])

    @property
    def recipient(self) -> Mapping[str, Any]:
        r = self.payload.get("recipient") or {}
        assert isinstance(r, Mapping)
        return r


class Adapter(Protocol):
    channel: str

    def send(self, message: Outgoing) -> None:
        """Deliver or raise DeliveryError."""


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``timestamp + "." + body``: the timestamp is
    signed too, so a captured request cannot be replayed later with a fresh one."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _post(
    client: httpx.Client, url: str, *, content: bytes, headers: dict[str, str]
) -> httpx.Response:
    try:
        response = client.post(url, content=content, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
    if response.status_code >= 300:
        # 408 and 429 ask us to come back later; other 4xx will not change on a retry.
        retryable = response.status_code >= 500 or response.status_code in (408, 429)
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}",
                            retryable=retryable)
    return response


def _json(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookAdapter:
    channel = "webhook"

    def __init__(self, client: httpx.Client, *, url: str, secret: str) -> None:
        self.client, self.url, self.secret = client, url, secret.encode()

    def send(self, message: Outgoing) -> None:
        body = _json({"idempotency_key": message.idempotency_key, **message.payload})
        ts = str(int(time.time()))
        # A staff account may have a webhook of its own (users.webhook_url, set by an
        # admin); everyone else's messages go to the district's one.
        url = str(message.recipient.get("webhook_url") or self.url)
        _post(self.client, url, content=body, headers={
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: ts,
            SIGNATURE_HEADER: sign(self.secret, ts, body),
            IDEMPOTENCY_HEADER: message.idempotency_key,
        })


class ZaloAdapter:
    """Zalo OA-style: ``{recipient: {user_id}, message: {text}}`` with an ``access_token``
    header; the API answers 200 with ``{"error": 0}`` on success, non-zero on failure."""

    channel = "zalo"

    def __init__(self, client: httpx.Client, *, url: str, token: str) -> None:
        self.client, self.url, self.token = client, url, token

    def send(self, message: Outgoing) -> None:
        user_id = message.recipient.get("address")
        if not user_id:
            raise DeliveryError("guardian has no Zalo user id", retryable=False)
        body = _json({"recipient": {"user_id": user_id}, "message": {"text": message.text}})
        response = _post(self.client, self.url, content=body, headers={
            "Content-Type": "application/json; charset=utf-8",
            "access_token": self.token,
            IDEMPOTENCY_HEADER: message.idempotency_key,
        })
        try:
            error = response.json().get("error", 0)
        except (ValueError, AttributeError):
            error = 0  # a gateway that answers 2xx without a JSON body accepted it
        if error:
            raise DeliveryError(f"Zalo error {error}: {response.text[:200]}", retryable=False)


class SmsAdapter:
    channel = "sms"

    def __init__(self, client: httpx.Client, *, url: str, key: str) -> None:
        self.client, self.url, self.key = client, url, key

    def send(self, message: Outgoing) -> None:
        phone = message.recipient.get("phone")
        if not phone:
            raise DeliveryError("guardian has no phone number", retryable=False)
        body = _json({"phone": phone, "text": message.text, "ref": message.idempotency_key})
        _post(self.client, self.url, content=body, headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-API-Key": self.key,
            IDEMPOTENCY_HEADER: message.idempotency_key,
        })


def build_adapters(settings: NotifySettings, client: httpx.Client) -> dict[str, Adapter]:
    """The configured channels; a channel without URL and secret is left out."""
    adapters: dict[str, Adapter] = {}
    if settings.webhook_url and settings.webhook_secret:
        adapters["webhook"] = WebhookAdapter(
            client, url=settings.webhook_url, secret=settings.webhook_secret.get_secret_value())
    if settings.zalo_url and settings.zalo_token:
        adapters["zalo"] = ZaloAdapter(
            client, url=settings.zalo_url, token=settings.zalo_token.get_secret_value())
    if settings.sms_url and settings.sms_key:
        adapters["sms"] = SmsAdapter(
            client, url=settings.sms_url, key=settings.sms_key.get_secret_value())
    return adapters
