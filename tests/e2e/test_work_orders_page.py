"""Work orders on the equipment page (issue #13) in a real headless Chromium against the
real PostgreSQL: a facility manager opens one from an alarm, reassigns it and closes it
with a note, each recorded as the API records it (hub.equipment.actions); the asset's
history under the chart shows them; Vietnamese and English; the control room sees the
orders without buttons. Set SMARTSCHOOL_E2E_ARTIFACTS to keep screenshots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.settings import Settings
from dashboard.app import DashboardServer
from tests.e2e.browser import (
    class_of,
    click,
    click_until,
    page_text,
    screenshot,
    text_of,
    wait_for,
)
from tests.e2e.test_dashboard_login import fill_login, login_through_form
from tests.e2e.test_equipment_page import CONTROL, CONTROL_PW, MANAGER, MANAGER_PW, seed

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

LAMP = "Bóng đèn sắp hết tuổi thọ"


def orders(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return [tuple(r) for r in conn.execute(
            "select w.id, a.type, w.asset_tag, w.state, w.assignee, w.note, w.opened_by,"
            " w.closed_by, w.close_note from work_orders w join alarms a on a.id = w.alarm_id"
            " order by w.id")]


def type_into(driver: Any, element: str, text: str) -> None:
    box = driver.find_element("id", element)
    box.clear()
    box.send_keys(text)
    wait_for(lambda: driver.find_element("id", element).get_attribute("value") == text,
             what=f"{text!r} typed")


def test_work_orders_from_an_alarm(pg_url: str, browser: Any, tmp_path: Path) -> None:
    seed(pg_url)
    settings = Settings(_env_file=None, data_dir=tmp_path, language="vi")
    with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=0) as server:
        base = server.url.rstrip("/")
        driver = browser
        driver.get(f"{base}/equipment?lang=vi")
        wait_for(lambda: "/login" in driver.current_url, what="the login form")
        fill_login(driver, MANAGER, MANAGER_PW)
        wait_for(lambda: LAMP in text_of(driver, "#eq-alarms"), what="the alarms")
        assert "Không có phiếu sửa chữa đang mở" in text_of(driver, "#wo-list")
        # the chart opens on a projector's lamp hours, the metric named in its picker
        wait_for(lambda: text_of(driver, ".eq-metric") == "Giờ bóng đèn", what="metric shown")
        assert "PJ-HN-101" in text_of(driver, ".eq-asset")

        # open one from the lamp alarm, assigned, with a note
        type_into(driver, "wo-assignee", "Kỹ thuật viên Bình")
        type_into(driver, "wo-note", "thay bóng đèn trước thứ Sáu")
        click_until(driver, f"//div[starts-with(@id,'alarm-')][.//span[text()='{LAMP}']]"
                            "//button[text()='Mở phiếu sửa chữa']",
                    lambda: len(orders(pg_url)) == 1, what="the work order opened")
        order = orders(pg_url)[0]
        assert order[1:] == ("lamp_life", "PJ-HN-101", "open", "Kỹ thuật viên Bình",
                             "thay bóng đèn trước thứ Sáu", MANAGER, None, None)
        oid = order[0]
        wait_for(lambda: f"Phiếu #{oid}" in text_of(driver, "#eq-alarms"),
                 what="the alarm names its order")
        wait_for(lambda: "Kỹ thuật viên Bình" in text_of(driver, f"#wo-{oid}"),
                 what="the order in the list")
        assert f"Đã mở phiếu #{oid}" in text_of(driver, "#wo-action-status")
        # the inputs are emptied for the next step, and the alarm cannot get a second one
        assert driver.find_element("id", "wo-note").get_attribute("value") == ""
        assert not driver.find_elements(
            "xpath", f"//div[starts-with(@id,'alarm-')][.//span[text()='{LAMP}']]"
                     "//button[text()='Mở phiếu sửa chữa']")

        # reassign
        type_into(driver, "wo-assignee", "Nguyễn Văn Sơn")
        click_until(driver, f"//div[@id='wo-{oid}']//button[text()='Giao việc']",
                    lambda: orders(pg_url)[0][4] == "Nguyễn Văn Sơn", what="reassigned")
        wait_for(lambda: "Nguyễn Văn Sơn" in text_of(driver, f"#wo-{oid}"),
                 what="the new assignee shown")

        # the history under the chart (the chart opens on PJ-HN-101, whose lamp alarm it is)
        wait_for(lambda: f"Mở phiếu #{oid}" in text_of(driver, "#eq-history"),
                 what="the opened order in the asset's history")
        screenshot(driver, tmp_path, "work-orders-open-vi.png")

        # close with a note
        type_into(driver, "wo-note", "đã thay bóng mới, đèn chạy tốt")
        click_until(driver, f"//div[@id='wo-{oid}']//button[text()='Đóng phiếu']",
                    lambda: orders(pg_url)[0][3] == "closed", what="closed")
        assert orders(pg_url)[0][7:] == (MANAGER, "đã thay bóng mới, đèn chạy tốt")
        wait_for(lambda: "Không có phiếu sửa chữa đang mở" in text_of(driver, "#wo-list"),
                 what="the closed order leaves the list")
        wait_for(lambda: f"Đóng phiếu #{oid}" in text_of(driver, "#eq-history"),
                 what="the closing in the history")
        history = text_of(driver, "#eq-history")
        assert "đã thay bóng mới, đèn chạy tốt" in history
        assert LAMP in history  # the alarm itself
        screenshot(driver, tmp_path, "work-orders-vi.png")

        # English
        driver.get(f"{base}/equipment?lang=en")
        wait_for(lambda: f"Work order #{oid} closed" in text_of(driver, "#eq-history"),
                 what="the English history")
        assert "Open work orders" in page_text(driver)
        assert "Asset history" in page_text(driver)
        assert "Open work order" in text_of(driver, "#eq-alarms")  # the lamp alarm again
        screenshot(driver, tmp_path, "work-orders-en.png")
        click(driver, "#nav-logout", "the sign-out button")
        wait_for(lambda: "/login" in driver.current_url, what="signed out")

        # the control room watches: orders and history, no buttons, no inputs
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("insert into work_orders (alarm_id, asset_tag, school_id, assignee,"
                         " opened_by) select id, asset_tag, school_id, 'Trần Thị Hoa', %s"
                         " from alarms where type = 'projector_error'", (MANAGER,))
        login_through_form(driver, base, CONTROL, CONTROL_PW)
        driver.get(f"{base}/equipment?lang=vi")
        wait_for(lambda: "Trần Thị Hoa" in text_of(driver, "#wo-list"),
                 what="the order, read-only")
        assert not driver.find_elements("css selector", "#wo-list button")
        assert not driver.find_elements("css selector", "#eq-alarms button")
        assert "hidden" in class_of(driver, "#wo-inputs")
