"""The push's signature: made by the hub, checked by receivers (and by the tests). Pure.

``X-Smartschool-Signature: v1=<hex>`` is HMAC-SHA256, keyed by the endpoint's secret, of
``timestamp + "." + body``: the ``X-Smartschool-Timestamp`` header (Unix seconds, as
sent), a full stop, and the raw request body bytes. The timestamp is inside the MAC, so
a captured request cannot be replayed later under a fresh one; a receiver refuses
timestamps further than ``tolerance`` from its own clock. Each retry is signed anew (new
timestamp) over the same body with the same ``X-Smartschool-Delivery``.

``v1`` names the scheme, so a later one can be sent beside it; a receiver takes the
``v1=`` entries of a comma-separated header and accepts when any one matches.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from enum import Enum
from typing import Final

TIMESTAMP_HEADER: Final = "X-Smartschool-Timestamp"
SIGNATURE_HEADER: Final = "X-Smartschool-Signature"
DELIVERY_HEADER: Final = "X-Smartschool-Delivery"
KIND_HEADER: Final = "X-Smartschool-Kind"
SCHEME: Final = "v1"
DEFAULT_TOLERANCE_S: Final = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The header value: ``v1=`` and the hex HMAC-SHA256 of ``timestamp.body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def signed_headers(secret: str, *, body: bytes, timestamp: int, delivery_id: str,
                   kind: str) -> dict[str, str]:
    ts = str(timestamp)
    return {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: ts,
        SIGNATURE_HEADER: signature(secret, ts, body),
        DELIVERY_HEADER: delivery_id,
        # For receivers that deduplicate on the common header rather than ours.
        "Idempotency-Key": delivery_id,
        KIND_HEADER: kind,
    }


class Verdict(Enum):
    OK = "ok"
    MISSING = "missing"  # no timestamp or no signature header
    MALFORMED = "malformed"  # a timestamp that is not Unix seconds
    STALE = "stale"  # the timestamp is too far from the receiver's clock
    MISMATCH = "mismatch"  # wrong secret, or the body or timestamp was changed


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: float,
           tolerance_s: float = DEFAULT_TOLERANCE_S) -> Verdict:
    """Check a received push. ``headers`` in any letter case; ``body`` the raw bytes as
    received (not re-serialised JSON); ``now`` the receiver's Unix time."""
    lower = {k.lower(): v for k, v in headers.items()}
    ts = lower.get(TIMESTAMP_HEADER.lower())
    header = lower.get(SIGNATURE_HEADER.lower())
    if not ts or not header:
        return Verdict.MISSING
    if not ts.isdigit() or len(ts) > 12:
        return Verdict.MALFORMED
    if abs(now - int(ts)) > tolerance_s:
        return Verdict.STALE
    expected = signature(secret, ts, body)
    offered = [part.strip() for part in header.split(",")]
    # Bytes, not str: compare_digest refuses a non-ASCII str, and a header may hold one.
    if any(hmac.compare_digest(expected.encode(), part.encode()) for part in offered
           if part.startswith(f"{SCHEME}=")):
        return Verdict.OK
    return Verdict.MISMATCH
