"""The exchange page (/exchange, issue 15) in a real headless Chromium against the real
PostgreSQL, after real pushes to real receivers on loopback: a district admin sees the
receivers and each delivery's state (sent; failed and retrying; given up), in Vietnamese
and English; a school admin is refused. Screenshots go to /tmp/shots_D/.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.settings import Settings
from dashboard.app import DashboardServer
from hub.accounts.auth import create_user
from hub.exchange import push
from hub.exchange.push_settings import PushSettings
from hub.exchange.push_worker import ExchangePushWorker
from tests.e2e.browser import page_text, screenshot, wait_for
from tests.e2e.test_dashboard_login import fill_login
from tests.integration.test_notify_support import (
    VN,
    gate_payload,
    ingest,
    recording_server,
    seed,
)

pytestmark = pytest.mark.e2e

PASSWORD = "pass-123456"
SHOTS = Path("/tmp/shots_D")


def _at(day: str, hm: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(f"{day}T{hm}:00").replace(tzinfo=VN)


def _pushed(url: str) -> None:
    """Three receivers after two days of pushes: one takes everything, one keeps
    failing (retrying), one refuses (given up)."""
    seed(url)
    ingest(url, [("gate-a1", gate_payload(1, "C0001", _at("2025-09-08", "06:50")))])
    with psycopg.connect(url, autocommit=True) as conn:
        create_user(conn, username="da", password=PASSWORD, role="district_admin",
                    school_id=None, full_name="Quản trị quận")
        create_user(conn, username="sa", password=PASSWORD, role="school_admin",
                    school_id="thcs-a")
    for ok, down, refuses in zip(recording_server(), recording_server(fail_first=99),
                                 recording_server(fail_first=99, fail_status=403),
                                 strict=True):
        with psycopg.connect(url, autocommit=True) as conn:
            for name, server in (("csdl-haiphong", ok), ("dss-quan", down),
                                 ("ioc-thanhpho", refuses)):
                push.add_endpoint(conn, name=name, url=server.url(f"/{name}"),
                                  kinds=["attendance_daily_aggregate"], secret="k" * 24,
                                  created_by="test")
        worker = ExchangePushWorker(
            url, settings=PushSettings(_env_file=None, lookback_days=1, backoff_base_s=600.0),
            tz=VN, clock=lambda: _at("2025-09-09", "09:00"))
        try:
            worker.run_once()
        finally:
            worker.stop()
        assert len(ok.delivered) == 2 and down.answered == [500, 500]
        assert refuses.answered == [403, 403]


def _rows(browser: Any, table: str) -> list[str]:
    return [str(t) for t in browser.execute_script(
        f"return [...document.querySelectorAll('#{table} tbody tr')].map(r => r.innerText)")]


def _keep(shot: Path, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(shot, SHOTS / name)


def test_exchange_page(pg_url: str, browser: Any, tmp_path: Path) -> None:
    _pushed(pg_url)
    settings = Settings(_env_file=None, data_dir=tmp_path, language="vi",
                        timezone="Asia/Ho_Chi_Minh")
    with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=0) as server:
        browser.set_window_size(1400, 1000)
        browser.get(server.url.rstrip("/") + "/exchange")
        wait_for(lambda: "/login" in browser.current_url, what="the login form")
        fill_login(browser, "da", PASSWORD)
        wait_for(lambda: "/exchange" in browser.current_url, what="back on the page")
        wait_for(lambda: len(_rows(browser, "xp-deliveries-table")) == 6, what="the deliveries")
        text = page_text(browser)
        for expected in ("Liên thông dữ liệu với thành phố", "Nơi nhận", "Lần gửi gần đây",
                         "Điểm danh theo ngày", "Lỗi, sẽ thử lại", "Đã bỏ", "Đã gửi"):
            assert expected in text, expected
        assert browser.find_element("id", "nav-nav_exchange").text == "Liên thông"
        endpoints = _rows(browser, "xp-endpoints-table")
        assert [r.split("\t", 1)[0] for r in endpoints] == [
            "csdl-haiphong", "dss-quan", "ioc-thanhpho"]
        tiles = {s: browser.find_element("css selector", f"#xp-tile-{s} .xp-tile-value").text
                 for s in ("queued", "sent", "failed", "dead")}
        assert tiles == {"queued": "0", "sent": "2", "failed": "2", "dead": "2"}
        deliveries = _rows(browser, "xp-deliveries-table")
        failed = [r for r in deliveries if "dss-quan" in r]
        assert len(failed) == 2 and all("HTTP 500" in r and "Lỗi, sẽ thử lại" in r
                                        for r in failed)
        assert any("09/09/2025" in r for r in deliveries)
        _keep(screenshot(browser, tmp_path, "exchange-vi.png"), "exchange-vi.png")

        browser.get(server.url.rstrip("/") + "/exchange?lang=en")
        wait_for(lambda: "Data exchange with the city" in page_text(browser),
                 what="the English page")
        wait_for(lambda: len(_rows(browser, "xp-deliveries-table")) == 6, what="the deliveries")
        text = page_text(browser)
        for expected in ("Receivers", "Recent deliveries", "Daily attendance",
                         "Failed, will retry", "Given up", "Sent"):
            assert expected in text, expected
        _keep(screenshot(browser, tmp_path, "exchange-en.png"), "exchange-en.png")

        # A school admin: not theirs, and none of its parts.
        browser.delete_all_cookies()
        browser.get(server.url.rstrip("/") + "/exchange")
        wait_for(lambda: "/login" in browser.current_url, what="the login form")
        fill_login(browser, "sa", PASSWORD)
        wait_for(lambda: browser.find_elements("id", "auth-not-allowed"), what="the refusal")
        assert not browser.find_elements("id", "xp-deliveries")
        assert "csdl-haiphong" not in page_text(browser)
