"""Single sign-on (issue 15): the sector's OpenID provider, its keys, and linked accounts.

- ``OidcConfig``: SMARTSCHOOL_OIDC_* checked once (None when no issuer is set).
- ``ProviderKeys``: discovery and the provider's published keys (JWKS), cached; a token
  signed with a key id the cache lacks makes it fetch the set again (key rotation), at
  most once per ``JWKS_MIN_REFRESH_S`` so that random key ids cannot turn every request
  into a fetch.
- ``verify_token``: the signature against those keys with the algorithm pinned, then
  hub.accounts.oidc_rules' claim checks.
- ``link_account``: a verified person -> their hub account (``users`` row), created on
  first sign-in and brought in line with the claims every time; the district's
  ``disabled`` switch wins over the provider.
- ``ProviderTokens``: the API's check of a bearer token the provider issued.
- The dashboard's provider sessions (migration 0022) and the refresh grant.

Decisions are in hub/accounts/oidc_rules.py (pure, table-tested); this module does the
HTTP and the SQL.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx

with warnings.catch_warnings():
    # authlib 1.9 marks its httpx integration deprecated in favour of the "httpx2" fork;
    # the hub uses httpx elsewhere, and the warning would greet every command's start.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import (  # type: ignore[import-untyped]
        OAuth2Client,
        OAuthError,
    )
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import import_key
from psycopg.types.json import Jsonb

from core.settings import Settings
from hub.accounts.auth import User, get_user
from hub.accounts.oidc_rules import (
    LEEWAY_S,
    Identity,
    MappingRefused,
    claims_problem,
    header_problem,
    is_provider_token,
    issuer_problem,
    map_claims,
    role_map_problem,
    username_for,
)
from hub.accounts.rules import KEEP, Changes, UsersError
from hub.accounts.users import get_account, school_exists, update_account
from hub.db import Conn

log = logging.getLogger(__name__)

HTTP_TIMEOUT_S: Final = 5.0
JWKS_MIN_REFRESH_S: Final = 30.0
# Keys are fetched again after this long even when every key id is known, so a key the
# provider withdrew stops being trusted.
JWKS_MAX_AGE_S: Final = 3600.0
# Never the result of hashing a password (hub.accounts.auth verifies it as no hash at
# all): a provider's account has no password in the hub.
NO_PASSWORD: Final = "!sso"  # noqa: S105 - a marker, not a secret
# When the provider does not say how long its access token lives, the dashboard reads
# the claims again after this long.
DEFAULT_REFRESH_S: Final = 300
MAX_TOKEN_LEN: Final = 16_384


class OidcError(Exception):
    """Single sign-on refused; the message is meant for the person (and the log)."""


class ProviderUnavailable(OidcError):
    """The provider could not be reached or answered nonsense."""


class TokenRefused(OidcError):
    """The token is not one the provider signed for us, or no longer valid."""


class AccountRefused(OidcError):
    """The provider vouched for the person, but the hub will not let them in."""


class RefreshRefused(OidcError):
    """The provider refused the refresh: the person's grant is revoked or expired."""


@dataclass(frozen=True, slots=True)
class OidcConfig:
    issuer: str
    client_id: str | None
    client_secret: str | None
    audience: str | None
    scopes: str
    role_claim: str
    school_claim: str
    role_map: Mapping[str, str]
    algorithms: tuple[str, ...]
    redirect_uri: str | None

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcConfig | None:
        """None without an issuer; ValueError naming the setting when it is unusable."""
        if not settings.oidc_issuer:
            return None
        if problem := issuer_problem(settings.oidc_issuer) or role_map_problem(
                settings.oidc_role_map):
            raise ValueError(problem)
        if not settings.oidc_role_map:
            raise ValueError("SMARTSCHOOL_OIDC_ROLE_MAP is empty: nobody would get a role")
        secret = None
        if settings.oidc_client_secret_file is not None:
            secret = _read_secret(settings.oidc_client_secret_file)
        return cls(
            issuer=settings.oidc_issuer, client_id=settings.oidc_client_id,
            client_secret=secret, audience=settings.oidc_audience,
            scopes=settings.oidc_scopes, role_claim=settings.oidc_role_claim,
            school_claim=settings.oidc_school_claim, role_map=dict(settings.oidc_role_map),
            algorithms=tuple(settings.oidc_algorithms),
            redirect_uri=settings.oidc_redirect_uri,
        )

    def identity(self, claims: Mapping[str, object]) -> Identity:
        return map_claims(claims, issuer=self.issuer, role_claim=self.role_claim,
                          school_claim=self.school_claim, role_map=self.role_map)


def _read_secret(path: Path) -> str:
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"SMARTSCHOOL_OIDC_CLIENT_SECRET_FILE {path}: {exc.strerror}") from None
    if not secret:
        raise ValueError(f"SMARTSCHOOL_OIDC_CLIENT_SECRET_FILE {path} is empty")
    return secret


# --- the provider's keys ---------------------------------------------------------------


class ProviderKeys:
    """Discovery and JWKS of one issuer, cached; thread-safe."""

    def __init__(self, issuer: str, *, timeout: float = HTTP_TIMEOUT_S,
                 min_refresh_s: float = JWKS_MIN_REFRESH_S,
                 max_age_s: float = JWKS_MAX_AGE_S) -> None:
        self.issuer = issuer
        self.timeout = timeout
        self.min_refresh_s = min_refresh_s
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: list[dict[str, Any]] = []
        self._fetched_at: float | None = None
        self.fetches = 0  # JWKS downloads, for the tests and the log

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            return self._load_metadata()

    def _load_metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            found = self._get_json(url)
            if found.get("issuer") != self.issuer:
                raise ProviderUnavailable(f"the provider at {url} calls itself "
                                          f"{found.get('issuer')!r}, not {self.issuer}")
            if not isinstance(found.get("jwks_uri"), str):
                raise ProviderUnavailable(f"{url} has no jwks_uri")
            self._metadata = found
        return self._metadata

    def candidates(self, kid: str | None, alg: str) -> list[dict[str, Any]]:
        """The published keys that may have signed a token with this header; fetched
        again when none matches (rotation) or the set is old."""
        with self._lock:
            now = time.monotonic()
            stale = self._fetched_at is None or now - self._fetched_at > self.max_age_s
            found = [] if stale else self._matching(kid, alg)
            if not found and (self._fetched_at is None
                              or now - self._fetched_at >= self.min_refresh_s):
                self._refresh(now)
                found = self._matching(kid, alg)
            return found

    def _refresh(self, now: float) -> None:
        uri = self._load_metadata()["jwks_uri"]
        body = self._get_json(uri)
        keys = body.get("keys")
        if not isinstance(keys, list):
            raise ProviderUnavailable(f"{uri} holds no key set")
        self._keys = [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"]
        self._fetched_at = now
        self.fetches += 1
        log.info("fetched %d signing keys of %s", len(self._keys), self.issuer)

    def _matching(self, kid: str | None, alg: str) -> list[dict[str, Any]]:
        kty = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}.get(alg[:2])
        return [k for k in self._keys
                if (kid is None or k.get("kid") == kid) and k.get("kty") == kty
                and k.get("alg", alg) == alg]

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            answer = httpx.get(url, timeout=self.timeout, follow_redirects=False)
            answer.raise_for_status()
            body = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"the identity provider cannot be reached ({url}): "
                                      f"{exc}") from exc
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"{url} did not answer a JSON object")
        return body


def _segment(part: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenRefused("malformed token") from exc
    if not isinstance(value, dict):
        raise TokenRefused("malformed token")
    return value


def unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims as written, NOT verified: only for choosing the check."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > MAX_TOKEN_LEN:
        raise TokenRefused("malformed token")
    return _segment(parts[0]), _segment(parts[1])


def verify_token(token: str, keys: ProviderKeys, *, audience: str,
                 algorithms: tuple[str, ...], now: float | None = None,
                 leeway: float = LEEWAY_S) -> dict[str, Any]:
    """The claims of a token the provider signed for ``audience``; TokenRefused otherwise."""
    header, _ = unverified_parts(token)
    if problem := header_problem(header, algorithms):
        raise TokenRefused(problem)
    alg = str(header["alg"])
    kid = header.get("kid")
    candidates = keys.candidates(kid if isinstance(kid, str) else None, alg)
    if not candidates:
        raise TokenRefused("the token is signed with a key the provider does not publish")
    claims: dict[str, Any] | None = None
    for jwk in candidates:
        try:
            decoded = jwt.decode(token, import_key(jwk), algorithms=[alg])
        except JoseError:
            continue
        claims = dict(decoded.claims)
        break
    if claims is None:
        raise TokenRefused("bad signature: the token was altered or not signed by the provider")
    if problem := claims_problem(claims, issuer=keys.issuer, audience=audience,
                                 now=time.time() if now is None else now, leeway=leeway):
        raise TokenRefused(problem)
    return claims


# --- linked accounts -------------------------------------------------------------------


def link_account(conn: Conn, identity: Identity) -> User:
    """The hub account of a person the provider signed in: created the first time,
    its role, school and name set from the claims every time. AccountRefused when the
    account is disabled in the hub or the claims name what the hub cannot take."""
    try:
        with conn.transaction():
            username = _link(conn, identity)
    except UsersError as exc:
        raise AccountRefused(str(exc)) from exc
    user = get_user(conn, username=username)
    if user is None:  # deleted in the instant since
        raise AccountRefused("the account is gone")
    return user


def _link(conn: Conn, identity: Identity) -> str:
    seen = Jsonb({"roles": list(identity.provider_roles), "school": identity.school})
    row = conn.execute(
        "select username from oidc_accounts where issuer = %s and subject = %s for update",
        (identity.issuer, identity.subject),
    ).fetchone()
    if identity.school is not None and not school_exists(conn, identity.school):
        raise AccountRefused(f"school {identity.school!r} is not known to the hub")
    if row is not None:
        username: str = row[0]
        before = get_account(conn, username, lock=True)
        if before is None:
            raise AccountRefused("the linked account is gone")
        if before.disabled:
            raise AccountRefused(f"the account {username} is disabled in the hub")
        name = identity.full_name if identity.full_name is not None else KEEP
        if (before.role, before.school) != (identity.role, identity.school) or (
                identity.full_name is not None and identity.full_name != before.full_name):
            update_account(conn, username, Changes(role=identity.role, school=identity.school,
                                                   full_name=name))
            log.info("single sign-on: %s is now %s of %s (was %s of %s)", username,
                     identity.role, identity.school, before.role, before.school)
        # Not on every API request: when the claims changed, else once a minute.
        conn.execute("update oidc_accounts set claims = %s, last_seen = now()"
                     " where issuer = %s and subject = %s"
                     " and (claims <> %s or last_seen < now() - interval '1 minute')",
                     (seen, identity.issuer, identity.subject, seen))
        return username
    preferred = identity.preferred_username
    taken = preferred is not None and conn.execute(
        "select 1 from users where lower(username) = lower(%s)", (preferred,)).fetchone() \
        is not None
    username = username_for(identity, taken=taken)
    conn.execute(
        "insert into users (username, password_hash, role, school_id, full_name)"
        " values (%s, %s, %s, %s, %s)",
        (username, NO_PASSWORD, identity.role, identity.school, identity.full_name),
    )
    conn.execute("insert into oidc_accounts (issuer, subject, username, claims)"
                 " values (%s, %s, %s, %s)",
                 (identity.issuer, identity.subject, username, seen))
    log.info("single sign-on: new account %s (%s of %s) for %s", username, identity.role,
             identity.school, identity.subject)
    return username


def subject_of(conn: Conn, username: str) -> tuple[str, str] | None:
    row = conn.execute("select issuer, subject from oidc_accounts where username = %s",
                       (username,)).fetchone()
    return None if row is None else (row[0], row[1])


# --- the API's bearer tokens -------------------------------------------------------------


class ProviderTokens:
    """The API's check of the provider's access tokens (SMARTSCHOOL_OIDC_AUDIENCE)."""

    def __init__(self, config: OidcConfig, audience: str,
                 keys: ProviderKeys | None = None) -> None:
        self.config = config
        self.audience = audience
        self.keys = keys or ProviderKeys(config.issuer)
        self.leeway: float = LEEWAY_S

    @classmethod
    def from_settings(cls, settings: Settings) -> ProviderTokens | None:
        config = OidcConfig.from_settings(settings)
        if config is None or not config.audience:
            return None
        return cls(config, config.audience)

    def claims_this(self, token: str) -> bool:
        """Whether this bearer token is for the provider's check (else the hub's own)."""
        try:
            header, claims = unverified_parts(token)
        except TokenRefused:
            return False
        return is_provider_token(header, claims, self.config.issuer)

    def user(self, conn: Conn, token: str) -> User:
        claims = verify_token(token, self.keys, audience=self.audience,
                              algorithms=self.config.algorithms, leeway=self.leeway)
        try:
            identity = self.config.identity(claims)
        except MappingRefused as exc:
            raise AccountRefused(str(exc)) from exc
        return link_account(conn, identity)


# --- the dashboard's provider sessions -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenSet:
    id_token: str | None
    refresh_token: str | None
    expires_in: int | None

    def refresh_due(self, now: datetime | None = None) -> datetime:
        seconds = self.expires_in if self.expires_in and self.expires_in > 0 \
            else DEFAULT_REFRESH_S
        return (now or datetime.now(UTC)) + timedelta(seconds=min(seconds, DEFAULT_REFRESH_S))

    @classmethod
    def of(cls, token: Mapping[str, Any]) -> TokenSet:
        expires = token.get("expires_in")
        return cls(id_token=token.get("id_token"), refresh_token=token.get("refresh_token"),
                   expires_in=int(expires) if isinstance(expires, int | float | str)
                   and str(expires).isdigit() else None)


def refresh_tokens(config: OidcConfig, keys: ProviderKeys, refresh_token: str) -> TokenSet:
    """The refresh grant; RefreshRefused when the provider says no (revoked, expired)."""
    endpoint = keys.metadata().get("token_endpoint")
    if not isinstance(endpoint, str):
        raise ProviderUnavailable("the provider publishes no token endpoint")
    try:
        with OAuth2Client(client_id=config.client_id, client_secret=config.client_secret,
                          timeout=HTTP_TIMEOUT_S) as client:
            token = client.refresh_token(endpoint, refresh_token=refresh_token)
    except OAuthError as exc:
        raise RefreshRefused(f"the provider refused the refresh: {exc.error}"
                             f"{': ' + exc.description if exc.description else ''}") from exc
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"the identity provider cannot be reached: {exc}") from exc
    return TokenSet.of(token)


def revoke_refresh_token(config: OidcConfig, keys: ProviderKeys, refresh_token: str) -> bool:
    """Sign-out: the provider forgets the refresh token (RFC 7009), so a copy of it is
    worth nothing. False when the provider has no revocation endpoint or refused."""
    endpoint = keys.metadata().get("revocation_endpoint")
    if not isinstance(endpoint, str):
        return False
    try:
        with OAuth2Client(client_id=config.client_id, client_secret=config.client_secret,
                          timeout=HTTP_TIMEOUT_S) as client:
            answer = client.revoke_token(endpoint, token=refresh_token,
                                         token_type_hint="refresh_token")  # noqa: S106
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"the identity provider cannot be reached: {exc}") from exc
    return bool(answer.status_code == httpx.codes.OK)


@dataclass(frozen=True, slots=True)
class ProviderSession:
    id: str
    username: str
    refresh_token: str | None
    refresh_due: datetime


def start_session(conn: Conn, *, session_id: str, username: str, tokens: TokenSet) -> None:
    conn.execute("insert into oidc_sessions (id, username, refresh_token, refresh_due)"
                 " values (%s, %s, %s, %s)",
                 (session_id, username, tokens.refresh_token, tokens.refresh_due()))


def locked_session(conn: Conn, session_id: str) -> ProviderSession | None:
    """The session row, locked until the caller's transaction ends: two callbacks of one
    browser must not both spend a rotating refresh token (the second would be refused,
    and a provider may then revoke the whole grant)."""
    row = conn.execute("select id, username, refresh_token, refresh_due from oidc_sessions"
                       " where id = %s for update", (session_id,)).fetchone()
    return None if row is None else ProviderSession(*row)


def renew_session(conn: Conn, session_id: str, tokens: TokenSet, previous: str | None) -> None:
    conn.execute("update oidc_sessions set refresh_token = %s, refresh_due = %s where id = %s",
                 (tokens.refresh_token or previous, tokens.refresh_due(), session_id))


def purge_sessions(conn: Conn, *, older_than: timedelta) -> int:
    """Provider sessions whose dashboard session has run out (its cookie lasts at most
    the sign-in lifetime): their refresh tokens are not kept past it."""
    done = conn.execute("delete from oidc_sessions where created_at < now() - %s",
                        (older_than,))
    return done.rowcount


def end_session(conn: Conn, session_id: str) -> str | None:
    """Delete the session; its refresh token, for revoking at the provider."""
    row = conn.execute("delete from oidc_sessions where id = %s returning refresh_token",
                       (session_id,)).fetchone()
    return None if row is None else row[0]
