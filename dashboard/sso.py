"""Sign-in through the sector's identity platform (issue 15): OpenID Connect, authorization
code flow with PKCE (S256), through authlib's Flask client.

dashboard.login owns the routes (``/login/sso`` starts, ``/login/sso/callback`` comes
back) and the session cookie; this module speaks to the provider:

- ``begin``: the redirect to the provider's login page (state, nonce and the PKCE
  verifier wait in the signed session cookie until the provider sends the browser back).
- ``complete``: the code exchanged for tokens; the id token checked again against the
  provider's published keys with the pinned algorithms; its claims mapped to a role and
  school (SMARTSCHOOL_OIDC_ROLE_MAP...); the linked hub account created or brought in line;
  a provider session row (migration 0022) keeps the refresh token on the server.
- ``still_valid``: at every look-up of the signed-in account, once the provider's access
  token would have expired (at most DEFAULT_REFRESH_S), the refresh grant: the new id
  token's claims are mapped again (a changed role or school applies from there), and a
  refused refresh (revoked at the provider) or a locally disabled account ends the
  session.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import psycopg
import psycopg_pool
from authlib.integrations.flask_client import (  # type: ignore[import-untyped]
    OAuth,
    OAuthError,
)
from flask import Flask, request
from flask.typing import ResponseReturnValue

from core.settings import Settings
from hub.access import MACHINE_ROLES
from hub.accounts.auth import User
from hub.accounts.oidc import (
    AccountRefused,
    OidcConfig,
    OidcError,
    ProviderKeys,
    ProviderUnavailable,
    RefreshRefused,
    TokenRefused,
    TokenSet,
    end_session,
    link_account,
    locked_session,
    purge_sessions,
    refresh_tokens,
    renew_session,
    revoke_refresh_token,
    start_session,
    subject_of,
    verify_token,
)
from hub.accounts.oidc_rules import MappingRefused
from hub.db import Conn

log = logging.getLogger(__name__)

SSO_PATH: Final = "/login/sso"
CALLBACK_PATH: Final = "/login/sso/callback"
CLIENT_NAME: Final = "sector"
POOL_TIMEOUT_S: Final = 5.0


class SsoRefused(Exception):
    """The sign-in did not end in a session; ``kind`` picks the words shown."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind  # "failed", "refused" or "unavailable"
        self.reason = reason


class DashboardSso:
    def __init__(self, config: OidcConfig, pool: psycopg_pool.ConnectionPool[Any],
                 keys: ProviderKeys | None = None, *,
                 lifetime: timedelta = timedelta(hours=12)) -> None:
        if not config.client_id:
            raise ValueError("SMARTSCHOOL_OIDC_CLIENT_ID is needed for the dashboard's "
                             "sign-in through the provider")
        self.config = config
        self.client_id: str = config.client_id
        self.pool = pool
        self.lifetime = lifetime  # of a dashboard sign-in (SMARTSCHOOL_TOKEN_TTL_MINUTES)
        self.keys = keys or ProviderKeys(config.issuer)
        self._oauth = OAuth()
        self._remote: Any = None

    @classmethod
    def from_settings(cls, settings: Settings,
                      pool: psycopg_pool.ConnectionPool[Any]) -> DashboardSso | None:
        config = OidcConfig.from_settings(settings)
        if config is None or not config.client_id:
            return None
        return cls(config, pool, lifetime=timedelta(minutes=settings.token_ttl_minutes))

    def install(self, server: Flask) -> None:
        self._oauth.init_app(server)
        self._remote = self._oauth.register(
            CLIENT_NAME, client_id=self.client_id, client_secret=self.config.client_secret,
            server_metadata_url=self.config.discovery_url,
            client_kwargs={"scope": self.config.scopes, "code_challenge_method": "S256"},
        )

    # --- signing in --------------------------------------------------------------------

    def begin(self, callback_url: str) -> ResponseReturnValue:
        """The redirect to the provider's login page."""
        redirect_uri = self.config.redirect_uri or callback_url
        try:
            answer: ResponseReturnValue = self._remote.authorize_redirect(redirect_uri)
        except Exception as exc:  # discovery failed: authlib raises requests' errors
            log.warning("single sign-on: cannot reach %s: %s", self.config.issuer, exc)
            raise SsoRefused("unavailable", str(exc)) from exc
        return answer

    def complete(self) -> tuple[User, str]:
        """Back from the provider: the signed-in account and its provider session id."""
        sent_iss = request.args.get("iss")
        if sent_iss is not None and sent_iss != self.config.issuer:
            # RFC 9207: the answer came from another provider than the one asked
            raise SsoRefused("failed", f"answer from issuer {sent_iss!r}")
        try:
            token = self._remote.authorize_access_token()
        except OAuthError as exc:
            log.info("single sign-on failed: %s %s", exc.error, exc.description)
            raise SsoRefused("failed", f"{exc.error}: {exc.description}") from exc
        except Exception as exc:  # the token endpoint or the keys could not be reached
            log.warning("single sign-on: token exchange failed: %s", exc)
            raise SsoRefused("unavailable", str(exc)) from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SsoRefused("failed", "the provider sent no id token")
        try:
            claims = verify_token(id_token, self.keys, audience=self.client_id,
                                  algorithms=self.config.algorithms)
            identity = self.config.identity(claims)
        except ProviderUnavailable as exc:
            raise SsoRefused("unavailable", str(exc)) from exc
        except TokenRefused as exc:
            log.warning("single sign-on: id token refused: %s", exc)
            raise SsoRefused("failed", str(exc)) from exc
        except MappingRefused as exc:
            log.info("single sign-on refused for %s: %s", claims.get("sub"), exc)
            raise SsoRefused("refused", str(exc)) from exc
        session_id = secrets.token_urlsafe(32)
        try:
            with self.pool.connection(timeout=POOL_TIMEOUT_S) as conn:
                user = link_account(conn, identity)
                if user.role in MACHINE_ROLES:  # never mapped; a hand-edited row
                    raise AccountRefused("a machine account has no dashboard")
                with conn.transaction():
                    purge_sessions(conn, older_than=self.lifetime)
                    start_session(conn, session_id=session_id, username=user.username,
                                  tokens=TokenSet.of(token))
        except AccountRefused as exc:
            log.info("single sign-on refused for %s: %s", identity.subject, exc)
            raise SsoRefused("refused", str(exc)) from exc
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            log.warning("single sign-on: database unavailable", exc_info=True)
            raise SsoRefused("unavailable", "database unavailable") from exc
        return user, session_id

    # --- while signed in ---------------------------------------------------------------

    def still_valid(self, conn: Conn, session_id: str, username: str) -> bool:
        """Whether the provider session behind a dashboard session holds; refreshed at
        the provider when due. False ends the dashboard session."""
        with conn.transaction():
            held = locked_session(conn, session_id)
            if held is None or held.username != username:
                return False
            if held.refresh_due > datetime.now(UTC):
                return True
            if not held.refresh_token:
                log.info("single sign-on session of %s is due and has no refresh token",
                         username)
                end_session(conn, session_id)
                return False
            try:
                tokens = refresh_tokens(self.config, self.keys, held.refresh_token)
                self._apply(conn, tokens, username)
            except ProviderUnavailable as exc:
                # The provider's outage does not lock the district out; the session's own
                # lifetime still ends it, and the next look-up tries again.
                log.warning("single sign-on: could not refresh %s: %s", username, exc)
                return True
            except (RefreshRefused, OidcError, MappingRefused) as exc:
                log.info("single sign-on session of %s ended: %s", username, exc)
                end_session(conn, session_id)
                return False
            renew_session(conn, session_id, tokens, held.refresh_token)
            return True

    def _apply(self, conn: Conn, tokens: TokenSet, username: str) -> None:
        """The refreshed id token's claims, mapped again onto the account."""
        if tokens.id_token is None:
            return  # the provider sent no new claims: the account stays as it is
        claims = verify_token(tokens.id_token, self.keys, audience=self.client_id,
                              algorithms=self.config.algorithms)
        if subject_of(conn, username) != (self.config.issuer, claims.get("sub")):
            raise TokenRefused("the refreshed id token names another person")
        link_account(conn, self.config.identity(claims))

    def forget(self, session_id: str) -> None:
        """Sign-out: the provider session row goes, and its refresh token is revoked at
        the provider (best effort: the row is gone either way)."""
        try:
            with self.pool.connection(timeout=POOL_TIMEOUT_S) as conn:
                refresh_token = end_session(conn, session_id)
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("single sign-on: could not end session on sign-out", exc_info=True)
            return
        if refresh_token:
            try:
                if not revoke_refresh_token(self.config, self.keys, refresh_token):
                    log.info("single sign-on: the provider did not revoke on sign-out")
            except ProviderUnavailable as exc:
                log.warning("single sign-on: could not revoke on sign-out: %s", exc)
