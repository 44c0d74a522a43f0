"""A school page for a school that does not exist says so, in a real headless Chromium,
instead of drawing an empty chart, empty lists and an empty register (issue #13)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.settings import Settings
from dashboard.app import DashboardServer
from hub.accounts.auth import create_user
from tests.e2e.browser import click_until, page_text, screenshot, text_of, wait_for
from tests.e2e.test_dashboard_login import login_through_form

pytestmark = pytest.mark.e2e

ADMIN, ADMIN_PW = "pgd.admin", "mat-khau-quan-tri-quan"


def _shown(driver: Any, css: str) -> bool:
    return bool(driver.execute_script(
        "const e = document.querySelector(arguments[0]);"
        " return !!e && getComputedStyle(e).display !== 'none';", css))


def test_unknown_school_page_says_so(pg_url: str, browser: Any, tmp_path: Path) -> None:
    with psycopg.connect(pg_url) as conn:
        create_user(conn, username=ADMIN, password=ADMIN_PW, role="district_admin")
    settings = Settings(_env_file=None, data_dir=tmp_path, language="vi")
    with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=0) as server:
        driver = browser
        driver.get(server.url + "school/NOPE")
        login_through_form(driver, server.url, ADMIN, ADMIN_PW)
        wait_for(lambda: "/school/NOPE" in driver.current_url, what="back on the school URL")
        wait_for(lambda: "NOPE" in text_of(driver, "#sc-status"), what="the notice")
        assert text_of(driver, "#sc-title") == "Không tìm thấy trường"
        assert text_of(driver, "#sc-status") == "Không có trường nào mang mã “NOPE” trong hệ thống."
        for part in ("#sc-kpis", "#sc-main", "#sc-register-panel"):
            assert not _shown(driver, part), part
        screenshot(driver, tmp_path, "school-unknown-vi.png")

        click_until(driver, "//label[normalize-space()='EN']",
                    lambda: "There is no school" in text_of(driver, "#sc-status"),
                    "the English notice")
        assert text_of(driver, "#sc-status") == "There is no school with the code “NOPE”."
        assert text_of(driver, "#sc-title") == "School not found"
        assert not _shown(driver, "#sc-main")
        assert "Không có trường" not in page_text(driver)
        screenshot(driver, tmp_path, "school-unknown-en.png")
