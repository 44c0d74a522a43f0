"""Correcting the registers from the dashboard, in a real headless Chromium against the
real PostgreSQL: the class's teacher signs in, corrects one pupil in a lesson of the
lesson register (an empty reason first: a message, nothing written) and one pupil's day
on the school page's class register, sees the status and who corrected it change, and
the audit rows are in the database under their name; a teacher of another class of the
same school (whom the hub's ``may_correct`` refuses) sees the registers but no control.
Screenshots of both pages with the form open, vi and en, go to /tmp/shots/corr-*.png
(and SMARTSCHOOL_E2E_ARTIFACTS when set).

One dashboard for the whole module: the suite's time is tight.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from core.settings import Settings
from dashboard.app import DashboardServer
from hub.accounts.auth import create_user
from tests.e2e.browser import (
    class_of,
    click,
    click_until,
    screenshot,
    ten_oclock_zone,
    text_of,
    wait_for,
)
from tests.e2e.lesson_day import add_lessons, add_pupils, add_sightings, three_lessons
from tests.e2e.test_dashboard_login import fill_login

pytestmark = pytest.mark.e2e

SCHOOL = "THCS-SUA"
TEACHER, TEACHER_PW = "gv.7a1", "mat-khau-co-chu-nhiem"  # 7A1's teacher: may correct it
OTHER, OTHER_PW = "gv.7a2", "mat-khau-thay-lop-khac"  # 7A2's: may not correct 7A1
SHOTS = Path("/tmp/shots")
LESSON_REASON = "Đi thi học sinh giỏi cấp quận"
DAY_REASON = "Phụ huynh gọi báo ốm"


def seed(url: str, tz: ZoneInfo) -> dict[int, int]:
    """7A1 with three lessons today (two over, one under way) and three pupils: HS1 in
    every lesson, HS2 never seen (absent for the day), HS3 seen only in period 1.
    Returns the lesson ids by period."""
    now, p1, p2, p3 = three_lessons(tz)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into schools (id, name, level, ward, start_time, late_after_min,"
                     " absent_after_min, school_weekdays) values (%s, 'Trường THCS Thử Sửa',"
                     " 'thcs', 'Hải Thành', %s, 0, 60, '{1,2,3,4,5,6,7}')", (SCHOOL, p1.time()))
    with psycopg.connect(url) as conn:
        create_user(conn, username=TEACHER, password=TEACHER_PW, role="teacher",
                    school_id=SCHOOL, full_name="Cô Nguyễn Thị Chủ Nhiệm")
        create_user(conn, username=OTHER, password=OTHER_PW, role="teacher",
                    school_id=SCHOOL, full_name="Thầy Lớp Bên")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into devices (id, school_id, role) values ('gate-sua', %s, 'gate'),"
                     " ('room-sua-p7', %s, 'classroom')", (SCHOOL, SCHOOL))
        class_id = conn.execute("insert into classes (school_id, name, grade, teacher_username)"
                                " values (%s, '7A1', 7, %s) returning id",
                                (SCHOOL, TEACHER)).fetchone()[0]  # type: ignore[index]
        conn.execute("insert into classes (school_id, name, grade, teacher_username)"
                     " values (%s, '7A2', 7, %s)", (SCHOOL, OTHER))
        lessons = add_lessons(conn, school=SCHOOL, class_id=class_id, teacher="Cô Chủ Nhiệm",
                              lessons=((1, p1, "Toán"), (2, p2, "Ngữ văn"), (3, p3, "Tin học")))
        pupils = add_pupils(conn, school=SCHOOL, class_id=class_id, pupils=(
            ("HS1", "Nguyễn Văn An"), ("HS2", "Trần Thị Bình"), ("HS3", "Lê Văn Cường")))
        add_sightings(conn, school=SCHOOL, pupils=pupils, day=now, sightings=(
            ("gate-sua", "HS1", p1 - timedelta(minutes=20), None),
            ("room-sua-p7", "HS1", p1 + timedelta(minutes=1), "P7"),
            ("room-sua-p7", "HS1", p2 + timedelta(minutes=1), "P7"),
            ("room-sua-p7", "HS1", p3 + timedelta(minutes=1), "P7"),
            ("room-sua-p7", "HS3", p1 + timedelta(minutes=1), "P7")))
    return lessons


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return [tuple(r) for r in conn.execute(sql)]


def shot(driver: Any, tmp_path: Path, name: str) -> None:
    path = screenshot(driver, tmp_path, name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / name).write_bytes(path.read_bytes())


def open_form(driver: Any, prefix: str, row: str) -> None:
    click_until(driver, f"//tr[@id='{row}']//button[contains(@class, 'corr-open')]",
                lambda: "hidden" not in class_of(driver, f"#{prefix}-corr-panel"),
                what=f"the correction form of {row}")


def choose(driver: Any, prefix: str, part: str, label: str) -> None:
    driver.find_element(
        "xpath", f"//div[@id='{prefix}-corr-{part}']//label[contains(normalize-space(),"
                 f" '{label}')]").click()


def type_reason(driver: Any, prefix: str, text: str) -> None:
    box = driver.find_element("id", f"{prefix}-corr-reason")
    box.clear()
    box.send_keys(text)


def test_corrections_from_both_registers(pg_url: str, browser: Any, tmp_path: Path) -> None:
    tz = ten_oclock_zone()
    lessons = seed(pg_url, tz)
    settings = Settings(_env_file=None, data_dir=tmp_path, language="vi", timezone=tz.key)
    with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=0) as server:
        driver = browser
        base = server.url.rstrip("/")

        # -- the lesson register: HS3 was in period 1 only; period 1 corrected to excused
        driver.get(f"{base}/school/{SCHOOL}/lessons")
        wait_for(lambda: "/login" in driver.current_url, what="the login form")
        fill_login(driver, TEACHER, TEACHER_PW)
        wait_for(lambda: "Lê Văn Cường" in text_of(driver, "#ls-grid"), what="the lesson grid")
        open_form(driver, "ls", "ls-HS3")
        assert text_of(driver, "#ls-corr-who").startswith("Lê Văn Cường · HS3 · ")
        # the form starts on the lesson under way (period 3), where HS3 is not yet seen
        assert "Tiết 3" in str(driver.execute_script(
            "return document.querySelector('#ls-corr-lesson input:checked')"
            ".closest('label').textContent"))
        choose(driver, "ls", "lesson", "Tiết 1")
        choose(driver, "ls", "status", "Có phép")
        click(driver, "#ls-corr-save", "save without a reason")
        wait_for(lambda: text_of(driver, "#ls-corr-msg") == "Vui lòng nhập lý do điều chỉnh.",
                 what="the missing reason's message")
        assert "hidden" not in class_of(driver, "#ls-corr-panel")
        assert rows(pg_url, "select count(*) from lesson_corrections") == [(0,)]
        type_reason(driver, "ls", LESSON_REASON)
        shot(driver, tmp_path, "corr-lessons-vi.png")
        click(driver, "#ls-corr-save", "save")
        wait_for(lambda: "hidden" in class_of(driver, "#ls-corr-panel"), what="the form closed")
        wait_for(lambda: "✎ gv.7a1" in text_of(driver, "#ls-HS3"), what="corrected by, in the grid")
        first = text_of(driver, "#ls-HS3 td:nth-child(3)")  # #, pupil, then period 1
        assert "Có phép" in first and LESSON_REASON in first and "đã điều chỉnh" in first
        assert "Có phép" not in text_of(driver, "#ls-HS3 td:nth-child(4)")
        assert text_of(driver, "#ls-corr-flash") == "Đã lưu: Lê Văn Cường — Có phép."
        audit = rows(pg_url, "select s.code, c.lesson_id, c.before->>'status',"
                             " c.after->>'status', c.reason, c.corrected_by"
                             " from lesson_corrections c join students s on s.id = c.student_id")
        assert audit == [("HS3", lessons[1], "present", "excused", LESSON_REASON, TEACHER)]
        assert rows(pg_url, "select status, corrected_by from lesson_overrides") == [
            ("excused", TEACHER)]

        driver.get(f"{base}/school/{SCHOOL}/lessons?lang=en")
        wait_for(lambda: "Period 1" in text_of(driver, "#ls-grid"), what="the English grid")
        open_form(driver, "ls", "ls-HS2")
        assert text_of(driver, "#ls-corr-title") == "Correct lesson attendance"
        choose(driver, "ls", "status", "Present")
        type_reason(driver, "ls", "Seen in class by the teacher, card forgotten")
        shot(driver, tmp_path, "corr-lessons-en.png")
        click(driver, "#ls-corr-cancel", "cancel")
        wait_for(lambda: "hidden" in class_of(driver, "#ls-corr-panel"), what="the form closed")

        # -- the school page's class register: HS2 absent for the day, corrected to excused
        driver.get(f"{base}/school/{SCHOOL}?lang=vi")
        wait_for(lambda: "Vắng" in text_of(driver, "#reg-HS2"), what="HS2 absent")
        open_form(driver, "sc", "reg-HS2")
        assert text_of(driver, "#sc-corr-now") == "Hiện tại: Vắng"
        choose(driver, "sc", "status", "Có phép")
        type_reason(driver, "sc", DAY_REASON)
        shot(driver, tmp_path, "corr-school-vi.png")
        click(driver, "#sc-corr-save", "save")
        wait_for(lambda: "gv.7a1" in text_of(driver, "#reg-HS2"), what="corrected by, in the row")
        row = text_of(driver, "#reg-HS2")
        assert "Có phép" in row and DAY_REASON in row and "bởi gv.7a1" in row
        assert "corrected" in class_of(driver, "#reg-HS2")
        assert rows(pg_url, "select s.code, c.before->>'status', c.after->>'status', c.reason,"
                            " c.corrected_by from attendance_corrections c"
                            " join students s on s.id = c.student_id") == [
            ("HS2", "absent", "excused", DAY_REASON, TEACHER)]

        # the page's own switch (it keeps the language the page was last shown in)
        click_until(driver, "//label[normalize-space()='EN']",
                    lambda: "Present" in text_of(driver, "#reg-HS1"), "the English register")
        open_form(driver, "sc", "reg-HS1")
        assert text_of(driver, "#sc-corr-title") == "Correct the day's attendance"
        choose(driver, "sc", "status", "Late")
        shot(driver, tmp_path, "corr-school-en.png")

        # -- another class's teacher: the same registers, no control
        click(driver, "#nav-logout", "the sign-out button")
        wait_for(lambda: "/login" in driver.current_url, what="signed out")
        driver.get(f"{base}/school/{SCHOOL}/lessons")
        wait_for(lambda: "/login" in driver.current_url, what="the login form")
        fill_login(driver, OTHER, OTHER_PW)
        wait_for(lambda: "Lê Văn Cường" in text_of(driver, "#ls-grid"), what="the lesson grid")
        assert "✎ gv.7a1" in text_of(driver, "#ls-HS3")  # sees the correction, read-only
        assert not driver.find_elements("css selector", "#ls-grid .corr-open")
        driver.get(f"{base}/school/{SCHOOL}")
        wait_for(lambda: "Trần Thị Bình" in text_of(driver, "#sc-register-table"),
                 what="the class register")
        assert not driver.find_elements("css selector", "#sc-register-table .corr-open")
        assert "Sửa" not in text_of(driver, "#sc-register-table thead")
