"""The equipment page in a real headless Chromium against the real PostgreSQL:
reached through the nav link and the login form, assets with lamp bars, open alarms
acknowledged and cleared from the page (recorded with the facility manager's username),
the chart, the language switch, and the same page read-only for the control room.
Set SMARTSCHOOL_E2E_ARTIFACTS to keep screenshots.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.settings import Settings
from dashboard.app import DashboardServer
from hub.accounts.auth import create_user
from hub.equipment.evaluator import Evaluator
from hub.equipment.rules import RuleSet
from tests.e2e.browser import click, click_until, page_text, screenshot, text_of, wait_for
from tests.e2e.test_dashboard_login import fill_login, login_through_form

pytestmark = pytest.mark.e2e

SEED = """
insert into schools (id, name, level, ward) values
    ('thcs-hn', 'Trường THCS Hòa Nghĩa', 'thcs', 'Hòa Nghĩa');
insert into rooms (school_id, name) values ('thcs-hn', 'P.101'), ('thcs-hn', 'P.102');
insert into devices (id, school_id, role, room_id, last_seen, state) values
    ('hn-r101', 'thcs-hn', 'classroom', (select id from rooms where name = 'P.101'), now(),
     'online'),
    ('hn-r102', 'thcs-hn', 'classroom', (select id from rooms where name = 'P.102'), now(),
     'online');
insert into assets (tag, type, model, serial, school_id, room_id, purchase_date, warranty_end,
                    rated_lamp_hours, device_id) values
    ('PJ-HN-101', 'projector', 'Epson EB-X51', 'SN1', 'thcs-hn',
     (select id from rooms where name = 'P.101'), '2021-01-01', '2024-01-01', 4000, 'hn-r101'),
    ('PJ-HN-102', 'projector', 'Sony VPL-EX455', 'SN2', 'thcs-hn',
     (select id from rooms where name = 'P.102'), '2023-01-01', '2026-01-01', 4000, 'hn-r102');
"""
MANAGER, MANAGER_PW = "ql.thietbi.hn", "mat-khau-quan-ly"
CONTROL, CONTROL_PW = "phong.dieu.hanh", "mat-khau-dieu-hanh"


def seed(url: str) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEED.encode())
        rows: list[tuple[Any, ...]] = []
        for i in range(60):  # an hour of readings every minute
            ts = now - timedelta(minutes=60 - i)
            rows += [
                ("hn-r101", i, "projector.lamp_hours", ts, "PJ-HN-101", 3700 + i / 60, None),
                ("hn-r101", i, "projector.power", ts, "PJ-HN-101", None, "on"),
                ("hn-r102", i, "projector.lamp_hours", ts, "PJ-HN-102", 1200.0, None),
                ("hn-r102", i, "projector.power", ts, "PJ-HN-102", None, "off"),
                ("hn-r102", i, "projector.error", ts, "PJ-HN-102", None,
                 "fan" if i == 59 else "ok"),
            ]
        with conn.cursor() as cur:
            cur.executemany(
                "insert into telemetry (device_id, seq, metric, ts, received_at, asset,"
                " value_num, value_text) values (%s, %s, %s, %s, now(), %s, %s, %s)", rows)
        ev = Evaluator(url, rules=RuleSet(no_data_after_s=3600))
        ev.run_once(conn)
    with psycopg.connect(url) as conn:
        create_user(conn, username=MANAGER, password=MANAGER_PW, role="facility_manager",
                    school_id="thcs-hn", full_name="Trần Văn Kỹ")
        create_user(conn, username=CONTROL, password=CONTROL_PW, role="control_room")


def alarm_state(url: str, alarm_type: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("select state from alarms where type = %s", (alarm_type,)).fetchone()
        return str(row[0]) if row else ""


def test_equipment_page(pg_url: str, browser: Any, tmp_path: Path) -> None:
    seed(pg_url)
    # Reached from the public wall's nav (SMARTSCHOOL_DASHBOARD_PUBLIC_WALL).
    settings = Settings(_env_file=None, data_dir=tmp_path, dashboard_public_wall=True)
    with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=0) as server:
        browser.get(server.url)
        # from the district page, through the nav link
        link = wait_for(lambda: browser.find_element("id", "nav-nav_equipment"),
                        what="the Thiết bị nav link")
        assert link.text == "Thiết bị"
        link.click()
        # The page needs a login: the form, then back on the equipment page.
        wait_for(lambda: "/login" in browser.current_url, what="the login form")
        fill_login(browser, MANAGER, MANAGER_PW)
        wait_for(lambda: "/equipment" in browser.current_url, what="back on the page")
        wait_for(lambda: "PJ-HN-101" in page_text(browser), what="the asset table")
        assert text_of(browser, "#nav-user-name") == "Trần Văn Kỹ"
        text = page_text(browser)
        for expected in ("Quản lý thiết bị", "Trường THCS Hòa Nghĩa", "P.101", "Epson EB-X51",
                         "Đang bật", "3\u202f701 / 4000 h (93%)", "Bóng đèn sắp hết tuổi thọ",
                         "Máy chiếu báo lỗi", "Hồ sơ số đầy đủ", "100% (2/2)"):
            assert expected in text, expected
        assert browser.find_elements("css selector", ".eq-lamp-warn"), "amber lamp bar"
        wait_for(lambda: browser.find_elements("css selector", "#eq-chart .scatterlayer path"),
                 what="the chart")
        screenshot(browser, tmp_path, "equipment-vi.png")

        # acknowledge the projector error with a comment, then clear the lamp alarm
        box = browser.find_element("id", "eq-comment")
        box.send_keys("đã báo kỹ thuật")
        wait_for(lambda: browser.find_element("id", "eq-comment").get_attribute("value")
                 == "đã báo kỹ thuật", what="the comment typed")
        click_until(browser, "//div[contains(@class,'eq-alarm')][.//span[text()="
                    "'Máy chiếu báo lỗi']]//button[text()='Xác nhận']",
                    lambda: alarm_state(pg_url, "projector_error") == "active_ack",
                    what="the acknowledgement stored")
        wait_for(lambda: "Đã xác nhận cảnh báo" in page_text(browser), what="confirmation")
        with psycopg.connect(pg_url) as conn:
            assert conn.execute("select acked_by, ack_comment from alarms"
                                " where type = 'projector_error'").fetchone() == (
                MANAGER, "đã báo kỹ thuật")  # the person, not "dashboard"
        click_until(browser, "//div[contains(@class,'eq-alarm')][.//span[text()="
                    "'Bóng đèn sắp hết tuổi thọ']]//button[text()='Xoá']",
                    lambda: alarm_state(pg_url, "lamp_life") == "cleared", what="clear stored")
        with psycopg.connect(pg_url) as conn:
            assert conn.execute("select cleared_by from alarms where type = 'lamp_life'"
                                ).fetchone() == (MANAGER,)
        wait_for(lambda: "Bóng đèn sắp hết tuổi thọ" not in text_of(browser, "#eq-alarms"),
                 what="the cleared alarm leaves the list")

        # English via the URL
        browser.get(server.url.rstrip("/") + "/equipment?lang=en")
        wait_for(lambda: "Equipment management" in page_text(browser), what="English page")
        assert "Projector error" in page_text(browser)
        screenshot(browser, tmp_path, "equipment-en.png")

        # The control room watches: the open alarm without buttons, and a note saying so.
        click(browser, "#nav-logout", "the sign-out button")
        wait_for(lambda: "/login" in browser.current_url, what="signed out")
        browser.get(server.url.rstrip("/") + "/equipment")
        assert "/login" in browser.current_url
        login_through_form(browser, server.url, CONTROL, CONTROL_PW)
        wait_for(lambda: "Máy chiếu báo lỗi" in text_of(browser, "#eq-alarms"),
                 what="the open alarm for the control room")
        assert "Chỉ xem" in text_of(browser, "#eq-read-only")
        assert not browser.find_elements("css selector", "#eq-alarms button")
        assert not browser.find_element("id", "eq-comment").is_displayed()
        screenshot(browser, tmp_path, "equipment-control-room.png")
