"""API accounts: argon2 password hashes, signed bearer tokens, the built-in admin.

No FastAPI here: the HTTP layer (hub/api) calls these, and so can the CLI and the demo.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg.rows import class_row
from pydantic import BaseModel, ConfigDict

from core.settings import Settings
from hub.access import ACCOUNT_ROLES, SCHOOL_SCOPED_ROLES, Role
from hub.accounts.rules import (
    MAX_PASSWORD_LEN,
    admin_password_problem,
    secret_key_problem,
    valid_username,
)
from hub.db import Conn

ADMIN_USERNAME: Final = "admin"
TOKEN_ALGORITHM: Final = "HS256"  # noqa: S105 - an algorithm name
SECRET_FILE_NAME: Final = "secret_key"  # noqa: S105 - a file name
GENERATED_PASSWORD_BYTES: Final = 12
SECRET_KEY_BYTES: Final = 48
PASSWORD_VERSION_CLAIM: Final = "pwv"  # noqa: S105 - a claim name

# Failed logins allowed per (username, client) within the window before 429.
LOGIN_MAX_FAILURES: Final = 5
LOGIN_WINDOW_S: Final = 60.0
# Bounds the limiter's memory when someone sprays random usernames.
LOGIN_MAX_TRACKED_KEYS: Final = 10_000

_hasher = PasswordHasher()
# Verified against when the username does not exist, so a miss costs as much as a wrong
# password and response time does not reveal which accounts exist.
_DUMMY_HASH: Final = _hasher.hash(secrets.token_urlsafe(16))


class User(BaseModel):
    model_config = ConfigDict(frozen=True)

    username: str
    password_hash: str
    role: str
    school_id: str | None
    full_name: str | None
    disabled: bool
    # Bumped by every password change; tokens issued under another value are refused.
    password_version: int = 0

    @property
    def school_scoped(self) -> bool:
        return self.role in SCHOOL_SCOPED_ROLES


@dataclass(frozen=True, slots=True)
class TokenClaims:
    username: str
    expires_at: datetime
    password_version: int = 0  # tokens issued before the claim existed count as 0


class WeakSecretError(ValueError):
    """A configured secret (signing key, admin password) is too weak to start with."""


class InvalidTokenError(Exception):
    """The token is malformed, badly signed or expired; the message says which."""


# --- passwords -------------------------------------------------------------------------


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def generate_password() -> str:
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


# --- tokens ----------------------------------------------------------------------------


def load_or_create_secret(settings: Settings) -> str:
    """The token signing key: from settings, else a key generated once into the data dir.

    The file is created with O_EXCL so two processes starting together agree on one key.
    """
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value()
        if problem := secret_key_problem(key):
            raise WeakSecretError(problem)
        return key
    path = Path(settings.data_dir) / SECRET_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text(encoding="utf-8").strip()
        if not secret:
            raise RuntimeError(
                f"{path} is empty: delete it to generate a new key, or set SMARTSCHOOL_SECRET_KEY"
            ) from None
        return secret
    secret = secrets.token_urlsafe(SECRET_KEY_BYTES)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret + "\n")
    return secret


def create_token(*, username: str, secret: str, ttl: timedelta, now: datetime | None = None,
                 password_version: int = 0) -> str:
    issued = now or datetime.now(UTC)
    claims = {"sub": username, "iat": issued, "exp": issued + ttl,
              PASSWORD_VERSION_CLAIM: password_version}
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM)


def decode_token(token: str, *, secret: str, now: datetime | None = None) -> TokenClaims:
    options: jwt.types.Options = {"require": ["sub", "exp"]}
    try:
        if now is None:
            payload = jwt.decode(token, secret, algorithms=[TOKEN_ALGORITHM], options=options)
        else:
            # pyjwt checks expiry against the wall clock; tests pass `now` to check it.
            payload = jwt.decode(
                token,
                secret,
                algorithms=[TOKEN_ALGORITHM],
                options={**options, "verify_exp": False},
            )
            if payload["exp"] <= now.timestamp():
                raise jwt.ExpiredSignatureError("Signature has expired")
    except jwt.ExpiredSignatureError as exc:
        raise InvalidTokenError("token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(f"invalid token: {exc}") from exc
    sub = payload.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidTokenError("invalid token: no subject")
    version = payload.get(PASSWORD_VERSION_CLAIM, 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidTokenError("invalid token: bad password version")
    return TokenClaims(username=sub, expires_at=datetime.fromtimestamp(payload["exp"], UTC),
                       password_version=version)


def token_current(claims: TokenClaims, user: User) -> bool:
    """The token was issued under the account's present password."""
    return claims.password_version == user.password_version


# --- accounts --------------------------------------------------------------------------


def get_user(conn: Conn, *, username: str) -> User | None:
    if not valid_username(username):
        return None
    with conn.cursor(row_factory=class_row(User)) as cur:
        cur.execute(
            "select username, password_hash, role, school_id, full_name, disabled,"
            " password_version from users where username = %s",
            (username,),
        )
        return cur.fetchone()


def create_user(
    conn: Conn,
    *,
    username: str,
    password: str,
    role: Role,
    school_id: str | None = None,
    full_name: str | None = None,
) -> User:
    if not valid_username(username):
        raise ValueError(f"username {username!r}: letters, digits and ._@- only, at most 64")
    if role not in ACCOUNT_ROLES:
        raise ValueError(f"role {role!r}: one of {', '.join(sorted(ACCOUNT_ROLES))}")
    if role in SCHOOL_SCOPED_ROLES and school_id is None:
        raise ValueError(f"role {role} acts for one school: give its school_id")
    if not password or len(password) > MAX_PASSWORD_LEN:
        raise ValueError(f"password must be 1 to {MAX_PASSWORD_LEN} characters")
    with conn.cursor(row_factory=class_row(User)) as cur:
        cur.execute(
            "insert into users (username, password_hash, role, school_id, full_name)"
            " values (%s, %s, %s, %s, %s)"
            " returning username, password_hash, role, school_id, full_name, disabled,"
            " password_version",
            (username, hash_password(password), role, school_id, full_name),
        )
        row = cur.fetchone()
    conn.commit()
    assert row is not None  # insert ... returning yields its row or raises
    return row


def set_password(conn: Conn, *, username: str, password: str, changed: bool = True) -> None:
    """Store a new hash. ``changed`` (a new password, not a rehash of the same one) also
    bumps the password version, which ends the account's tokens and sessions."""
    conn.execute(
        "update users set password_hash = %s,"
        " password_version = password_version + %s where username = %s",
        (hash_password(password), 1 if changed else 0, username),
    )
    conn.commit()


def ensure_admin(conn: Conn, *, password: str | None) -> str | None:
    """Make sure the `admin` account exists; return a password only if one was generated.

    A given password (SMARTSCHOOL_ADMIN_PASSWORD) is authoritative: an existing admin's
    hash is replaced, so changing the setting and restarting resets the password.
    """
    if password is not None and (problem := admin_password_problem(password)):
        raise WeakSecretError(problem)
    existing = get_user(conn, username=ADMIN_USERNAME)
    if existing is not None:
        if password is not None and not verify_password(existing.password_hash, password):
            set_password(conn, username=ADMIN_USERNAME, password=password)
        return None
    generated = None
    if password is None:
        generated = password = generate_password()
    # Two hub processes starting together may both get here; the loser keeps the winner's.
    conn.execute(
        "insert into users (username, password_hash, role, full_name)"
        " values (%s, %s, 'district_admin', 'Administrator') on conflict (username) do nothing",
        (ADMIN_USERNAME, hash_password(password)),
    )
    conn.commit()
    return generated


def authenticate(conn: Conn, *, username: str, password: str) -> User | None:
    if len(password) > MAX_PASSWORD_LEN:
        return None
    user = get_user(conn, username=username)
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or user.disabled:
        return None
    if needs_rehash(user.password_hash):
        set_password(conn, username=user.username, password=password, changed=False)
    return user


# --- failed-login throttle -------------------------------------------------------------


class LoginRateLimiter:
    """Sliding-window count of failed logins per key, in memory (one per API process).

    Per process is enough to stop online guessing from one client; several API replicas
    each allow their own quota, which still keeps guessing to a handful a minute.
    """

    def __init__(
        self,
        *,
        max_failures: int = LOGIN_MAX_FAILURES,
        window_s: float = LOGIN_WINDOW_S,
        max_keys: int = LOGIN_MAX_TRACKED_KEYS,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_keys = max_keys
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: tuple[str, str], *, now: float | None = None) -> float:
        """Seconds until this key may try again; 0 when it may try now."""
        t = time.monotonic() if now is None else now
        with self._lock:
            window = self._failures.get(key)
            if window is None:
                return 0.0
            self._expire(window, t)
            if len(window) < self.max_failures:
                return 0.0
            # Allowed again once enough failures leave the window to drop below the limit.
            pivot = window[len(window) - self.max_failures]
            return max(pivot + self.window_s - t, 0.0)

    def record_failure(self, key: tuple[str, str], *, now: float | None = None) -> None:
        t = time.monotonic() if now is None else now
        with self._lock:
            if key not in self._failures and len(self._failures) >= self.max_keys:
                self._prune(t)
                if len(self._failures) >= self.max_keys:
                    # Still full of live keys: drop the oldest rather than grow without bound.
                    self._failures.pop(next(iter(self._failures)))
            window = self._failures.setdefault(key, deque())
            self._expire(window, t)
            window.append(t)

    def reset(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _expire(self, window: deque[float], now: float) -> None:
        while window and window[0] <= now - self.window_s:
            window.popleft()

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            window = self._failures[key]
            self._expire(window, now)
            if not window:
                del self._failures[key]
