"""Opaque feed cursors: a position in the change log, signed so a client cannot make one
up. Pure.

A cursor is ``base64url(version.xid.seq).mac``: the mac (HMAC-SHA256 under the API's
signing key, truncated to 16 bytes) lets the hub refuse an edited or invented cursor with
a 422 rather than silently start somewhere a consumer never was. The empty cursor (no
``since``) is the start of the log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Final

VERSION: Final = "c1"
MAX_LEN: Final = 200
_BODY = re.compile(r"c1\.([0-9]{1,20})\.([0-9]{1,20})")
_MAC_BYTES: Final = 16
_LIMIT: Final = 2**63  # xid8 and bigint both fit below it


class CursorError(ValueError):
    """A cursor the hub did not hand out (edited, truncated, from another hub)."""


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """The last change a consumer has seen: its transaction id and sequence number."""

    xid: int
    seq: int


START: Final = Position(0, 0)


def _mac(body: bytes, key: str, purpose: str) -> bytes:
    # The purpose keeps a cursor of one list from being replayed against another.
    msg = purpose.encode() + b"\x00" + body
    return hmac.new(key.encode(), msg, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(pos: Position, *, key: str, purpose: str = "feed") -> str:
    body = f"{VERSION}.{pos.xid}.{pos.seq}".encode()
    return f"{_b64(body)}.{_b64(_mac(body, key, purpose))}"


def _signed_body(cursor: str, *, key: str, purpose: str, altered: str) -> bytes:
    """The body of a cursor whose signature holds for ``purpose``, or CursorError."""
    if not cursor or len(cursor) > MAX_LEN or cursor.count(".") != 1:
        raise CursorError("not a cursor this hub handed out")
    body_text, mac_text = cursor.split(".")
    try:
        body, mac = _unb64(body_text), _unb64(mac_text)
    except (binascii.Error, ValueError) as exc:
        raise CursorError("not a cursor this hub handed out") from exc
    if not hmac.compare_digest(mac, _mac(body, key, purpose)):
        raise CursorError(altered)
    return body


def decode(cursor: str, *, key: str, purpose: str = "feed") -> Position:
    """The position a cursor names, or CursorError."""
    body = _signed_body(cursor, key=key, purpose=purpose,
                        altered="the cursor was altered or comes from elsewhere")
    found = _BODY.fullmatch(body.decode("ascii", errors="replace"))
    if found is None:
        raise CursorError("not a cursor this hub handed out")
    xid, seq = int(found.group(1)), int(found.group(2))
    if xid >= _LIMIT or seq >= _LIMIT:
        raise CursorError("not a cursor this hub handed out")
    return Position(xid, seq)


# Keyset cursors of the history lists (events, dead letters, notifications, alarms): the
# sort key of the last row shown, as JSON, signed the same way for its own list.
_KEYS_VERSION: Final = b"k1"
KeyValue = str | int


def encode_keys(values: tuple[KeyValue, ...], *, key: str, purpose: str) -> str:
    import json

    body = _KEYS_VERSION + json.dumps(list(values), separators=(",", ":")).encode()
    return f"{_b64(body)}.{_b64(_mac(body, key, purpose))}"


def decode_keys(cursor: str, *, key: str, purpose: str,
                types: tuple[type[KeyValue], ...]) -> tuple[KeyValue, ...]:
    """The sort key a list cursor names (as many values as ``types``, each of its type),
    or CursorError."""
    import json

    body = _signed_body(cursor, key=key, purpose=purpose,
                        altered="the cursor was altered or comes from another list")
    try:
        values = json.loads(body.removeprefix(_KEYS_VERSION)) if body.startswith(
            _KEYS_VERSION) else None
    except ValueError:
        values = None
    if (not isinstance(values, list) or len(values) != len(types)
            or not all(type(v) is t for v, t in zip(values, types, strict=True))):
        raise CursorError("not a cursor this hub handed out")
    return tuple(values)
