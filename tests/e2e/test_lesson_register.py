"""The lesson register page (/school/<id>/lessons) in a real headless Chromium against the
real PostgreSQL: a teacher signs in, sees today's lessons of the class with each pupil's
status (present, late, absent with the "in school, not in class" flag, pending for the
lesson under way), the school's list of such pupils, a real XLSX download, English via
?lang=en; and the school page links to it and shows the same list. Screenshots go to
/tmp/shots_G/ (and SMARTSCHOOL_E2E_ARTIFACTS when set)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from openpyxl import load_workbook

from core.settings import Settings
from dashboard.app import DashboardServer
from hub.accounts.auth import create_user
from tests.e2e.browser import page_text, screenshot, ten_oclock_zone, text_of, wait_for
from tests.e2e.lesson_day import add_lessons, add_pupils, add_sightings, three_lessons
from tests.e2e.test_dashboard_login import fill_login

pytestmark = pytest.mark.e2e

SCHOOL = "THCS-TIET"
TEACHER, TEACHER_PW = "gv.tiet", "mat-khau-cua-thay-giao"
SHOTS = Path("/tmp/shots_G")


def seed(url: str, tz: ZoneInfo) -> None:
    """Three lessons today: two over (a gate and a room's sightings), one under way."""
    now, p1, p2, p3 = three_lessons(tz)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into schools (id, name, level, ward, start_time, school_weekdays)"
                     " values (%s, 'Trường THCS Thử Tiết', 'thcs', 'Hải Thành', %s,"
                     " '{1,2,3,4,5,6,7}')", (SCHOOL, p1.time()))
        conn.execute("insert into devices (id, school_id, role) values ('gate-tiet', %s, 'gate'),"
                     " ('room-tiet-p7', %s, 'classroom')", (SCHOOL, SCHOOL))
        class_id = conn.execute("insert into classes (school_id, name, grade) values"
                                " (%s, '7A1', 7) returning id", (SCHOOL,)).fetchone()[0]  # type: ignore[index]
        add_lessons(conn, school=SCHOOL, class_id=class_id, teacher="Thầy Tiết",
                    lessons=((1, p1, "Toán"), (2, p2, "Ngữ văn"), (3, p3, "Tin học")))
        pupils = add_pupils(conn, school=SCHOOL, class_id=class_id, pupils=(
            ("HS1", "Nguyễn Văn An"), ("HS2", "Trần Thị Bình"), ("HS3", "Lê Văn Cường"),
            ("HS4", "Phạm Thị Dung")))
        add_sightings(conn, school=SCHOOL, pupils=pupils, day=now, sightings=(
            ("gate-tiet", "HS1", p1 - timedelta(minutes=20), None),
            ("room-tiet-p7", "HS1", p1 + timedelta(minutes=1), "P7"),
            ("room-tiet-p7", "HS1", p2 + timedelta(minutes=2), "P7"),
            ("room-tiet-p7", "HS1", p3 + timedelta(minutes=1), "P7"),
            ("gate-tiet", "HS2", p1 - timedelta(minutes=15), None),
            ("room-tiet-p7", "HS2", p1 + timedelta(minutes=8), "P7"),
            ("room-tiet-p7", "HS3", p1, "P7"),
            ("gate-tiet", "HS4", p1 - timedelta(minutes=10), None)))
    with psycopg.connect(url) as conn:
        create_user(conn, username=TEACHER, password=TEACHER_PW, role="teacher",
                    school_id=SCHOOL, full_name="Thầy Nguyễn Văn Tiết")


def keep(driver: Any, tmp_path: Path, name: str) -> Path:
    shot = screenshot(driver, tmp_path, name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / name).write_bytes(shot.read_bytes())
    return shot


def test_lesson_register_page(pg_url: str, browser: Any, tmp_path: Path) -> None:
    tz = ten_oclock_zone()
    seed(pg_url, tz)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Page.setDownloadBehavior",
                            {"behavior": "allow", "downloadPath": str(downloads)})
    settings = Settings(_env_file=None, data_dir=tmp_path, language="vi", timezone=tz.key)
    with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=0) as server:
        driver = browser
        base = server.url.rstrip("/")
        driver.get(f"{base}/school/{SCHOOL}/lessons")
        wait_for(lambda: "/login" in driver.current_url, what="the login form")
        assert "Nguyễn Văn An" not in page_text(driver)
        fill_login(driver, TEACHER, TEACHER_PW)
        wait_for(lambda: "/lessons" in driver.current_url, what="back on the lesson page")
        wait_for(lambda: text_of(driver, "#ls-title").endswith("Trường THCS Thử Tiết"),
                 what="the title")
        wait_for(lambda: text_of(driver, "#ls-grid"), what="the lesson grid")
        grid = text_of(driver, "#ls-grid")
        for word in ("Tiết 1", "Tiết 2", "Tiết 3", "Toán", "Ngữ văn", "phòng P7",
                     "Nguyễn Văn An", "Phạm Thị Dung"):
            assert word in grid, word
        assert "Có mặt" in text_of(driver, "#ls-HS1")
        row2 = text_of(driver, "#ls-HS2")
        assert "Đi muộn" in row2 and "trong trường, không ở lớp" in row2
        assert "không quẹt ở cổng" in text_of(driver, "#ls-HS3")
        dung = text_of(driver, "#ls-HS4")
        assert dung.count("trong trường, không ở lớp") == 2 and "Chưa đến" in dung
        nic = wait_for(lambda: text_of(driver, "#ls-nic-list"), what="the not-in-class list")
        assert nic.count("Phạm Thị Dung") == 2 and "Trần Thị Bình" in nic
        keep(driver, tmp_path, "lessons-vi.png")

        driver.find_element("id", "ls-exp-xlsx").click()
        xlsx = wait_for(lambda: next(iter(downloads.glob("*.xlsx")), None), what="the xlsx")
        sheet = load_workbook(xlsx, read_only=True).active
        assert sheet is not None
        cells = [tuple(r) for r in sheet.iter_rows(values_only=True)]
        assert str(cells[0][0]).startswith("Điểm danh tiết học lớp 7A1 ngày ")
        assert cells[1][:6] == ("Tiết", "Môn", "Phòng", "Mã học sinh", "Họ và tên", "Trạng thái")
        assert (1, "Toán", "P7", "HS4", "Phạm Thị Dung", "Vắng") in [c[:6] for c in cells]

        driver.get(f"{base}/school/{SCHOOL}/lessons?lang=en")
        wait_for(lambda: "Period 1" in text_of(driver, "#ls-grid"), what="the English grid")
        wait_for(lambda: "In school, not in class" in page_text(driver), what="English words")
        assert "in school, not in class" in text_of(driver, "#ls-HS4")
        keep(driver, tmp_path, "lessons-en.png")

        # The school page links here and shows the same list.
        driver.get(f"{base}/school/{SCHOOL}")
        wait_for(lambda: text_of(driver, "#sc-lessons-link") == "Điểm danh tiết học",
                 what="the link")
        wait_for(lambda: "Phạm Thị Dung" in text_of(driver, "#sc-nic"), what="the school panel")
        assert "Trong trường, không có mặt ở lớp" in page_text(driver)  # CSS upper-cases h2
        keep(driver, tmp_path, "school-with-lessons-vi.png")
