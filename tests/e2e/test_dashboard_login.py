"""Dashboard login in a real headless Chromium against the real PostgreSQL: an anonymous
visitor of a school page lands on the login form and comes back after signing in, a
wrong password and a disabled account are refused, a teacher sees their own school's
children and not another school's, and signing out ends the session. A second test
posts Dash callbacks by hand, as a script could, to check the server refuses another
school's data even when no page asked for it.
Set SMARTSCHOOL_E2E_ARTIFACTS to keep the screenshots.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from core.settings import Settings
from dashboard.app import DashboardServer, close_app, create_app
from hub.accounts.auth import create_user, set_password
from tests.e2e.browser import (
    callbacks_settled,
    click,
    page_text,
    screenshot,
    text_of,
    wait_for,
    watch_callbacks,
)

pytestmark = pytest.mark.e2e

HN, HT = "THCS-HN", "MN-HT"
HN_NAMES = ("Nguyễn Văn An", "Trần Thị Bình")
HT_NAMES = ("Phạm Thị Mai Anh", "Vũ Minh Khôi")
TEACHER, TEACHER_PW = "gv.hn", "mat-khau-giao-vien"
TEACHER_NAME = "Cô Lê Thị Hoa"
DISABLED, DISABLED_PW = "gv.nghi", "mat-khau-da-khoa"
WRONG_PW = "sai-mat-khau"


def seed(url: str) -> dict[str, int]:
    """Two schools with a class of two children each, a teacher of THCS-HN and a
    disabled account; returns the class ids by school."""
    classes: dict[str, int] = {}
    with psycopg.connect(url) as conn:
        conn.execute(
            "insert into schools (id, name, level, ward) values"
            " (%s, 'Trường THCS Hòa Nghĩa', 'thcs', 'Hòa Nghĩa'),"
            " (%s, 'Trường Mầm non Hải Thành', 'mam_non', 'Hải Thành')", (HN, HT))
        for school, cls, names in ((HN, "7A1", HN_NAMES), (HT, "Lá 1", HT_NAMES)):
            row = conn.execute("insert into classes (school_id, name, grade) values (%s, %s, 7)"
                               " returning id", (school, cls)).fetchone()
            assert row is not None
            classes[school] = int(row[0])
            for i, name in enumerate(names):
                conn.execute(
                    "insert into students (code, school_id, class_id, full_name, birth_date,"
                    " gender) values (%s, %s, %s, %s, '2013-05-01', 'F')",
                    (f"{school}-{i}", school, row[0], name))
        conn.commit()
        create_user(conn, username=TEACHER, password=TEACHER_PW, role="teacher",
                    school_id=HN, full_name=TEACHER_NAME)
        create_user(conn, username=DISABLED, password=DISABLED_PW, role="teacher",
                    school_id=HN)
        conn.execute("update users set disabled = true where username = %s", (DISABLED,))
        conn.commit()
    return classes


def _gone(element: Any) -> bool:
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    return False


def fill_login(driver: Any, username: str, password: str) -> None:
    """Type into the login form, submit it and wait for the answer (the browser is on
    /login; the form is a plain page, so no re-render races here)."""
    wait_for(lambda: driver.find_elements("id", "login-form"), what="the login form")
    user = driver.find_element("id", "login-username")
    user.clear()
    user.send_keys(username)
    driver.find_element("id", "login-password").send_keys(password)
    form = driver.find_element("id", "login-form")
    driver.find_element("id", "login-submit").click()
    wait_for(lambda: _gone(form), what="the answer to the login form")


def login_through_form(driver: Any, base_url: str, username: str, password: str) -> None:
    """Sign in on the real form, from wherever the browser was sent to it."""
    if "/login" not in driver.current_url:
        driver.get(base_url.rstrip("/") + "/login")
    fill_login(driver, username, password)
    wait_for(lambda: "/login" not in driver.current_url, what=f"{username} signed in")


def test_login_flow_in_browser(pg_url: str, browser: Any, tmp_path: Path) -> None:
    seed(pg_url)
    # A public wall (SMARTSCHOOL_DASHBOARD_PUBLIC_WALL), as in the demo.
    settings = Settings(_env_file=None, data_dir=tmp_path, language="vi",
                        dashboard_public_wall=True)
    with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=0) as server:
        base = server.url.rstrip("/")
        driver = browser

        # Anonymous: the school page is the login form, in Vietnamese, no children's names.
        driver.get(f"{base}/school/{HN}?lang=vi")
        wait_for(lambda: driver.find_elements("id", "login-form"), what="the login form")
        query = parse_qs(urlsplit(driver.current_url).query)
        assert urlsplit(driver.current_url).path == "/login"
        assert query["next"] == [f"/school/{HN}?lang=vi"]
        text = page_text(driver)
        for label in ("Đăng nhập", "Tên đăng nhập", "Mật khẩu"):
            assert label in text, label
        assert not any(name in text for name in HN_NAMES + HT_NAMES)
        screenshot(driver, tmp_path, "login-vi.png")

        # The page's language switch: English, keeping where to go afterwards, now in
        # the language chosen.
        click(driver, "#login-lang-en", "the EN link")
        wait_for(lambda: "Username" in page_text(driver), what="the English form")
        assert "Password" in page_text(driver) and "Tên đăng nhập" not in page_text(driver)
        assert parse_qs(urlsplit(driver.current_url).query)["next"] == [f"/school/{HN}?lang=en"]
        click(driver, "#login-lang-vi", "the VI link")
        wait_for(lambda: "Tên đăng nhập" in page_text(driver), what="the Vietnamese form")
        assert parse_qs(urlsplit(driver.current_url).query)["next"] == [f"/school/{HN}?lang=vi"]

        # A wrong password: an error, still on the form, nothing shown.
        fill_login(driver, TEACHER, WRONG_PW)
        wait_for(lambda: text_of(driver, "#login-error"), what="the error")
        assert text_of(driver, "#login-error") == "Sai tên đăng nhập hoặc mật khẩu"
        assert urlsplit(driver.current_url).path == "/login"
        assert WRONG_PW not in driver.page_source  # never echoed back
        # A disabled account with its right password: the same refusal.
        fill_login(driver, DISABLED, DISABLED_PW)
        wait_for(lambda: "Sai tên đăng nhập" in text_of(driver, "#login-error"),
                 what="the disabled account refused")

        # The right password: back where the visitor was going, with the data.
        fill_login(driver, TEACHER, TEACHER_PW)
        wait_for(lambda: urlsplit(driver.current_url).path == f"/school/{HN}",
                 what="back on the school page")
        wait_for(lambda: text_of(driver, "#sc-title") == "Trường THCS Hòa Nghĩa",
                 what="the school title")
        wait_for(lambda: all(n in text_of(driver, "#sc-register-table") for n in HN_NAMES),
                 what="the class register")
        assert text_of(driver, "#nav-user-name") == TEACHER_NAME
        assert TEACHER in text_of(driver, "#nav-user") and "Giáo viên" in text_of(
            driver, "#nav-user")
        screenshot(driver, tmp_path, "login-school.png")

        # Another school's page: "not allowed", and none of its children's names.
        watch_callbacks(driver)
        driver.get(f"{base}/school/{HT}?lang=vi")
        wait_for(lambda: text_of(driver, "#auth-not-allowed"), what="the not-allowed notice")
        assert "không được xem dữ liệu của trường này" in text_of(driver, "#auth-not-allowed")
        # Absence means something only once the page has made every callback it was going
        # to make (this page has no refresh timer: what it shows now, it keeps).
        wait_for(lambda: callbacks_settled(driver), what="the page's callbacks done")
        text = page_text(driver)
        assert not any(name in text for name in HT_NAMES)
        assert "Trường Mầm non Hải Thành" not in text
        assert not driver.find_elements("id", "sc-register")
        screenshot(driver, tmp_path, "login-not-allowed.png")
        click(driver, "#auth-own-school", "the link to their own school")
        wait_for(lambda: text_of(driver, "#sc-title") == "Trường THCS Hòa Nghĩa",
                 what="their school again")

        # The public district wall is still there for a logged-in teacher.
        driver.get(f"{base}/?lang=vi")
        wait_for(lambda: text_of(driver, "#nav-user-name") == TEACHER_NAME,
                 what="the nav on the district page")

        # Sign out: back on the form with a notice; the school page asks again.
        click(driver, "#nav-logout", "the sign-out button")
        wait_for(lambda: text_of(driver, "#login-notice") == "Bạn đã đăng xuất",
                 what="the signed-out notice")
        driver.get(f"{base}/school/{HN}")
        wait_for(lambda: driver.find_elements("id", "login-form"), what="the form again")
        assert not any(name in page_text(driver) for name in HN_NAMES)


# --- callbacks posted by hand ----------------------------------------------------------


def _register_call(class_id: int) -> dict[str, Any]:
    """The school page's class-register callback, as Dash's renderer posts it."""
    return {
        "output": "sc-register.children",
        "outputs": {"id": "sc-register", "property": "children"},
        "inputs": [{"id": "sc-class", "property": "value", "value": class_id},
                   {"id": "sc-tick", "property": "n_intervals", "value": 0},
                   {"id": {"page": "school", "type": "lang-switch"}, "property": "value",
                    "value": "vi"},
                   {"id": "sc-corr-done", "property": "data", "value": 0}],
        "changedPropIds": ["sc-class.value"],
        "state": [],
    }


def _export_call(school: str) -> dict[str, Any]:
    inputs = [{"id": f"sc-exp-{kind}-{fmt}", "property": "n_clicks", "value": 0}
              for kind, fmt in (("register", "xlsx"), ("register", "csv"),
                                ("daily", "xlsx"), ("daily", "csv"))]
    inputs[3]["value"] = 1
    return {
        "output": "sc-download.data",
        "outputs": {"id": "sc-download", "property": "data"},
        "inputs": inputs,
        "changedPropIds": ["sc-exp-daily-csv.n_clicks"],
        "state": [{"id": "sc-school", "property": "data", "value": school},
                  {"id": "sc-class", "property": "value", "value": None},
                  {"id": {"page": "school", "type": "lang-switch"}, "property": "value",
                   "value": "vi"}],
    }


def _answer(response: Any) -> str:
    """A callback's answer as text, non-ASCII unescaped ('' for no_update's 204 and for
    the private wall's guard refusing an anonymous callback with 401)."""
    if response.status_code in (204, 401):
        return ""
    assert response.status_code == 200, response.get_data(as_text=True)
    return json.dumps(response.get_json(), ensure_ascii=False)


def _signed_in(client: Any, username: str, password: str) -> None:
    form = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf" value="([^"]+)"', form)
    assert match is not None
    response = client.post("/login", data={"username": username, "password": password,
                                            "csrf": match.group(1)})
    assert response.status_code == 302, response.get_data(as_text=True)


def test_callbacks_refuse_other_schools(pg_url: str, tmp_path: Path) -> None:
    classes = seed(pg_url)
    # On a public wall the guard lets anonymous callbacks through: each must refuse itself.
    app = create_app(Settings(_env_file=None, data_dir=tmp_path), database_url=pg_url,
                     public_district=True)
    try:
        client = app.server.test_client()
        post = "/_dash-update-component"

        # Anonymous: the register callback shows no names.
        body = _answer(client.post(post, json=_register_call(classes[HN])))
        assert not any(name in body for name in HN_NAMES)

        _signed_in(client, TEACHER, TEACHER_PW)
        own = _answer(client.post(post, json=_register_call(classes[HN])))
        assert all(name in own for name in HN_NAMES)
        other = _answer(client.post(post, json=_register_call(classes[HT])))
        assert "sc-register-table" not in other
        assert not any(name in other for name in HT_NAMES)

        assert "diem-danh-THCS-HN" in _answer(client.post(post, json=_export_call(HN)))
        refused = _answer(client.post(post, json=_export_call(HT)))
        assert "diem-danh" not in refused and HT not in refused  # no file at all

        # Disabling the account ends its session at the next callback.
        with psycopg.connect(pg_url) as conn:
            conn.execute("update users set disabled = true where username = %s", (TEACHER,))
        again = _answer(client.post(post, json=_register_call(classes[HN])))
        assert not any(name in again for name in HN_NAMES)
        assert client.get(f"/school/{HN}").status_code == 302
    finally:
        close_app(app)


def test_wrong_logins_are_throttled(pg_url: str, tmp_path: Path) -> None:
    seed(pg_url)
    app = create_app(Settings(_env_file=None, data_dir=tmp_path), database_url=pg_url)
    try:
        client = app.server.test_client()
        form = client.get("/login?lang=en").get_data(as_text=True)
        match = re.search(r'name="csrf" value="([^"]+)"', form)
        assert match is not None
        data = {"username": TEACHER, "password": WRONG_PW, "csrf": match.group(1), "lang": "en"}
        codes = [client.post("/login", data=data).status_code for _ in range(5)]
        assert codes == [401] * 5
        # The limit holds even for the right password until the window has passed.
        blocked = client.post("/login", data=data | {"password": TEACHER_PW})
        assert blocked.status_code == 429
        assert "Too many failed sign-ins" in blocked.get_data(as_text=True)
        assert int(blocked.headers["Retry-After"]) >= 1
        # Open redirects are refused: a foreign "next" lands on the teacher's school.
        app2 = create_app(Settings(_env_file=None, data_dir=tmp_path), database_url=pg_url)
        try:
            other = app2.server.test_client()
            page = other.get("/login?next=//evil.example/x").get_data(as_text=True)
            assert "evil.example" not in page
            token = re.search(r'name="csrf" value="([^"]+)"', page)
            assert token is not None
            done = other.post("/login", data={"username": TEACHER, "password": TEACHER_PW,
                                              "csrf": token.group(1),
                                              "next": "https://evil.example/"})
            assert done.status_code == 302
            assert done.headers["Location"] == f"/school/{HN}?lang=vi"
        finally:
            close_app(app2)
    finally:
        close_app(app)


def test_sessions_end_with_password_change_and_age(pg_url: str, tmp_path: Path) -> None:
    classes = seed(pg_url)
    settings = Settings(_env_file=None, data_dir=tmp_path, token_ttl_minutes=60)
    app = create_app(settings, database_url=pg_url)
    try:
        client = app.server.test_client()
        post = "/_dash-update-component"
        _signed_in(client, TEACHER, TEACHER_PW)
        assert HN_NAMES[0] in _answer(client.post(post, json=_register_call(classes[HN])))
        # Older than the token lifetime: over, however often the screen has refreshed.
        with client.session_transaction() as sess:
            sess["t"] = int(time.time()) - 61 * 60
        assert client.get(f"/school/{HN}").status_code == 302
        assert HN_NAMES[0] not in _answer(client.post(post, json=_register_call(classes[HN])))

        # A password changed elsewhere ends the sessions opened with the old one.
        _signed_in(client, TEACHER, TEACHER_PW)
        assert HN_NAMES[0] in _answer(client.post(post, json=_register_call(classes[HN])))
        with psycopg.connect(pg_url) as conn:
            set_password(conn, username=TEACHER, password="mat-khau-moi")
        assert HN_NAMES[0] not in _answer(client.post(post, json=_register_call(classes[HN])))

        # Signing out takes the form's token; GET /logout asks first.
        _signed_in(client, TEACHER, "mat-khau-moi")
        confirm = client.get("/logout")
        assert confirm.status_code == 200 and 'id="logout-form"' in confirm.get_data(True)
        assert client.post("/logout", data={"csrf": "forged"}).status_code == 302
        assert client.get(f"/school/{HN}").status_code == 200  # still signed in
        token = re.search(r'name="csrf" value="([^"]+)"', confirm.get_data(True))
        assert token is not None
        out = client.post("/logout", data={"csrf": token.group(1), "lang": "en"})
        assert out.headers["Location"] == "/login?lang=en&out=1"
        assert client.get(f"/school/{HN}").status_code == 302
        assert "You have signed out" in client.get(out.headers["Location"]).get_data(True)
    finally:
        close_app(app)


def test_private_district_wall(pg_url: str, tmp_path: Path) -> None:
    seed(pg_url)
    settings = Settings(_env_file=None, data_dir=tmp_path)
    public = create_app(settings, database_url=pg_url, public_district=True)
    private = create_app(settings, database_url=pg_url)  # the default (issue #12)
    district_call = {
        "output": "..clock-time.children...clock-date.children..",
        "outputs": [{"id": "clock-time", "property": "children"},
                    {"id": "clock-date", "property": "children"}],
        "inputs": [], "changedPropIds": [], "state": [],
    }
    frame_call = {
        "output": "nav.children", "outputs": {"id": "nav", "property": "children"},
        "inputs": [{"id": "page", "property": "pathname", "value": "/"},
                   {"id": "page", "property": "search", "value": "?lang=vi"}],
        "changedPropIds": ["page.pathname"], "state": [],
    }
    try:
        anonymous = public.server.test_client()
        assert anonymous.get("/").status_code == 200
        assert anonymous.get("/equipment?lang=en").headers["Location"] == (
            "/login?lang=en&next=%2Fequipment%3Flang%3Den")
        walled = private.server.test_client()
        assert walled.get("/?lang=en").headers["Location"] == (
            "/login?lang=en&next=%2F%3Flang%3Den")
        # Only the frame answers before a login (it sends the browser to the form).
        assert walled.post("/_dash-update-component", json=district_call).status_code == 401
        assert walled.post("/_dash-update-component", json=frame_call).status_code == 200
        _signed_in(walled, TEACHER, TEACHER_PW)
        assert walled.get("/").status_code == 200
        switch_call = {
            "output": "page-content.children",
            "outputs": {"id": "page-content", "property": "children"},
            "inputs": [{"id": "page", "property": "pathname", "value": "/"}],
            "changedPropIds": ["page.pathname"],
            "state": [{"id": "page", "property": "search", "value": "?lang=vi"}],
        }
        page = _answer(walled.post("/_dash-update-component", json=switch_call))
        assert "auth-not-allowed" in page and "auth-own-school" in page  # a school's staff
        assert "tiles" not in page
    finally:
        close_app(public)
        close_app(private)
