"""The district wall of issue #13 in a real headless Chromium against the real PostgreSQL:
schools grouped by ward, the panel of open major alarms and offline devices, the strip
of the plan's indicators, in Vietnamese and English, on a public wall (counts only); and
a wall that counts by the clock it is given, as the demo's does.
Set SMARTSCHOOL_E2E_ARTIFACTS to keep the screenshots.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.settings import Settings
from dashboard.app import DashboardServer
from dashboard.formatting import mask_name
from tests.e2e.browser import class_of, page_text, screenshot, text_of, wait_for
from tests.e2e.test_dashboard_browser import STUDENTS, TZ, seed

pytestmark = pytest.mark.e2e

# (subject, school, device, type, severity, state): what the attention panel must list
ALARMS = [
    ("room-th-ad-3a", "TH-AD", "room-th-ad-3a", "device_offline", "major", "active_unack"),
    ("gate-thcs-hn-1", "THCS-HN", "gate-thcs-hn-1", "no_data", "critical", "active_ack"),
    ("gate-mn-ht-1", "MN-HT", "gate-mn-ht-1", "no_data", "minor", "active_unack"),
    ("gate-thcs-tt-1", "THCS-TT", "gate-thcs-tt-1", "device_offline", "major", "cleared"),
]
ACKED_BY = "ql.nguyen-van-bao"
WARD_OF = {"MN-HT": "hai-thanh", "TH-AD": "anh-dung", "THCS-HN": "hoa-nghia",
           "THCS-TT": "tan-thanh"}


def seed_alarms(url: str) -> dict[str, int]:
    now = datetime.now(TZ)
    ids: dict[str, int] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for minutes, (subject, school, dev, kind, severity, state) in enumerate(ALARMS):
            row = conn.execute(
                "insert into alarms (subject, device_id, school_id, type, severity, state,"
                " message, raised_at, last_raised_at, acked_by, ack_comment)"
                " values (%s,%s,%s,%s,%s,%s,'test',%s,%s,%s,'gọi nhà cung cấp') returning id",
                (subject, dev, school, kind, severity, state, now - timedelta(minutes=minutes),
                 now - timedelta(minutes=minutes), ACKED_BY),
            ).fetchone()
            assert row
            ids[subject] = row[0]
    return ids


def _children_ids(driver: Any, css: str, prefix: str) -> list[str]:
    return list(driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.id)"
        ".filter(i => i.startsWith(arguments[1]));", css, prefix))


def test_wall_by_ward_with_alarms_and_targets(pg_url: str, browser: Any,
                                              tmp_path: Path) -> None:
    seed(pg_url)
    alarm_ids = seed_alarms(pg_url)
    settings = Settings(_env_file=None, data_dir=tmp_path, language="vi", timezone=TZ.key,
                        dashboard_public_wall=True)
    with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=0) as server:
        driver = browser
        driver.get(server.url)
        wait_for(lambda: len(_children_ids(driver, "#tiles .ward", "ward-")) == 4,
                 what="a group per ward")
        # Wards in alphabetical order, each with its own school's tile in it.
        assert _children_ids(driver, "#tiles .ward", "ward-") == [
            "ward-anh-dung", "ward-hai-thanh", "ward-hoa-nghia", "ward-tan-thanh"]
        for sid, group in WARD_OF.items():
            assert _children_ids(driver, f"#ward-{group} .tile", "tile-") == [f"tile-{sid}"]
        assert text_of(driver, "#ward-anh-dung .ward-name") == "Phường Anh Dũng"
        assert text_of(driver, "#ward-anh-dung .ward-sum") == "1 trường · đã đến 67%"
        assert "tile-alert" in class_of(driver, "#tile-THCS-TT")  # the tiles keep their colour

        # Open major alarms: the critical one first, the minor and the cleared left out;
        # offline devices by school; no username or comment on a public wall.
        wait_for(lambda: text_of(driver, "#wall-alarm-count") == "2", what="two major alarms")
        assert _children_ids(driver, "#wall-alarm-list li", "wall-alarm-") == [
            f"wall-alarm-{alarm_ids['gate-thcs-hn-1']}",
            f"wall-alarm-{alarm_ids['room-th-ad-3a']}"]
        first = text_of(driver, f"#wall-alarm-{alarm_ids['gate-thcs-hn-1']}")
        assert "Khẩn cấp" in first and "Không nhận được dữ liệu" in first
        assert "THCS Hòa Nghĩa" in first
        assert text_of(driver, "#wall-offline-count") == "2"
        assert _children_ids(driver, "#wall-offline-list li", "wall-offline-") == [
            "wall-offline-room-th-ad-3a", "wall-offline-gate-thcs-tt-1"]
        assert "Tiểu học Anh Dũng · Phòng học" in text_of(driver, "#wall-offline-room-th-ad-3a")

        # The plan's indicators, the district against each target.
        wait_for(lambda: len(_children_ids(driver, "#wall-kpis .wall-kpi", "wall-kpi-")) == 7,
                 timeout=30, what="the indicator strip")
        gates = text_of(driver, "#wall-kpi-smart_gate_schools")
        # Every school's gate took card passages today: the seed's events are all by card.
        assert "100.0%" in gates and "mục tiêu 100%" in gates
        assert "wall-kpi-met" in class_of(driver, "#wall-kpi-smart_gate_schools")
        # The seed's pupils have no national ids: no learner record counts.
        assert "0.0%" in text_of(driver, "#wall-kpi-learners_e_records")
        assert "wall-kpi-short" in class_of(driver, "#wall-kpi-learners_e_records")
        body = page_text(driver)
        for label in ("Các trường theo phường", "Cảnh báo nghiêm trọng · thiết bị mất kết nối",
                      "Chỉ tiêu kế hoạch (toàn quận)", "Cổng trường thông minh"):
            assert label in body, label
        for _code, _school, _cls, name, _mins in STUDENTS:
            assert name not in body and mask_name(name) not in body, name
        assert ACKED_BY not in body and "nhà cung cấp" not in body
        screenshot(driver, tmp_path, "wall-vi.png")

        # English from the URL, as a wall screen pins its language.
        driver.get(server.url + "?lang=en")
        wait_for(lambda: "Schools by ward" in page_text(driver), what="the English wall")
        wait_for(lambda: "Smart gates" in text_of(driver, "#wall-kpis"), timeout=30,
                 what="the English strip")
        wait_for(lambda: "Critical" in text_of(driver, "#wall-alarm-list"),
                 what="the English alarms")
        body = page_text(driver)
        for label in ("Ward Anh Dũng", "1 school · 67% arrived", "Major alarms · devices offline",
                      "Devices offline", "The plan's targets (whole district)", "target 100%"):
            assert label in body, label
        assert "Phường Anh Dũng" not in body and "Các trường theo phường" not in body
        screenshot(driver, tmp_path, "wall-en.png")


def test_wall_counts_by_the_clock_it_is_given(pg_url: str, browser: Any,
                                              tmp_path: Path) -> None:
    """The demo replays a morning whenever it is started: with the simulation's clock at
    06:20 nobody is absent yet, where the real clock (10:00 in TZ) finds two absent."""
    seed(pg_url)
    today = datetime.now(TZ).date()
    early = datetime(today.year, today.month, today.day, 6, 20, tzinfo=TZ)
    settings = Settings(_env_file=None, data_dir=tmp_path, language="vi", timezone=TZ.key,
                        dashboard_public_wall=True)
    with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=0,
                         now=lambda: early) as server:
        browser.get(server.url)
        wait_for(lambda: text_of(browser, "#clock-time") == "06:20", what="the given clock")
        wait_for(lambda: text_of(browser, "#kpi-enrolled .kpi-value") == "10", what="totals")
        assert text_of(browser, "#kpi-absent .kpi-value") == "0"
        assert "Chưa đến 2" in text_of(browser, "#kpi-absent")  # not due yet, not absent
        screenshot(browser, tmp_path, "wall-demo-clock.png")
    with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=0) as server:
        browser.get(server.url)
        wait_for(lambda: text_of(browser, "#kpi-enrolled .kpi-value") == "10", what="totals")
        assert text_of(browser, "#kpi-absent .kpi-value") == "2"
        assert text_of(browser, "#clock-time") != "06:20"
