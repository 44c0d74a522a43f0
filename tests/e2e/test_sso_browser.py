"""Single sign-on in a real headless Chromium (issue 15): the dashboard -> the sector's
OpenID provider (a real oidc-provider process on loopback, tests/oidc/provider.mjs) ->
back, authorization code flow with PKCE. The person lands with the role and school their
claims map to; when the provider changes their role and school, the next refresh shows
it; when the provider revokes them, the refresh is refused and the session ends; a
locally disabled account is refused even though the provider vouches for it; local
accounts keep signing in with their password beside it.
Set SMARTSCHOOL_E2E_ARTIFACTS to keep the screenshots.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from core.settings import Settings
from dashboard.app import DashboardServer
from hub.accounts.auth import create_user
from tests.conftest import free_port
from tests.e2e.browser import click, page_text, screenshot, text_of, wait_for
from tests.e2e.test_dashboard_login import fill_login
from tests.oidc.harness import (
    CLIENT_ID,
    ROLE_MAP,
    SCOPES,
    OpenIdProvider,
    ensure_installed,
    make_keys,
    refresh,
)

pytestmark = pytest.mark.e2e

HN, HT = "thcs-hn", "mn-ht"
HN_NAME, HT_NAME = "Trường THCS Hòa Nghĩa", "Trường Mầm non Hải Thành"
# The provider's access tokens live this long, so the dashboard refreshes that often.
ACCESS_TTL_S = 3


def seed(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("insert into schools (id, name, level, ward) values"
                     " (%s, %s, 'thcs', 'Hòa Nghĩa'), (%s, %s, 'mam_non', 'Hải Thành')",
                     (HN, HN_NAME, HT, HT_NAME))
        conn.commit()
        create_user(conn, username="gv.local", password="mat-khau-cuc-bo", role="teacher",
                    school_id=HN, full_name="Cô Giáo Cục Bộ")


@pytest.fixture
def sso(pg_url: str, tmp_path: Path) -> Iterator[tuple[OpenIdProvider, str]]:
    ensure_installed()
    seed(pg_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    secret = "s3cret-of-the-dashboard-client-" + "x" * 8
    provider = OpenIdProvider(tmp_path, keys=make_keys(tmp_path / "jwks.json"),
                              redirect_uris=[f"{base}/login/sso/callback"],
                              client_secret=secret).start()
    (tmp_path / "client_secret").write_text(secret + "\n", encoding="utf-8")
    settings = Settings(_env_file=None, data_dir=tmp_path, language="vi",
                        secret_key="k" * 48, oidc_issuer=provider.issuer,
                        oidc_client_id=CLIENT_ID,
                        oidc_client_secret_file=tmp_path / "client_secret",
                        oidc_scopes=SCOPES, oidc_role_map=ROLE_MAP)
    try:
        with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=port):
            yield provider, base
    finally:
        provider.stop()


def sign_in_at_provider(driver: Any, login: str, password: str) -> None:
    """The provider's own login page (not the dashboard's)."""
    wait_for(lambda: driver.find_elements("id", "op-login"), what="the provider's login form")
    driver.find_element("id", "op-username").send_keys(login)
    driver.find_element("id", "op-password").send_keys(password)
    driver.find_element("id", "op-submit").click()


def account(url: str, username: str) -> tuple[str, str | None, bool] | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("select role, school_id, disabled from users where username = %s",
                           (username,)).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def test_sign_in_through_the_provider(sso: tuple[OpenIdProvider, str], pg_url: str,
                                      browser: Any, tmp_path: Path) -> None:
    provider, base = sso
    driver = browser
    provider.put_account("gv.an", password="mat-khau-nganh", roles=["giao_vien"], school=HN,
                         name="Nguyễn Thị An", access_ttl=ACCESS_TTL_S)

    # Anonymous on a school page: the dashboard's form offers the sector's sign-in.
    driver.get(f"{base}/school/{HN}?lang=en")
    wait_for(lambda: driver.find_elements("id", "login-sso"), what="the sector sign-in link")
    assert "Sign in with your education-sector account" in page_text(driver)
    screenshot(driver, tmp_path, "sso-login-en.png")
    click(driver, "#login-lang-vi", "the VI link")
    wait_for(lambda: "Đăng nhập bằng tài khoản ngành giáo dục" in page_text(driver),
             what="the Vietnamese form")
    screenshot(driver, tmp_path, "sso-login-vi.png")

    # To the provider, its login form, and back where the visitor was going.
    click(driver, "#login-sso", "the sector sign-in link")
    wait_for(lambda: urlsplit(driver.current_url).port == provider.port,
             what="the provider's page")
    sign_in_at_provider(driver, "gv.an", "mat-khau-nganh")
    wait_for(lambda: urlsplit(driver.current_url).path == f"/school/{HN}",
             what="back on the school page")
    wait_for(lambda: text_of(driver, "#sc-title") == HN_NAME, what="the school's title")
    wait_for(lambda: text_of(driver, "#nav-user-name") == "Nguyễn Thị An", what="the nav")
    assert "Giáo viên" in text_of(driver, "#nav-user") and HN in text_of(driver, "#nav-user")
    assert account(pg_url, "gv.an") == ("teacher", HN, False)
    screenshot(driver, tmp_path, "sso-signed-in.png")

    # The provider makes them the admin of another school: after the next refresh the
    # dashboard shows that school, and the account says so.
    provider.put_account("gv.an", password="mat-khau-nganh", roles=["hieu_truong"], school=HT,
                         name="Nguyễn Thị An", access_ttl=ACCESS_TTL_S)
    time.sleep(ACCESS_TTL_S + 0.5)
    driver.get(f"{base}/school/{HT}?lang=vi")
    wait_for(lambda: text_of(driver, "#sc-title") == HT_NAME, what="the new school's page")
    wait_for(lambda: "Quản trị trường" in text_of(driver, "#nav-user"), what="the new role")
    assert account(pg_url, "gv.an") == ("school_admin", HT, False)
    driver.get(f"{base}/school/{HN}?lang=vi")
    wait_for(lambda: text_of(driver, "#auth-not-allowed"), what="the old school refused")
    screenshot(driver, tmp_path, "sso-claims-changed.png")

    # Revoked at the provider: the refresh is refused, the session ends.
    provider.put_account("gv.an", password="mat-khau-nganh", roles=["hieu_truong"], school=HT,
                         revoked=True)
    time.sleep(ACCESS_TTL_S + 0.5)
    driver.get(f"{base}/school/{HT}?lang=vi")
    wait_for(lambda: driver.find_elements("id", "login-form"), what="the login form again")
    assert HT_NAME not in page_text(driver)
    with psycopg.connect(pg_url) as conn:
        left = conn.execute("select count(*) from oidc_sessions s join oidc_accounts a"
                            " using (username) where a.subject = 'gv.an'").fetchone()
    assert left == (0,)

    # A local account still signs in with its password beside the provider.
    fill_login(driver, "gv.local", "mat-khau-cuc-bo")
    wait_for(lambda: text_of(driver, "#sc-title") == HN_NAME or text_of(
        driver, "#auth-not-allowed"), what="signed in locally")
    wait_for(lambda: text_of(driver, "#nav-user-name") == "Cô Giáo Cục Bộ",
             what="the local account in the nav")


def test_a_locally_disabled_account_is_refused(sso: tuple[OpenIdProvider, str], pg_url: str,
                                               browser: Any, tmp_path: Path) -> None:
    provider, base = sso
    driver = browser
    provider.put_account("kt.binh", password="mat-khau-nganh", roles=["ky_thuat"], school=HN)
    driver.get(f"{base}/login?lang=vi")
    click(driver, "#login-sso", "the sector sign-in link")
    sign_in_at_provider(driver, "kt.binh", "mat-khau-nganh")
    # a facility manager lands on the equipment page
    wait_for(lambda: urlsplit(driver.current_url).path == "/equipment", what="equipment page")
    wait_for(lambda: "Quản lý thiết bị" in text_of(driver, "#nav-user"), what="the role")

    # Signing out revokes the refresh token at the provider: a copy of it is worthless.
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("select refresh_token from oidc_sessions"
                           " where username = 'kt.binh'").fetchone()
    assert row is not None and row[0]
    click(driver, "#nav-logout", "the sign-out button")
    wait_for(lambda: text_of(driver, "#login-notice") == "Bạn đã đăng xuất", what="signed out")
    answer = refresh(provider, row[0])
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    # the provider's own session still holds: back without its login form
    click(driver, "#login-sso", "the sector sign-in link")
    wait_for(lambda: urlsplit(driver.current_url).path == "/equipment", what="signed in again")

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("update users set disabled = true where username = 'kt.binh'")
    driver.get(f"{base}/equipment?lang=vi")
    wait_for(lambda: driver.find_elements("id", "login-form"), what="signed out")
    # Signing in again through the provider (its own session still holds): refused here.
    click(driver, "#login-sso", "the sector sign-in link")
    wait_for(lambda: text_of(driver, "#login-error"), what="the refusal")
    assert "chưa được cấp quyền" in text_of(driver, "#login-error")
    assert "disabled" in text_of(driver, "#login-error")
    screenshot(driver, tmp_path, "sso-disabled-vi.png")

    # Someone the provider knows but the district gave no role: refused with the reason.
    provider.put_account("ph.chi", password="mat-khau-nganh", roles=["phu_huynh"])
    # Cookies are per host, not per port: this also ends the provider's own session.
    driver.delete_all_cookies()
    driver.get(f"{base}/login?lang=en")
    click(driver, "#login-sso", "the sector sign-in link")
    sign_in_at_provider(driver, "ph.chi", "mat-khau-nganh")
    wait_for(lambda: text_of(driver, "#login-error"), what="the refusal")
    assert "no access" in text_of(driver, "#login-error")
    assert "no hub role" in text_of(driver, "#login-error")
    assert account(pg_url, "ph.chi") is None
    screenshot(driver, tmp_path, "sso-no-role-en.png")


def test_an_unreachable_provider_is_said_so(pg_url: str, tmp_path: Path) -> None:
    """The sign-in button with the provider down: a page that says so, not a 500."""
    import httpx

    settings = Settings(_env_file=None, data_dir=tmp_path, language="vi", secret_key="k" * 48,
                        oidc_issuer=f"http://127.0.0.1:{free_port()}",
                        oidc_client_id=CLIENT_ID, oidc_role_map=ROLE_MAP)
    with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=0) as server:
        page = httpx.get(server.url + "login?lang=en", timeout=10)
        assert 'id="login-sso"' in page.text
        answer = httpx.get(server.url + "login/sso?lang=en", timeout=20,
                           cookies=page.cookies)
        assert answer.status_code == 503
        assert "The sector&#39;s identity platform cannot be reached" in answer.text
        # the password form is still there
        assert 'id="login-form"' in answer.text
