"""Device tokens: how a gate proves who it is when it fetches its school's sync document.

``smartschool devices token DEVICE`` issues one; the hub keeps its SHA-256 only, so a
database dump holds nothing a gate could present. A new token replaces the old one (the
copy on a stolen SD card stops working when the school issues the gate a new one).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final

from hub.db import Conn

TOKEN_BYTES: Final = 32  # secrets.token_urlsafe(32): 43 characters, 256 bits
MAX_TOKEN_LEN: Final = 256  # a longer bearer value is not ours; refuse before hashing


# --- pure ---------------------------------------------------------------------------------


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """What the hub stores: SHA-256, hex. The token carries 256 random bits, so a plain
    hash is enough (no salt or slow KDF: nothing to guess, nothing to look up)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, stored_hash: str | None) -> bool:
    if stored_hash is None:
        return False
    return hmac.compare_digest(hash_token(token), stored_hash)


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > MAX_TOKEN_LEN:
        return None
    if not value.isascii() or not value.isprintable() or " " in value:
        return None
    return value


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    school: str
    role: str


def access_refusal(device: Device) -> str | None:
    """Why a device with a valid token still may not sync, or None."""
    if device.role != "gate":
        return (f"device {device.id} is a {device.role} device; only gates receive cards "
                "and faces")
    return None


# --- SQL ----------------------------------------------------------------------------------


def issue_token(conn: Conn, device: str) -> tuple[str, Device] | str:
    """A new token for a gate, its hash stored (the old one stops working): (token,
    device), or the reason it was refused."""
    with conn.transaction():
        row = conn.execute("select id, school_id, role from devices where id = %s for update",
                           (device,)).fetchone()
        if row is None:
            return f"no device {device!r} (register it with `smartschool devices add`)"
        found = Device(str(row[0]), str(row[1]), str(row[2]))
        refusal = access_refusal(found)
        if refusal is not None:
            return refusal
        token = new_token()
        conn.execute("update devices set token_hash = %s, token_issued_at = now() where id = %s",
                     (hash_token(token), device))
    return token, found


def device_for_token(conn: Conn, token: str) -> Device | None:
    row = conn.execute("select id, school_id, role, token_hash from devices"
                       " where token_hash = %s", (hash_token(token),)).fetchone()
    if row is None or not token_matches(token, row[3]):
        return None
    return Device(str(row[0]), str(row[1]), str(row[2]))
