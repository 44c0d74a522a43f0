"""The school page in a real headless Chromium against the real PostgreSQL: reached from
its district tile through the login form (a school's teacher signs in on the real form
and comes back to the page), with today's arrivals chart, the late and absent lists, a
class register showing a correction, the language switch and a real file download.
Set SMARTSCHOOL_E2E_ARTIFACTS to keep the screenshots.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from openpyxl import load_workbook

from core.settings import Settings
from dashboard.app import DashboardServer
from hub.accounts.auth import create_user
from tests.e2e.browser import (
    class_of,
    click,
    click_until,
    page_text,
    screenshot,
    ten_oclock_zone,
    text_of,
    wait_for,
)
from tests.e2e.test_dashboard_login import fill_login

pytestmark = pytest.mark.e2e

SCHOOL = "THCS-HN"
# (code, class, full name, minutes after the start time of the first entry, or None)
STUDENTS = [
    ("HS101", "7A1", "Nguyễn Văn An", -10),
    ("HS102", "7A1", "Trần Thị Bình", 20),
    ("HS103", "7A1", "Lê Minh Chi", None),  # absent, corrected to excused below
    ("HS104", "7A1", "Phạm Đức Dũng", None),  # absent
    ("HS105", "7A2", "Hoàng Thu Giang", -5),
    ("HS106", "7A2", "Đỗ Quang Huy", 35),
]
REASON = "Ốm, phụ huynh đã báo"
TEACHER, TEACHER_PW = "gv.7a1", "mat-khau-cua-co-giao"


def seed(url: str, tz: ZoneInfo) -> None:
    """Two schools; THCS-HN runs every day and started two hours ago (about 08:00 in
    ``tz``), so its late and absent cutoffs (0 and 60 min after the start) have passed."""
    now = datetime.now(tz)
    start = (now - timedelta(hours=2)).replace(second=0, microsecond=0)
    assert start.date() == now.date(), (start, now)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into schools (id, name, level, ward, start_time, late_after_min,"
            " absent_after_min, school_weekdays) values"
            " (%s, 'Trường THCS Hòa Nghĩa', 'thcs', 'Hòa Nghĩa', %s, 0, 60, '{1,2,3,4,5,6,7}'),"
            " ('MN-HT', 'Trường Mầm non Hải Thành', 'mam_non', 'Hải Thành', '07:30', null, null,"
            "  null)",
            (SCHOOL, start.time()),
        )
        conn.execute("insert into devices (id, school_id, role, state, last_seen)"
                     " values ('gate-hn-1', %s, 'gate', 'online', now())", (SCHOOL,))
        classes = {
            name: conn.execute("insert into classes (school_id, name, grade) values (%s, %s, 7)"
                               " returning id", (SCHOOL, name)).fetchone()[0]  # type: ignore[index]
            for name in ("7A1", "7A2")
        }
        for seq, (code, cls, name, mins) in enumerate(STUDENTS, start=1):
            sid = conn.execute(
                "insert into students (code, school_id, class_id, full_name, birth_date, gender)"
                " values (%s, %s, %s, %s, '2013-05-01', 'M') returning id",
                (code, SCHOOL, classes[cls], name),
            ).fetchone()[0]  # type: ignore[index]
            if mins is None:
                if code == "HS103":
                    conn.execute(
                        "insert into attendance_overrides (student_id, day, status, reason,"
                        " corrected_by) values (%s, %s, 'excused', %s, 'gvcn.7a1')",
                        (sid, now.date(), REASON),
                    )
                continue
            ts = start + timedelta(minutes=mins)
            conn.execute("insert into attendance_daily (student_id, day, school_id, first_in)"
                         " values (%s, %s, %s, %s)", (sid, now.date(), SCHOOL, ts))
            conn.execute(
                "insert into gate_events (device_id, seq, ts, received_at, school_id, direction,"
                " method, decision, student_id, resolved)"
                " values ('gate-hn-1', %s, %s, %s, %s, 'in', 'card', 'granted', %s, true)",
                (seq, ts, ts, SCHOOL, sid),
            )
    with psycopg.connect(url) as conn:
        create_user(conn, username=TEACHER, password=TEACHER_PW, role="teacher",
                    school_id=SCHOOL, full_name="Cô Nguyễn Thị Lan")


def wait_file(folder: Path, suffix: str) -> Path:
    def done() -> Path | None:
        found = [p for p in folder.glob(f"*{suffix}") if p.stat().st_size > 0]
        return found[0] if found else None

    return wait_for(done, timeout=10, what=f"a downloaded {suffix}")  # type: ignore[no-any-return]


def test_school_page(pg_url: str, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    tz = ten_oclock_zone()
    seed(pg_url, tz)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Page.setDownloadBehavior",
                            {"behavior": "allow", "downloadPath": str(downloads)})
    # Reached from the public wall's tiles (SMARTSCHOOL_DASHBOARD_PUBLIC_WALL).
    settings = Settings(_env_file=None, data_dir=tmp_path, language="vi", timezone=tz.key,
                        dashboard_public_wall=True)
    with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=0) as server:
        driver = browser
        driver.get(server.url)
        # The tile re-renders every 2 s: retry the click until the school page opens. The
        # page names children: the visitor is sent to the login form, then brought back.
        click(driver, f"#tile-link-{SCHOOL}", "the school tile link")
        wait_for(lambda: "/login" in driver.current_url, what="the login form")
        assert "Đăng nhập" in page_text(driver)
        assert "Nguyễn Văn An" not in page_text(driver)
        fill_login(driver, TEACHER, TEACHER_PW)
        wait_for(lambda: "/school/THCS-HN" in driver.current_url, what="the school URL")
        wait_for(lambda: text_of(driver, "#sc-title") == "Trường THCS Hòa Nghĩa",
                 what="the school title")
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#sc-register-table"),
                 what="the class register")
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#sc-arrivals .bars path"),
                 what="the arrivals chart")

        late = text_of(driver, "#sc-late-table")
        assert "Trần Thị Bình" in late and "Đỗ Quang Huy" in late  # full names: staff view
        assert "Nguyễn Văn An" not in late
        absent = text_of(driver, "#sc-absent-table")
        assert "Phạm Đức Dũng" in absent and "Vắng" in absent
        assert "Lê Minh Chi" in absent and "Có phép" in absent  # the correction counts
        register = text_of(driver, "#sc-register-table")
        for name in ("Nguyễn Văn An", "Trần Thị Bình", "Lê Minh Chi", "Phạm Đức Dũng"):
            assert name in register, name
        assert "corrected" in class_of(driver, "#reg-HS103")
        corrected = text_of(driver, "#reg-HS103")
        assert REASON in corrected and "gvcn.7a1" in corrected
        text = page_text(driver)
        for label in ("Sĩ số", "Đi muộn", "Lượt đến hôm nay", "Học sinh đi muộn",
                      "Sổ điểm danh lớp", "Báo cáo ngày của trường", "Đã điều chỉnh"):
            assert label in text, label
        assert text_of(driver, "#kpi-enrolled .kpi-value") == "6"
        assert text_of(driver, "#kpi-late .kpi-value") == "2"
        assert text_of(driver, "#kpi-excused .kpi-value") == "1"
        assert "active" in class_of(driver, "#nav-nav_school")
        assert text_of(driver, "#nav-user-name") == "Cô Nguyễn Thị Lan"
        shot = screenshot(driver, tmp_path, "school-vi.png")
        assert shot.stat().st_size > 10_000

        # Exports: a real download of the class register (XLSX) and the daily report (CSV).
        click(driver, "#sc-exp-register-xlsx", "the register export")
        xlsx = wait_file(downloads, ".xlsx")
        assert xlsx.name.startswith("so-diem-danh-7A1-")
        sheet = load_workbook(xlsx, read_only=True).active
        assert sheet is not None
        cells = [tuple(row) for row in sheet.iter_rows(values_only=True)]
        assert str(cells[0][0]).startswith("Sổ điểm danh lớp 7A1 ngày ")  # the title row
        assert cells[1][:3] == ("Mã học sinh", "Họ và tên", "Trạng thái")
        chi = next(row for row in cells if row[0] == "HS103")
        assert chi[1:3] == ("Lê Minh Chi", "Có phép")
        assert REASON in chi and "gvcn.7a1" in chi
        click(driver, "#sc-exp-daily-csv", "the daily export")
        daily = wait_file(downloads, ".csv")
        rows = list(csv.DictReader(io.StringIO(daily.read_text(encoding="utf-8-sig"))))
        assert [r["Lớp"] for r in rows] == ["7A1", "7A2", ""]
        assert rows[-1]["Sĩ số"] == "6" and rows[-1]["Đi muộn"] == "2"

        # English via the switch, reflected in the URL; names and data unchanged.
        english = ("Late students", "Arrivals today", "Class register", "School daily report",
                   "Excused", "Corrected", "Overview")
        # a click that lands while the page re-renders is lost: retried until it took
        click_until(driver, "//label[normalize-space()='EN']",
                    lambda: all(label in page_text(driver) for label in english),
                    "the English page")
        text = page_text(driver)
        assert "Học sinh đi muộn" not in text
        assert "lang=en" in driver.current_url
        screenshot(driver, tmp_path, "school-en.png")


def test_school_page_counts_by_the_clock_it_is_given(pg_url: str, browser: Any,
                                                     tmp_path: Path) -> None:
    """The demo replays a morning whenever it is started, and passes its clock: 30 minutes
    after the start nobody is absent yet (the cutoff is at 60), where the real clock, two
    hours in, finds HS104 absent (test_school_page). Opened at ?lang=en on a Vietnamese
    dashboard: the page follows the address, every header link too."""
    tz = ten_oclock_zone()
    seed(pg_url, tz)
    start = (datetime.now(tz) - timedelta(hours=2)).replace(second=0, microsecond=0)
    early = start + timedelta(minutes=30)
    settings = Settings(_env_file=None, data_dir=tmp_path, language="vi", timezone=tz.key)
    with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=0,
                         now=lambda: early) as server:
        browser.get(f"{server.url.rstrip('/')}/school/{SCHOOL}?lang=en")
        if "/login" in browser.current_url:
            fill_login(browser, TEACHER, TEACHER_PW)
        wait_for(lambda: "/school/" in browser.current_url, what="back on the school page")
        browser.get(f"{server.url.rstrip('/')}/school/{SCHOOL}?lang=en")
        wait_for(lambda: text_of(browser, "#kpi-enrolled .kpi-value") == "6", what="totals")
        assert text_of(browser, "#kpi-absent .kpi-value") == "0"
        assert text_of(browser, "#kpi-excused .kpi-value") == "1"  # HS103's correction holds
        assert int(text_of(browser, "#kpi-pending .kpi-value")) >= 1  # HS104: not due yet
        wait_for(lambda: text_of(browser, "#sc-devices-link") == "Devices and commands",
                 what="the devices link in English")
        assert text_of(browser, "#sc-lessons-link") == "Lesson attendance"
        assert "lang=en" in browser.current_url  # not written back to the default
