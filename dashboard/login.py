"""Dashboard login: ``/login`` and ``/logout`` on the Dash app's Flask server.

Accounts are the hub's (``users`` table); passwords are checked with hub.accounts.auth
``authenticate`` (argon2, disabled accounts refused, a missing account costs as much as a
wrong password) behind hub.accounts.auth's ``LoginRateLimiter``, exactly as the API's token
endpoint does. Passwords are never logged, echoed or kept.

The session is Flask's signed cookie, keyed by a key derived from the hub's token
signing secret (SMARTSCHOOL_SECRET_KEY, else the generated one in the data dir), so
restarting the dashboard keeps people logged in and nobody can forge a session without
the secret. The cookie holds the username, the role and school at login (for the page
frame only), the login time (a session lasts SMARTSCHOOL_TOKEN_TTL_MINUTES from login,
like an API token, however long a screen keeps polling), a fingerprint of the password
hash (a password change ends other sessions) and a CSRF token for the two forms. Every
data callback looks the account up again (``viewer``), so disabling an account or moving
it to another school takes effect at the next refresh.

A wall screen signs in as ``kiosk`` with SMARTSCHOOL_DASHBOARD_KIOSK_TOKEN as its
password (issue #12): not a hub account, a session that may see the district wall only
(dashboard.access ``KIOSK_ROLE``) for KIOSK_LIFETIME, ending at once when the token
changes. While the token is set, a hub account called ``kiosk`` cannot sign in to the
dashboard.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

import psycopg
import psycopg_pool
from flask import Flask, Response, g, redirect, render_template_string, request, session
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask.typing import ResponseReturnValue

from core.settings import Settings
from dashboard.access import (
    KIOSK_ROLE,
    KIOSK_USERNAME,
    LOGIN_PATH,
    LOGOUT_PATH,
    Access,
    Viewer,
    home_path,
    in_language,
    is_page_path,
    kiosk_landing,
    login_href,
    may_view,
    page_of,
    safe_next,
)
from dashboard.i18n import LANGUAGES, Lang, coerce_lang, language_from_search, t
from dashboard.sso import CALLBACK_PATH, SSO_PATH, DashboardSso, SsoRefused
from hub.access import MACHINE_ROLES
from hub.accounts.auth import LoginRateLimiter, User, authenticate, get_user, load_or_create_secret
from hub.accounts.rules import client_address, trusted_networks
from hub.db import Conn

log = logging.getLogger(__name__)

COOKIE_NAME: Final = "smartschool_dashboard"
POOL_TIMEOUT_S: Final = 5.0
# Callbacks the page frame needs before anyone is logged in (it sends them to /login).
FRAME_OUTPUTS: Final = frozenset(("page-content.children", "nav.children"))
_SESSION_KEY_CONTEXT: Final = b"smartschool dashboard session v1"
_FINGERPRINT_CONTEXT: Final = b"smartschool dashboard password fingerprint v1"
_KIOSK_CONTEXT: Final = b"smartschool dashboard kiosk token fingerprint v1"
KIOSK_TOKEN_MIN: Final = 20  # the kiosk token is a password anyone at the wall could try
# A wall screen runs for weeks; signing it in again every SMARTSCHOOL_TOKEN_TTL_MINUTES
# would leave it on the login form. Changing the token ends every kiosk session at once.
KIOSK_LIFETIME: Final = timedelta(days=30)
_G_VIEWER: Final = "smartschool_viewer"
_MAX_USERNAME_IN_LOG: Final = 64

# Session keys.
_USER: Final = "u"
_ROLE: Final = "r"
_SCHOOL: Final = "s"
_NAME: Final = "n"
_SINCE: Final = "t"
_FINGERPRINT: Final = "h"
_CSRF: Final = "csrf"
# Single sign-on (issue 15): the provider session's id (oidc_sessions), and where a
# sign-in through the provider goes afterwards, in which language.
_SSO: Final = "o"
_SSO_NEXT: Final = "on"
_SSO_LANG: Final = "ol"

_PAGE: Final = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ heading }} · {{ title }}</title>
<link rel="stylesheet" href="/assets/dashboard.css">
<link rel="stylesheet" href="/assets/login.css">
</head>
<body class="login-body">
<main class="login-panel">
  <div class="login-lang lang-switch">
    {% for code, href in languages %}
    <a id="login-lang-{{ code }}" href="{{ href }}"
       class="login-lang-link{% if code == lang %} active{% endif %}">{{ code|upper }}</a>
    {% endfor %}
  </div>
  <h1 class="login-heading">{{ heading }}</h1>
  <div class="subtitle login-site">{{ title }}</div>
  {% if notice %}<div id="login-notice" class="login-notice">{{ notice }}</div>{% endif %}
  {% if error %}<div id="login-error" class="login-error" role="alert">{{ error }}</div>{% endif %}
  {% if mode == "logout" %}
  <form id="logout-form" method="post" action="{{ logout_path }}" class="login-form">
    <p>{{ confirm }}</p>
    <input type="hidden" name="csrf" value="{{ csrf }}">
    <input type="hidden" name="lang" value="{{ lang }}">
    <button id="logout-submit" type="submit" class="login-submit">{{ submit }}</button>
  </form>
  {% else %}
  <p class="login-intro">{{ intro }}</p>
  {% if sso_href %}
  <a id="login-sso" class="login-submit" href="{{ sso_href }}"
     style="display:block;text-align:center;text-decoration:none">{{ sso_label }}</a>
  <p class="login-intro">{{ sso_or }}</p>
  {% endif %}
  <form id="login-form" method="post" action="{{ login_path }}" class="login-form">
    <label for="login-username">{{ username_label }}</label>
    <input id="login-username" name="username" type="text" autocomplete="username"
           autocapitalize="none" spellcheck="false" maxlength="64" required autofocus
           value="{{ username }}">
    <label for="login-password">{{ password_label }}</label>
    <input id="login-password" name="password" type="password"
           autocomplete="current-password" maxlength="1024" required>
    <input type="hidden" name="csrf" value="{{ csrf }}">
    <input type="hidden" name="lang" value="{{ lang }}">
    {% if next %}<input type="hidden" name="next" value="{{ next }}">{% endif %}
    <button id="login-submit" type="submit" class="login-submit">{{ submit }}</button>
  </form>
  {% endif %}
  <a id="login-back" class="login-back" href="/?lang={{ lang }}">{{ back }}</a>
</main>
</body>
</html>
"""


def session_secret(token_secret: str) -> str:
    """The Flask session key: derived from, never equal to, the API's token key."""
    return hmac.new(token_secret.encode(), _SESSION_KEY_CONTEXT, hashlib.sha256).hexdigest()


class DashboardAuth:
    """The login routes, the page guard, and who is asking (``viewer``) for the callbacks."""

    def __init__(self, settings: Settings, pool: psycopg_pool.ConnectionPool[Any], *,
                 public_district: bool = False) -> None:
        self.settings = settings
        self.pool = pool
        self.public_district = public_district
        self.lifetime = timedelta(minutes=settings.token_ttl_minutes)
        self.limiter = LoginRateLimiter()
        self.trusted_proxies = trusted_networks(settings.trusted_proxies)
        self._secret = session_secret(load_or_create_secret(settings))
        # Wall screens (issue #12): `kiosk` signs in with SMARTSCHOOL_DASHBOARD_KIOSK_TOKEN.
        token = settings.dashboard_kiosk_token
        self._kiosk_token: str | None = token.get_secret_value() if token else None
        if self._kiosk_token is not None and len(self._kiosk_token) < KIOSK_TOKEN_MIN:
            log.warning("SMARTSCHOOL_DASHBOARD_KIOSK_TOKEN is shorter than %d characters: "
                        "kiosk sign-in is off", KIOSK_TOKEN_MIN)
            self._kiosk_token = None
        # Single sign-on (issue 15): when SMARTSCHOOL_OIDC_ISSUER and _CLIENT_ID are set.
        self.sso = DashboardSso.from_settings(settings, pool)

    # --- wiring ------------------------------------------------------------------------

    def install(self, server: Flask) -> None:
        server.secret_key = self._secret
        server.session_interface = _SessionInterface()
        server.config.update(
            SESSION_COOKIE_NAME=COOKIE_NAME,
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            # Behind TLS (SMARTSCHOOL_DASHBOARD_SECURE_COOKIE): never sent over plain HTTP.
            SESSION_COOKIE_SECURE=self.settings.dashboard_secure_cookie,
            PERMANENT_SESSION_LIFETIME=self.lifetime,
            # The login time in the cookie bounds a session; polling must not extend it.
            SESSION_REFRESH_EACH_REQUEST=False,
        )
        server.add_url_rule(LOGIN_PATH, "dashboard_login", self._login, methods=["GET", "POST"])
        server.add_url_rule(LOGOUT_PATH, "dashboard_logout", self._logout,
                            methods=["GET", "POST"])
        server.before_request(self._guard)
        if self.sso is not None:
            self.sso.install(server)
            server.add_url_rule(SSO_PATH, "dashboard_sso", self._sso_begin, methods=["GET"])
            server.add_url_rule(CALLBACK_PATH, "dashboard_sso_callback", self._sso_callback,
                                methods=["GET"])

    def _guard(self) -> ResponseReturnValue | None:
        """Anonymous browsers loading a protected page get the login form instead; in a
        private-district setup, anonymous Dash callbacks beyond the frame are refused."""
        if request.method == "GET" and is_page_path(request.path):
            if self.session_viewer() is not None:
                return None
            page, school = page_of(request.path)
            if may_view(None, page, school, public_district=self.public_district) is Access.LOGIN:
                target = request.full_path if request.query_string else request.path
                lang = language_from_search(request.query_string.decode("latin-1"),
                                            self.settings.language)
                return redirect(login_href(target, lang))
            return None
        if (not self.public_district and request.method == "POST"
                and request.path.endswith("/_dash-update-component")
                and self.session_viewer() is None):
            body = request.get_json(silent=True)
            output = body.get("output") if isinstance(body, dict) else None
            if output not in FRAME_OUTPUTS:
                return Response("login required", status=401, mimetype="text/plain")
        return None

    # --- who is asking ---------------------------------------------------------------

    def session_viewer(self) -> Viewer | None:
        """The account the signed cookie names, if its session has not run out. What it
        was at login: enough to draw the page frame, not to decide what data to show."""
        username = session.get(_USER)
        since = session.get(_SINCE)
        if not isinstance(username, str) or not isinstance(since, (int, float)):
            return None
        lifetime = KIOSK_LIFETIME if session.get(_ROLE) == KIOSK_ROLE else self.lifetime
        if not 0 <= time.time() - since <= lifetime.total_seconds():
            self.end_session()
            return None
        if session.get(_ROLE) == KIOSK_ROLE:
            # Valid while the token it signed in with is the setting's; no database needed.
            kiosk = self._kiosk_fingerprint()
            if kiosk is None or not hmac.compare_digest(str(session.get(_FINGERPRINT, "")),
                                                        kiosk):
                log.info("dashboard kiosk session ended: kiosk token changed or removed")
                self.end_session()
                return None
        school = session.get(_SCHOOL)
        name = session.get(_NAME)
        return Viewer(username=username, role=str(session.get(_ROLE, "")),
                      school_id=school if isinstance(school, str) else None,
                      full_name=name if isinstance(name, str) else None)

    def viewer(self, conn: Conn | None = None) -> Viewer | None:
        """The logged-in account as the database has it now; None when anonymous, when
        the session ran out, or when the account was disabled, deleted or its password
        changed (the session is then ended). Raises psycopg/pool errors."""
        if _G_VIEWER in g:
            cached: Viewer | None = g.get(_G_VIEWER)
            return cached
        claims = self.session_viewer()
        found: Viewer | None = None
        if claims is not None and claims.role == KIOSK_ROLE:
            found = claims  # not a hub account; session_viewer checked its token
        elif claims is not None:
            if conn is None:
                with self.pool.connection(timeout=POOL_TIMEOUT_S) as own:
                    user = self._current_user(own, claims.username)
            else:
                user = self._current_user(conn, claims.username)
            if (user is None or user.disabled
                    or not hmac.compare_digest(str(session.get(_FINGERPRINT, "")),
                                               self._fingerprint(user))):
                log.info("dashboard session of %r ended: account changed", claims.username)
                self.end_session()
            else:
                found = _viewer_of(user)
        g.setdefault(_G_VIEWER, found)
        return found

    def _current_user(self, conn: Conn, username: str) -> User | None:
        # A sign-in through the provider holds while its provider session does (refreshed
        # when due: claims mapped again, a revoked person refused).
        sso_session = session.get(_SSO)
        if sso_session is not None and (
                self.sso is None or not self.sso.still_valid(conn, str(sso_session), username)):
            return None
        return get_user(conn, username=username)

    def frame_viewer(self) -> Viewer | None:
        """For the page switch and the nav: the database's answer, or the cookie's while
        the database is away (the pages' data callbacks check again and show nothing)."""
        try:
            return self.viewer()
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("dashboard could not look up the session's account", exc_info=True)
            return self.session_viewer()

    def csrf_token(self) -> str:
        token = session.get(_CSRF)
        if not isinstance(token, str) or not token:
            token = secrets.token_urlsafe(24)
            session[_CSRF] = token
        return token

    def end_session(self) -> None:
        session.clear()

    # --- routes ------------------------------------------------------------------------

    def _login(self) -> ResponseReturnValue:
        form = request.form if request.method == "POST" else request.args
        target = safe_next(form.get("next"))
        lang = self._lang(form.get("lang"), target)
        if request.method == "GET":
            notice = t(lang, "login_logged_out") if request.args.get("out") else None
            return self._page(lang, target=target, notice=notice)
        username = form.get("username", "").strip()
        password = form.get("password", "")
        if not self._csrf_ok(form.get("csrf")):
            return self._page(lang, target=target, username=username,
                              error=t(lang, "login_form_expired")), 400
        # Behind a configured proxy, the address it forwarded (SMARTSCHOOL_TRUSTED_PROXIES).
        client = client_address(request.remote_addr, request.headers.get("X-Forwarded-For"),
                                self.trusted_proxies)
        key = (username.casefold(), client)
        wait = self.limiter.retry_after(key)
        if wait > 0:
            retry = max(math.ceil(wait), 1)
            log.warning("dashboard login throttled for %r from %s",
                        username[:_MAX_USERNAME_IN_LOG], client)
            error = t(lang, "login_too_many").format(seconds=retry)
            return (self._page(lang, target=target, username=username, error=error), 429,
                    {"Retry-After": str(retry)})
        if self._kiosk_token is not None and username == KIOSK_USERNAME:
            return self._kiosk_login(lang, target, key, password)
        try:
            with self.pool.connection(timeout=POOL_TIMEOUT_S) as conn:
                user = authenticate(conn, username=username, password=password)
            # An exchange account (issue 15) is a machine's: the feed only, no pages.
            if user is not None and user.role in MACHINE_ROLES:
                user = None
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("dashboard login: database unavailable", exc_info=True)
            return self._page(lang, target=target, username=username,
                              error=t(lang, "login_unavailable")), 503
        if user is None:
            self.limiter.record_failure(key)
            log.info("dashboard login failed for %r from %s",
                     username[:_MAX_USERNAME_IN_LOG], client)
            return self._page(lang, target=target, username=username,
                              error=t(lang, "login_failed")), 401
        self.limiter.reset(key)
        self._start_session(user)
        log.info("dashboard login: %s (%s) from %s", user.username, user.role, client)
        return redirect(target or _with_lang(home_path(_viewer_of(user)), lang))

    def _logout(self) -> ResponseReturnValue:
        form = request.form if request.method == "POST" else request.args
        lang = self._lang(form.get("lang"), None)
        if request.method == "GET":
            if self.session_viewer() is None:
                return redirect(f"{LOGIN_PATH}?{urlencode({'lang': lang})}")
            return self._page(lang, target=None, mode="logout")
        if self._csrf_ok(form.get("csrf")):
            who = session.get(_USER)
            if self.sso is not None and (sso_session := session.get(_SSO)) is not None:
                self.sso.forget(str(sso_session))
            self.end_session()
            log.info("dashboard logout: %s", who)
        return redirect(f"{LOGIN_PATH}?{urlencode({'lang': lang, 'out': '1'})}")

    def _sso_begin(self) -> ResponseReturnValue:
        """To the provider's login page; back at ``_sso_callback``."""
        assert self.sso is not None  # the route exists only then
        target = safe_next(request.args.get("next"))
        lang = self._lang(request.args.get("lang"), target)
        session[_SSO_NEXT] = target
        session[_SSO_LANG] = lang
        try:
            return self.sso.begin(request.host_url.rstrip("/") + CALLBACK_PATH)
        except SsoRefused:
            return self._page(lang, target=target, error=t(lang, "sso_unavailable")), 503

    def _sso_callback(self) -> ResponseReturnValue:
        assert self.sso is not None
        target = safe_next(session.get(_SSO_NEXT))
        lang = self._lang(session.get(_SSO_LANG), target)
        try:
            user, sso_session = self.sso.complete()
        except SsoRefused as exc:
            if exc.kind == "refused":
                error, code = t(lang, "sso_refused").format(reason=exc.reason), 403
            elif exc.kind == "unavailable":
                error, code = t(lang, "sso_unavailable"), 503
            else:
                error, code = t(lang, "sso_failed"), 401
            return self._page(lang, target=target, error=error), code
        self._start_session(user)
        session[_SSO] = sso_session
        log.info("dashboard sign-in through the provider: %s (%s)", user.username, user.role)
        return redirect(target or _with_lang(home_path(_viewer_of(user)), lang))

    def _kiosk_login(self, lang: Lang, target: str | None, key: tuple[str, str],
                     password: str) -> ResponseReturnValue:
        """`kiosk` with the kiosk token: a read-only session for the district wall only."""
        kiosk = self._kiosk_token
        if kiosk is None or not hmac.compare_digest(password.encode(), kiosk.encode()):
            self.limiter.record_failure(key)
            log.info("dashboard kiosk sign-in failed from %s", key[1])
            return self._page(lang, target=target, username=KIOSK_USERNAME,
                              error=t(lang, "login_failed")), 401
        self.limiter.reset(key)
        session.clear()
        session.permanent = True
        session.update({
            _USER: KIOSK_USERNAME, _ROLE: KIOSK_ROLE, _SCHOOL: None, _NAME: None,
            _SINCE: int(time.time()), _FINGERPRINT: self._kiosk_fingerprint(),
            _CSRF: secrets.token_urlsafe(24),
        })
        log.info("dashboard kiosk sign-in from %s", key[1])
        # The wall is the one page a kiosk may see, whatever it was sent from.
        return redirect(kiosk_landing(target, lang))

    def _kiosk_fingerprint(self) -> str | None:
        if self._kiosk_token is None:
            return None
        digest = hmac.new(self._secret.encode(), _KIOSK_CONTEXT + b"\0"
                          + self._kiosk_token.encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    # --- helpers -----------------------------------------------------------------------

    def _start_session(self, user: User) -> None:
        session.clear()  # nothing from before the login carries over
        session.permanent = True
        session.update({
            _USER: user.username, _ROLE: user.role, _SCHOOL: user.school_id,
            _NAME: user.full_name, _SINCE: int(time.time()),
            _FINGERPRINT: self._fingerprint(user), _CSRF: secrets.token_urlsafe(24),
        })

    def _fingerprint(self, user: User) -> str:
        digest = hmac.new(self._secret.encode(), _FINGERPRINT_CONTEXT + b"\0"
                          + user.password_hash.encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def _csrf_ok(self, sent: str | None) -> bool:
        expected = session.get(_CSRF)
        return (isinstance(expected, str) and bool(expected) and sent is not None
                and hmac.compare_digest(expected.encode(), sent.encode()))

    def _lang(self, value: str | None, target: str | None) -> Lang:
        """``lang`` of the form or query, else the destination's ``?lang=``, else default."""
        fallback = self.settings.language
        if target is not None:
            fallback = language_from_search(urlsplit(target).query, fallback)
        return coerce_lang((value or "").strip().lower(), fallback)

    def _page(self, lang: Lang, *, target: str | None, username: str = "",
              error: str | None = None, notice: str | None = None,
              mode: str = "login") -> str:
        languages = []
        for code in LANGUAGES:
            there = in_language(target, code)
            query = {"lang": code} | ({"next": there} if there else {})
            path = LOGOUT_PATH if mode == "logout" else LOGIN_PATH
            languages.append((code, f"{path}?{urlencode(query)}"))
        return render_template_string(
            _PAGE, lang=lang, mode=mode, title=t(lang, "title"),
            heading=t(lang, "nav_logout" if mode == "logout" else "login_title"),
            intro=t(lang, "login_intro"), confirm=t(lang, "logout_confirm"),
            username_label=t(lang, "login_username"),
            password_label=t(lang, "login_password"),
            submit=t(lang, "nav_logout" if mode == "logout" else "login_submit"),
            back=t(lang, "login_back"), error=error, notice=notice,
            username=username[:_MAX_USERNAME_IN_LOG], next=in_language(target, lang),
            csrf=self.csrf_token(),
            languages=languages, login_path=LOGIN_PATH, logout_path=LOGOUT_PATH,
            sso_href=self._sso_href(lang, in_language(target, lang)),
            sso_label=t(lang, "sso_sign_in"),
            sso_or=t(lang, "sso_or"),
        )

    def _sso_href(self, lang: Lang, target: str | None) -> str | None:
        if self.sso is None:
            return None
        return f"{SSO_PATH}?{urlencode({'lang': lang} | ({'next': target} if target else {}))}"


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie; a kiosk's lasts KIOSK_LIFETIME instead of the sign-in's."""

    def get_expiration_time(self, app: Flask, session: SessionMixin) -> datetime | None:
        if session.permanent and session.get(_ROLE) == KIOSK_ROLE:
            return datetime.now(UTC) + KIOSK_LIFETIME
        return super().get_expiration_time(app, session)


def _viewer_of(user: User) -> Viewer:
    return Viewer(username=user.username, role=user.role, school_id=user.school_id,
                  full_name=user.full_name)


def _with_lang(path: str, lang: Lang) -> str:
    return f"{path}?{urlencode({'lang': lang})}"

