"""The warnings page (/warnings, issue 15) in a real headless Chromium against the real
PostgreSQL: reached through the login form, a tile per kind and each open warning in
Vietnamese, English with ?lang=en, the kind filter, and a facility manager who sees the
equipment kinds only. Screenshots go to /tmp/shots_F (and SMARTSCHOOL_E2E_ARTIFACTS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from selenium.webdriver.common.by import By

from core.settings import Settings
from dashboard.app import DashboardServer
from hub.warnings import runner
from tests.e2e.browser import page_text, screenshot, wait_for
from tests.e2e.test_dashboard_login import fill_login
from tests.integration.test_notify_support import VN
from tests.integration.test_warnings_runner import NOW, PASSWORD, seed

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots_F")


def _rows(browser: Any) -> list[str]:
    return [str(t) for t in browser.execute_script(
        "return [...document.querySelectorAll('#warn-table tbody tr')]"
        ".map(r => r.textContent)")]


def _tile(browser: Any, kind: str) -> str:
    return str(browser.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.textContent : '';",
        f"warn-tile-{kind}"))


def _shot(browser: Any, tmp_path: Path, name: str) -> None:
    shot = screenshot(browser, tmp_path, name)
    SHOTS.mkdir(exist_ok=True)
    (SHOTS / name).write_bytes(shot.read_bytes())


def test_warnings_page(pg_url: str, browser: Any, tmp_path: Path) -> None:
    seed(pg_url)
    with psycopg.connect(pg_url) as conn:
        runner.run(conn, now=NOW, tz=VN, trigger="test")
    settings = Settings(_env_file=None, data_dir=tmp_path, language="vi")
    with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=0) as server:
        base = server.url.rstrip("/")
        browser.set_window_size(1400, 1000)
        browser.get(base + "/warnings")
        wait_for(lambda: "/login" in browser.current_url, what="the login form")
        fill_login(browser, "admin", PASSWORD)
        wait_for(lambda: "/warnings" in browser.current_url, what="back on the page")
        wait_for(lambda: len(_rows(browser)) == 5, what="the five warnings")
        text = page_text(browser)
        for expected in ("Cảnh báo và dự báo", "Vắng học kéo dài", "Vắng học tăng bất thường",
                         "Đi muộn nhiều lần", "Bóng đèn máy chiếu sắp hết tuổi thọ",
                         "Lỗi thiết bị lặp lại", "Học sinh 01 (7A)", "vắng 3/30 ngày học",
                         "đi muộn 3 lần", "bóng đèn 3800/4000 giờ", "hết tuổi thọ ngày 27/12/2026",
                         "Tính lúc"):
            assert expected in text, expected
        wait_for(lambda: browser.execute_script(
            "const e = document.getElementById('nav-nav_warnings');"
            " return e && e.textContent") == "Cảnh báo", what="the navigation link")
        assert _tile(browser, "chronic_absence").startswith("1")
        _shot(browser, tmp_path, "warnings-vi.png")

        # The kind filter: only the projector lamp.
        wait_for(lambda: browser.execute_script(
            "const e = document.querySelector('#warn-kind input[value=lamp_end_of_life]');"
            " if (e) { e.click(); } return !!e;"), what="the lamp choice")
        wait_for(lambda: len(_rows(browser)) == 1, what="the filtered list")
        assert "PJ-W1" in _rows(browser)[0]

        browser.get(base + "/warnings?lang=en")
        wait_for(lambda: "Warnings and forecasts" in page_text(browser),
                 what="the English page")
        wait_for(lambda: len(_rows(browser)) == 5, what="the five warnings")
        text = page_text(browser)
        for expected in ("Chronic absence", "Rising absence", "Lateness pattern",
                         "Projector lamp end of life", "Repeat fault",
                         "absent 3 of the last 30 school days", "reaches its rated life on "
                         "2026-12-27", "projector error raised 3 times", "Computed at"):
            assert expected in text, expected
        _shot(browser, tmp_path, "warnings-en.png")

        # A facility manager: the equipment kinds only, no pupil, no class.
        browser.delete_all_cookies()
        browser.get(base + "/warnings")
        wait_for(lambda: "/login" in browser.current_url, what="the login form")
        fill_login(browser, "ql.w", PASSWORD)
        wait_for(lambda: "/warnings" in browser.current_url, what="back on the page")
        wait_for(lambda: len(_rows(browser)) == 2, what="the equipment warnings")
        text = page_text(browser)
        assert "Học sinh 01" not in text and "Vắng học kéo dài" not in text, text
        assert not browser.find_elements(By.ID, "warn-tile-chronic_absence")
        _shot(browser, tmp_path, "warnings-facility-manager.png")
