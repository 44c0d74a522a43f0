"""The plan's targets page (/kpi, issue #13) in a real headless Chromium against the real
PostgreSQL: reached through the login form, the district against the plan with the
numbers the API gives, the wards and schools that hold it back first, English with
?lang=en, and a school admin who sees their own school only.
Set SMARTSCHOOL_E2E_ARTIFACTS to keep screenshots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from dashboard.app import DashboardServer
from tests.e2e.browser import page_text, screenshot, wait_for
from tests.e2e.test_dashboard_login import fill_login
from tests.integration.test_kpi import PASSWORD
from tests.integration.test_kpi import seed as seed_district

pytestmark = pytest.mark.e2e


def _rows(browser: Any, table: str) -> list[str]:
    return [str(t) for t in browser.execute_script(
        f"return [...document.querySelectorAll('#{table} tbody tr')].map(r => r.textContent)")]


def test_kpi_page(pg_url: str, browser: Any, tmp_path: Path) -> None:
    seed_district(pg_url)
    settings = Settings(_env_file=None, data_dir=tmp_path, language="vi")
    with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=0) as server:
        browser.get(server.url.rstrip("/") + "/kpi")
        wait_for(lambda: "/login" in browser.current_url, what="the login form")
        fill_login(browser, "admin", PASSWORD)
        wait_for(lambda: "/kpi" in browser.current_url, what="back on the page")
        wait_for(lambda: len(_rows(browser, "kpi-targets-table")) == 7, what="the targets")
        text = page_text(browser)
        for expected in ("Chỉ tiêu kế hoạch chuyển đổi số", "Toàn quận",
                         "Người học có hồ sơ số với định danh", "Hằng năm", "Chưa đạt"):
            assert expected in text, expected
        assert browser.find_element("id", "nav-nav_kpi").text == "Chỉ tiêu"
        learners = browser.find_element("id", "kpi-row-learners_e_records").text
        assert "85.7 %" in learners and "6 / 7" in learners and "2025" in learners
        equipment = browser.find_element("id", "kpi-row-equipment_e_records").text
        assert "80 %" in equipment and "75.0 %" in equipment and "3 / 4" in equipment
        # Held back, worst first: Phường 1 misses all seven, then its school A (five),
        # school B (three), then Phường 2 and its school C (parents only).
        holdback = _rows(browser, "kpi-holdback-table")
        assert [r.split(" ", 1)[0] for r in holdback] == [
            "Phường", "Trường", "Trường", "Phường", "Trường"]
        assert "Phường 1" in holdback[0] and "Trường THCS A" in holdback[1]
        assert "Trường THCS B" in holdback[2] and "Phường 2" in holdback[3]
        shot = screenshot(browser, tmp_path, "kpi.png")
        Path("/tmp/shots").mkdir(exist_ok=True)
        Path("/tmp/shots/kpi.png").write_bytes(shot.read_bytes())

        browser.get(server.url.rstrip("/") + "/kpi?lang=en")
        wait_for(lambda: "The plan's digital transformation targets" in page_text(browser),
                 what="the English page")
        wait_for(lambda: len(_rows(browser, "kpi-targets-table")) == 7, what="the targets")
        text = page_text(browser)
        for expected in ("Whole district", "Learners with a digital record and national id",
                         "Every year", "Not met", "Wards and schools short of a target"):
            assert expected in text, expected
        screenshot(browser, tmp_path, "kpi-en.png")

        # A school admin: their school against the plan, no wards, no other school.
        browser.delete_all_cookies()
        browser.get(server.url.rstrip("/") + "/kpi")
        wait_for(lambda: "/login" in browser.current_url, what="the login form")
        fill_login(browser, "admin-b", PASSWORD)
        wait_for(lambda: "/kpi" in browser.current_url, what="back on the page")
        wait_for(lambda: len(_rows(browser, "kpi-targets-table")) == 7, what="the targets")
        head = browser.execute_script("return document.getElementById('kpi-head').textContent")
        assert head == "Trường THCS B"  # textContent: CSS upper-cases the heading
        learners = browser.find_element("id", "kpi-row-learners_e_records").text
        assert "100.0 %" in learners and "2 / 2" in learners
        assert not browser.find_elements("id", "kpi-holdback-table")
        assert "Trường THCS A" not in page_text(browser)
