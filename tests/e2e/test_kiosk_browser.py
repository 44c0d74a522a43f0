"""Kiosk mode (issue #13) in a real headless Chromium against a real `smartschool dashboard`
process and the real PostgreSQL, in Vietnamese and English: a wall screen signed in as the
kiosk opens ``/?kiosk=1`` and gets no navigation, the district, targets and equipment
views in turn at SMARTSCHOOL_DASHBOARD_KIOSK_ROTATE_S (short here), none with a button;
when the dashboard process is stopped the screen says it is reconnecting, and when it is
started again on the same port the screen reloads by itself and goes on rotating.
Set SMARTSCHOOL_E2E_ARTIFACTS to keep the screenshots.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, wait_port
from tests.e2e.browser import page_text, screenshot, text_of, wait_for
from tests.e2e.test_dashboard_browser import STUDENTS, TZ, seed
from tests.e2e.test_dashboard_login import login_through_form
from tests.e2e.test_wall_browser import ACKED_BY, seed_alarms

pytestmark = pytest.mark.e2e

KIOSK_TOKEN = "kiosk-rotation-token-" + "r" * 20
SECRET = "kiosk-test-session-secret-" + "s" * 30
ROTATE_S = 3
VIEWS = ("district", "kpi", "equipment")
WORDS = {
    "vi": {"reconnecting": "Mất kết nối với máy chủ — đang kết nối lại…",
           "district": "Các trường theo phường", "kpi": "Chỉ tiêu kế hoạch chuyển đổi số",
           "holdback": "Phường, trường chưa đạt", "equipment": "Thiết bị toàn quận",
           "tabs": ["Tổng quan", "Chỉ tiêu", "Thiết bị"]},
    "en": {"reconnecting": "Lost the connection to the server — reconnecting…",
           "district": "Schools by ward", "kpi": "The plan's digital transformation targets",
           "holdback": "Wards and schools short of a target",
           "equipment": "Equipment across the district",
           "tabs": ["Overview", "Targets", "Equipment"]},
}


class DashboardProcess:
    """`smartschool dashboard` as a wall's server runs it, stoppable and restartable."""

    def __init__(self, tmp: Path, database_url: str) -> None:
        self.port = free_port()
        self.log = tmp / "dashboard.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTSCHOOL_")}
        self.env |= {
            "SMARTSCHOOL_DATABASE_URL": database_url,
            "SMARTSCHOOL_DATA_DIR": str(tmp / "data"),
            "SMARTSCHOOL_DASHBOARD_HOST": "127.0.0.1",
            "SMARTSCHOOL_DASHBOARD_PORT": str(self.port),
            "SMARTSCHOOL_DASHBOARD_KIOSK_TOKEN": KIOSK_TOKEN,
            "SMARTSCHOOL_DASHBOARD_KIOSK_ROTATE_S": str(ROTATE_S),
            "SMARTSCHOOL_SECRET_KEY": SECRET,  # sessions outlive a restart, as in production
            "SMARTSCHOOL_TIMEZONE": TZ.key,
            "SMARTSCHOOL_LANGUAGE": "vi",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "smartschool", "dashboard"],
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_port(self.port, timeout=60)
        except TimeoutError:
            raise AssertionError(self.log.read_text(errors="replace")) from None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # as systemd stops it for a restart
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


@pytest.fixture
def dashboard(pg_url: str, tmp_path: Path) -> Any:
    server = DashboardProcess(tmp_path, pg_url)
    yield server
    server.stop()


def content(driver: Any, css: str) -> str:
    """The text an element carries (textContent: headings are upper-cased by CSS)."""
    return str(driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';", css))


def active_view(driver: Any) -> str:
    return str(driver.execute_script(
        "const e = document.querySelector('#kiosk .kiosk-view.active');"
        " return e ? e.id.replace('kiosk-view-', '') : '';"))


_LOG_ROTATION = """
window.__kioskLog = [];
const note = () => {
    const e = document.querySelector('#kiosk .kiosk-view.active');
    const view = e ? e.id.replace('kiosk-view-', '') : '';
    const log = window.__kioskLog;
    if (view && (!log.length || log[log.length - 1][0] !== view)) {
        log.push([view, performance.now() / 1000]);
    }
};
new MutationObserver(note).observe(document.body,
    {subtree: true, attributes: true, attributeFilter: ['class']});
note();
"""


def log_rotation(driver: Any) -> None:
    """Record each change of view in the page itself, with the browser's time: polling
    from here would miss a turn whenever the machine is busy."""
    driver.execute_script(_LOG_ROTATION)


def rotation_log(driver: Any, entries: int, timeout: float) -> list[tuple[str, float]]:
    def enough() -> list[Any] | None:
        log = list(driver.execute_script("return window.__kioskLog || [];"))
        return log if len(log) >= entries else None

    found = wait_for(enough, timeout=timeout, what=f"{entries} views in turn")
    return [(str(v), float(at)) for v, at in found]


def in_turn(views: list[str]) -> bool:
    """Every view followed by the next one in VIEWS, each of them seen."""
    return set(views) == set(VIEWS) and all(
        VIEWS[(VIEWS.index(a) + 1) % len(VIEWS)] == b
        for a, b in itertools.pairwise(views))


def banner_shown(driver: Any) -> str:
    return str(driver.execute_script(
        "const e = document.querySelector('.kiosk-reconnect.shown');"
        " return e && getComputedStyle(e).display !== 'none' ? e.innerText : '';"))


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_kiosk_rotates_and_reconnects(lang: str, pg_url: str, dashboard: DashboardProcess,
                                      browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    words = WORDS[lang]
    seed(pg_url)
    seed_alarms(pg_url)
    dashboard.start()
    driver = browser
    driver.get(f"{dashboard.url}login?lang={lang}")
    login_through_form(driver, dashboard.url, "kiosk", KIOSK_TOKEN)
    driver.get(f"{dashboard.url}?kiosk=1&lang={lang}")

    # Full screen: no navigation, no language switch, the district view first.
    wait_for(lambda: active_view(driver) == "district", what="the district view")
    wait_for(lambda: words["district"] in content(driver, "#kiosk-view-district"),
             what="the wall's texts")
    assert driver.execute_script(
        "const n = document.querySelector('#nav'); return !n || n.children.length === 0"
        " || getComputedStyle(n).display === 'none';")
    assert not driver.find_element(By.CSS_SELECTOR, "#kiosk .lang-switch").is_displayed()
    assert not banner_shown(driver)
    assert driver.execute_script(
        "return Array.from(document.querySelectorAll('#kiosk-tabs .kiosk-tab'))"
        ".map(e => e.textContent);") == words["tabs"]

    # Round and round in the order district, targets, equipment, every ROTATE_S seconds.
    # The cadence is the browser's timer, the same in every language: measured once (vi).
    cadence = lang == "vi"
    log_rotation(driver)
    seen = rotation_log(driver, entries=5 if cadence else 3, timeout=12 * ROTATE_S + 20)
    assert in_turn([v for v, _ in seen]), seen
    if cadence:
        # the first change came at any time after the log began: the gaps after it count
        gaps = [b - a for (_, a), (_, b) in itertools.pairwise(seen[1:])]
        # The browser's timer keeps its cadence: on a busy machine one turn comes late and
        # the next one sooner, but on average every ROTATE_S seconds.
        assert len(gaps) >= 3 and min(gaps) > 0.3 * ROTATE_S, gaps
        assert 0.8 * ROTATE_S < sum(gaps) / len(gaps) < 2 * ROTATE_S, gaps

    # Each view shows its own data, read-only, and no person.
    wait_for(lambda: active_view(driver) == "kpi", timeout=12 * ROTATE_S, what="targets")
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#kiosk-kpi-targets table"),
             what="the targets table")
    assert words["kpi"] in content(driver, "#kiosk-view-kpi")
    # The kiosk sees the wards and schools that hold the district back.
    assert words["holdback"] in content(driver, "#kiosk-view-kpi")
    assert driver.find_elements(By.CSS_SELECTOR, "#kiosk-kpi-holdback table")
    screenshot(driver, tmp_path, f"kiosk-kpi-{lang}.png")
    wait_for(lambda: active_view(driver) == "equipment", timeout=12 * ROTATE_S,
             what="equipment")
    wait_for(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#wall-eq-table tbody tr")) == 4,
             what="a row per school")
    assert words["equipment"] in content(driver, "#kiosk-view-equipment")
    assert text_of(driver, "#wall-eq-row-THCS-TT td:nth-child(4)") == "1"  # its gate is offline
    screenshot(driver, tmp_path, f"kiosk-equipment-{lang}.png")
    # Nothing to press or type in, in any view (the hidden language switch aside).
    assert not driver.execute_script(
        "return Array.from(document.querySelectorAll("
        "'#kiosk button, #kiosk input, #kiosk select, #kiosk textarea'))"
        ".filter(e => e.tagName === 'BUTTON' || e.closest('.lang-switch') === null)"
        ".map(e => e.outerHTML);")
    body = page_text(driver)
    assert ACKED_BY not in body
    for _code, _school, _cls, name, _mins in STUDENTS:
        assert name not in body, name

    # The dashboard goes away: the screen says so, in its language, and keeps its figures.
    driver.execute_script("window.__beforeRestart = true;")
    dashboard.stop()
    shown = wait_for(lambda: banner_shown(driver), timeout=20, what="the reconnecting banner")
    assert shown == words["reconnecting"]
    assert active_view(driver)  # the last view stays on screen under the banner
    screenshot(driver, tmp_path, f"kiosk-reconnecting-{lang}.png")
    time.sleep(2 * ROTATE_S)  # a while away: still saying so
    assert banner_shown(driver) == words["reconnecting"]

    # Back on the same port: the screen reloads by itself and rotates on, still the kiosk.
    dashboard.start()
    wait_for(lambda: not driver.execute_script("return window.__beforeRestart === true;"),
             timeout=30, what="the page reloaded after the restart")
    wait_for(lambda: active_view(driver) == "district" and not banner_shown(driver),
             timeout=20, what="the wall back without the banner")
    wait_for(lambda: words["district"] in content(driver, "#kiosk-view-district"),
             what="the wall's texts after the restart")
    assert "kiosk=1" in driver.current_url and f"lang={lang}" in driver.current_url
    log_rotation(driver)
    after = rotation_log(driver, entries=4 if cadence else 3, timeout=12 * ROTATE_S + 20)
    assert in_turn([v for v, _ in after]), after
    assert not banner_shown(driver)
    screenshot(driver, tmp_path, f"kiosk-after-restart-{lang}.png")
