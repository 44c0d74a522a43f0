"""The dashboard in a real headless Chromium against the real PostgreSQL.

Needs the Debian packages ``chromium`` and ``chromium-driver``; without them the test
fails (a silent skip would hide that the only browser check never ran in CI).
Set SMARTSCHOOL_E2E_ARTIFACTS=/some/dir to keep the screenshots.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from core.settings import Settings
from dashboard.app import DashboardServer
from dashboard.formatting import mask_name
from tests.e2e.browser import (
    class_of,
    page_text,
    screenshot,
    ten_oclock_zone,
    text_of,
    wait_for,
)

pytestmark = pytest.mark.e2e

# Mid-morning whenever the test runs: the wall counts against the server's clock, and a
# morning seeded in Vietnam time would be in the future from midnight to 06:30 there.
TZ = ten_oclock_zone()
KIOSK_TOKEN = "wall-screen-kiosk-token-" + "w" * 16

SCHOOLS = [
    ("MN-HT", "Trường Mầm non Hải Thành", "mam_non", "Hải Thành", "07:30"),
    ("TH-AD", "Trường Tiểu học Anh Dũng", "tieu_hoc", "Anh Dũng", "07:15"),
    ("THCS-HN", "Trường THCS Hòa Nghĩa", "thcs", "Hòa Nghĩa", "07:00"),
    ("THCS-TT", "Trường TH&THCS Tân Thành", "th_thcs", "Tân Thành", "07:00"),
]
# (code, school, class, full name, minutes after 06:30 local of the first entry or None)
STUDENTS = [
    ("HS001", "MN-HT", "Lá 1", "Phạm Thị Mai Anh", 40),
    ("HS002", "MN-HT", "Lá 1", "Vũ Minh Khôi", 70),
    ("HS003", "TH-AD", "3A", "Nguyễn Văn An", 20),
    ("HS004", "TH-AD", "3A", "Trần Thị Ngọc Ánh", 55),
    ("HS005", "TH-AD", "4B", "Lê Hoàng Nam", None),
    ("HS006", "THCS-HN", "7A1", "Đỗ Đức Thắng", 15),
    ("HS007", "THCS-HN", "7A1", "Bùi Thu Hà", 25),
    ("HS008", "THCS-HN", "8A2", "Hoàng Quốc Việt", None),
    ("HS009", "THCS-TT", "6A", "Đặng Thị Hồng Nhung", 10),
    ("HS010", "THCS-TT", "6A", "Ngô Bảo Châu", 45),
]
# (device, school, role, online)
DEVICES = [
    ("gate-mn-ht-1", "MN-HT", "gate", True),
    ("gate-th-ad-1", "TH-AD", "gate", True),
    ("room-th-ad-3a", "TH-AD", "classroom", False),
    ("gate-thcs-hn-1", "THCS-HN", "gate", True),
    ("gate-thcs-tt-1", "THCS-TT", "gate", False),
]


def seed(url: str) -> dict[str, int]:
    """A small district for today (district time); returns student ids by code.

    The schools teach every day of the week: the district page counts by the attendance
    rules, and on a weekend with the default Monday-Friday nobody would be expected."""
    today = datetime.now(TZ).date()
    morning = datetime(today.year, today.month, today.day, 6, 30, tzinfo=TZ)
    ids: dict[str, int] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for sid, name, level, ward, start in SCHOOLS:
            conn.execute(
                "insert into schools (id, name, level, ward, start_time, school_weekdays)"
                " values (%s,%s,%s,%s,%s,'{1,2,3,4,5,6,7}')",
                (sid, name, level, ward, start),
            )
        classes: dict[tuple[str, str], int] = {}
        for _code, school, cls, _name, _mins in STUDENTS:
            if (school, cls) not in classes:
                row = conn.execute(
                    "insert into classes (school_id, name, grade) values (%s,%s,%s) returning id",
                    (school, cls, 0 if school.startswith("MN") else 6),
                ).fetchone()
                assert row
                classes[(school, cls)] = row[0]
        for code, school, cls, name, mins in STUDENTS:
            row = conn.execute(
                "insert into students (code, school_id, class_id, full_name, birth_date, gender)"
                " values (%s,%s,%s,%s,'2014-05-01','F') returning id",
                (code, school, classes[(school, cls)], name),
            ).fetchone()
            assert row
            ids[code] = row[0]
            if mins is not None:
                conn.execute(
                    "insert into attendance_daily (student_id, day, school_id, first_in)"
                    " values (%s,%s,%s,%s)",
                    (row[0], today, school, morning + timedelta(minutes=mins)),
                )
        for dev, school, role, online in DEVICES:
            conn.execute(
                "insert into devices (id, school_id, role, state, last_seen)"
                " values (%s,%s,%s,%s, now())",
                (dev, school, role, "online" if online else "offline"),
            )
        seq = 0
        for code, school, _cls, _name, mins in STUDENTS:
            if mins is None:
                continue
            seq += 1
            gate = next(d for d, s, r, _ in DEVICES if s == school and r == "gate")
            add_event(conn, gate, school, seq, ids[code], morning + timedelta(minutes=mins))
        # A card the records do not know, refused at the gate: must stand out.
        add_event(conn, "gate-thcs-hn-1", "THCS-HN", 99, None, morning + timedelta(minutes=30),
                  decision="denied", card_uid="04A1B2C3")
    return ids


def add_event(
    conn: psycopg.Connection,
    device: str,
    school: str,
    seq: int,
    student_id: int | None,
    ts: datetime,
    *,
    decision: str = "granted",
    direction: str = "in",
    card_uid: str | None = None,
) -> None:
    conn.execute(
        "insert into gate_events (device_id, seq, ts, received_at, school_id, direction, method,"
        " card_uid, decision, student_id, resolved)"
        " values (%s,%s,%s,%s,%s,%s,'card',%s,%s,%s,%s)",
        (device, seq, ts, ts, school, direction, card_uid, decision, student_id,
         student_id is not None),
    )


def test_district_page_live_and_bilingual(pg_url: str, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    from tests.e2e.test_dashboard_login import login_through_form

    ids = seed(pg_url)
    # A public wall with a kiosk for the live feed, names left off (the defaults).
    settings = Settings(_env_file=None, data_dir=tmp_path, language="vi",
                        timezone=TZ.key, dashboard_public_wall=True,
                        dashboard_kiosk_token=KIOSK_TOKEN)
    with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=0) as server:
        driver = browser
        driver.get(server.url)

        tiles = wait_for(
            lambda: len(driver.find_elements(By.CSS_SELECTOR, ".tile")) == len(SCHOOLS)
            and driver.find_elements(By.CSS_SELECTOR, ".tile"),
            what="one tile per school",
        )
        assert len(tiles) == len(SCHOOLS)
        wait_for(lambda: "Lượt qua cổng trong 15 phút qua" in page_text(driver),
                 what="the public gate panel")
        body = page_text(driver)
        for label in ("Trung tâm điều hành giáo dục quận Dương Kinh", "Sĩ số", "Có mặt",
                      "Đi muộn", "Vắng", "Thiết bị trực tuyến"):
            assert label in body, label
        for _sid, name, *_ in SCHOOLS:
            # Tiles drop the "Trường" every name starts with.
            assert name.removeprefix("Trường ") in body, name
        # Privacy on the public wall (issue #12): no passage, so no name and no class.
        assert not driver.find_elements(By.CSS_SELECTOR, ".feed-row")
        for _code, _school, _cls, name, _mins in STUDENTS:
            assert name not in body and mask_name(name) not in body, name

        # Totals: 10 enrolled, 8 arrived; devices 3 of 5 online.
        assert text_of(driver, "#kpi-enrolled .kpi-value") == "10"
        assert "3 / 5" in text_of(driver, ".kpi-devices")
        # The gate-less school (its only gate offline) is red, the half-online one amber.
        assert "tile-alert" in class_of(driver, "#tile-THCS-TT")
        assert "tile-warn" in class_of(driver, "#tile-TH-AD")
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#arrivals .bars"), what="chart")
        shot = screenshot(driver, tmp_path, "dashboard-vi.png")
        assert shot.stat().st_size > 10_000

        # Live refresh: a passage just now is counted without reloading the page.
        with psycopg.connect(pg_url, autocommit=True) as conn:
            add_event(conn, "gate-th-ad-1", "TH-AD", 500, ids["HS005"], datetime.now(TZ))
        wait_for(lambda: "Tiểu học Anh Dũng" in text_of(driver, "#feed"),
                 timeout=8, what="the new passage counted in the gate panel")
        assert not driver.find_elements(By.CSS_SELECTOR, ".feed-row")

        # The kiosk: the live feed with a class and a decision per passage, still no name.
        driver.get(server.url.rstrip("/") + "/login")
        login_through_form(driver, server.url, "kiosk", KIOSK_TOKEN)
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".feed-row"), what="gate feed")
        wait_for(lambda: "4B" in text_of(driver, "#feed"), what="the new passage's class")
        body = page_text(driver)
        assert "Sự kiện cổng trường" in body
        assert "Chưa xác định" in body  # the unknown card
        assert driver.find_elements(By.CSS_SELECTOR, ".feed-row.decision-denied.unresolved")
        assert "Màn hình kiosk" in text_of(driver, "#nav-user")
        for _code, _school, _cls, name, _mins in STUDENTS:
            assert name not in body and mask_name(name) not in body, name
        screenshot(driver, tmp_path, "dashboard-kiosk.png")

        # Language switch on the page, reflected in the URL.
        wait_for(lambda: driver.find_element(By.XPATH, "//label[normalize-space()='EN']").click()
                 or True, what="the EN switch")
        wait_for(lambda: "Present" in page_text(driver),
                 what="English totals")
        body = page_text(driver)
        for label in ("Dương Kinh District Education Control Centre", "Enrolled", "Late",
                      "Absent", "Devices online", "School gate events", "Lower secondary"):
            assert label in body, label
        assert "Có mặt" not in body
        assert "lang=en" in driver.current_url
        screenshot(driver, tmp_path, "dashboard-en.png")

        # ?lang=en on a fresh load (how a wall screen pins its language).
        driver.get(server.url + "?lang=en")
        wait_for(lambda: "Present" in page_text(driver),
                 what="English from the URL")
