"""Device tokens: how a gate proves who it is when it fetches its school's sync document.

``smartschool devices token DEVICE`` issues one; the hub keeps its SHA-256 only, so a
database dump holds nothing a gate could present. A new token replaces the old one (the
copy on a stolen SD card stops working when the school issues the gate a new one).

A token carries capabilities fixed when it is issued (``cards``; ``faces`` only for a
face gate), expires (SMARTSCHOOL_DEVICE_TOKEN_DAYS) and can be revoked
(``revoke_token``: decommissioning). The sync API grants what the token carries and the
device still may: a card-only gate's token never opens the face gallery.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from hub.db import Conn

TOKEN_BYTES: Final = 32  # secrets.token_urlsafe(32): 43 characters, 256 bits
MAX_TOKEN_LEN: Final = 256  # a longer bearer value is not ours; refuse before hashing
CARDS: Final = "cards"
FACES: Final = "faces"


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
    face: bool = False


def device_capabilities(device: Device) -> frozenset[str]:
    """What a device may fetch: a gate its cards, a face gate its gallery too."""
    if device.role != "gate":
        return frozenset()
    return frozenset({CARDS, FACES}) if device.face else frozenset({CARDS})


def access_refusal(device: Device) -> str | None:
    """Why a device with a valid token still may not sync, or None."""
    if device.role != "gate":
        return (f"device {device.id} is a {device.role} device; only gates receive cards "
                "and faces")
    return None


@dataclass(frozen=True, slots=True)
class Grant:
    """A presented token as the hub recorded it."""

    device: Device
    capabilities: frozenset[str]  # as issued
    expires_at: datetime | None  # None: issued before tokens expired and never migrated
    revoked_at: datetime | None

    @property
    def effective(self) -> frozenset[str]:
        """What the token opens now: what it was issued for and the device still may."""
        return self.capabilities & device_capabilities(self.device)


def grant_refusal(grant: Grant, now: datetime) -> str | None:
    """Why a known token no longer authenticates (answered 401), or None."""
    if grant.revoked_at is not None:
        return (f"the token of device {grant.device.id} was revoked on "
                f"{grant.revoked_at:%Y-%m-%d %H:%M %Z}".rstrip())
    if grant.expires_at is None or now >= grant.expires_at:
        when = f" on {grant.expires_at:%Y-%m-%d}" if grant.expires_at else ""
        return (f"the token of device {grant.device.id} expired{when}: issue a new one "
                "with `smartschool devices token DEVICE`")
    return None


def capability_refusal(grant: Grant, capability: str) -> str | None:
    """Why the token may not fetch ``capability`` (answered 403), or None."""
    if capability in grant.effective:
        return None
    if capability == FACES and not grant.device.face:
        return (f"device {grant.device.id} is a card-only gate: its token never receives "
                "face encodings (ask with gallery=false; a face gate is registered with "
                "`smartschool devices add ... --face` and issued a new token)")
    return (f"the token of device {grant.device.id} was not issued for {capability}: issue "
            "a new one with `smartschool devices token DEVICE`")


# --- SQL ----------------------------------------------------------------------------------


def _token_days() -> int:
    from core.settings import get_settings

    return get_settings().device_token_days


def issue_token(conn: Conn, device: str, *, days: int | None = None) -> tuple[str, Device] | str:
    """A new token for a gate, its hash stored (the old one stops working): (token,
    device), or the reason it was refused. It carries the device's capabilities and
    lives ``days`` (default SMARTSCHOOL_DEVICE_TOKEN_DAYS)."""
    lifetime = timedelta(days=days if days is not None else _token_days())
    with conn.transaction():
        row = conn.execute("select id, school_id, role, face from devices where id = %s"
                           " for update", (device,)).fetchone()
        if row is None:
            return f"no device {device!r} (register it with `smartschool devices add`)"
        found = Device(str(row[0]), str(row[1]), str(row[2]), bool(row[3]))
        refusal = access_refusal(found)
        if refusal is not None:
            return refusal
        token = new_token()
        conn.execute(
            "update devices set token_hash = %s, token_issued_at = now(),"
            " token_capabilities = %s, token_expires_at = now() + %s,"
            " token_revoked_at = null where id = %s",
            (hash_token(token), sorted(device_capabilities(found)), lifetime, device))
    return token, found


def revoke_token(conn: Conn, device: str) -> bool:
    """Revoke the device's token (decommissioning, a stolen gate): it answers 401 from
    now on. True if there was a live token to revoke. The hash is kept, so the gate is
    told its token was revoked rather than that it is unknown."""
    with conn.transaction():
        cur = conn.execute("update devices set token_revoked_at = now() where id = %s"
                           " and token_hash is not null and token_revoked_at is null",
                           (device,))
        return cur.rowcount > 0


def grant_for_token(conn: Conn, token: str) -> Grant | None:
    """The recorded grant of a presented token (expired and revoked ones included), or
    None if no device holds it."""
    row = conn.execute(
        "select id, school_id, role, face, token_hash, token_capabilities,"
        " token_expires_at, token_revoked_at from devices where token_hash = %s",
        (hash_token(token),)).fetchone()
    if row is None or not token_matches(token, row[4]):
        return None
    return Grant(Device(str(row[0]), str(row[1]), str(row[2]), bool(row[3])),
                 frozenset(row[5] or ()), row[6], row[7])


def device_for_token(conn: Conn, token: str, now: datetime | None = None) -> Device | None:
    """The device of a token that authenticates now (not expired, not revoked), or None."""
    grant = grant_for_token(conn, token)
    if grant is None:
        return None
    return None if grant_refusal(grant, now or datetime.now(UTC)) else grant.device
