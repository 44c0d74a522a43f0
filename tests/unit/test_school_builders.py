"""School page builders on sample rows: no server, no browser, no database."""

from __future__ import annotations

import base64
import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from dashboard.builders.district import build_school_tile, school_href
from dashboard.builders.school import (
    SchoolView,
    build_absent_list,
    build_class_options,
    build_download,
    build_late_list,
    build_register,
    build_school_header,
    build_school_kpis,
    daily_table,
)
from dashboard.i18n import STRINGS
from dashboard.pages.school import school_from_path
from hub.attendance.export import register_table
from hub.attendance.reports import (
    ClassRegister,
    CorrectionInfo,
    DailyRow,
    RegisterRow,
    StudentDayRow,
)
from hub.read.queries import SchoolAttendance
from tests.unit.test_dashboard_builders import find_all, text_of

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 30, 9, 30, tzinfo=TZ)  # a Monday
CORR = CorrectionInfo(status="excused", reason="Ốm, phụ huynh đã báo", corrected_by="gvcn.7a1",
                      corrected_at=datetime(2026, 11, 30, 2, 0, tzinfo=UTC))


def daily(cid: int | None, name: str | None, *, enrolled: int = 30, present: int = 25,
          late: int = 2, absent: int = 2, excused: int = 1, pending: int = 0) -> DailyRow:
    return DailyRow(school="THCS-HN", class_id=cid, class_name=name, school_day=True,
                    enrolled=enrolled, present=present, late=late, absent=absent,
                    excused=excused, pending=pending)


def student(code: str, name: str, status: str, *, first_in: datetime | None = None,
            correction: CorrectionInfo | None = None) -> StudentDayRow:
    return StudentDayRow(student=code, full_name=name, class_id=1, class_name="7A1",
                         status=status, first_in=first_in, correction=correction)


REGISTER = ClassRegister(
    date=NOW.date(), school="THCS-HN", class_id=1, class_name="7A1", school_day=True,
    students=[
        RegisterRow(student="HS101", full_name="Nguyễn Văn An", status="present",
                    first_in=datetime(2026, 11, 30, 0, 5, tzinfo=UTC), last_out=None, flags=[],
                    correction=None),
        RegisterRow(student="HS103", full_name="Lê Minh Chi", status="excused", first_in=None,
                    last_out=None, flags=["corrected", "duplicate-taps"], correction=CORR),
    ],
)


def view(**kw: object) -> SchoolView:
    args: dict[str, object] = {
        "school": "THCS-HN", "name": "Trường THCS Hòa Nghĩa", "level": "thcs", "now": NOW,
        "school_day": True, "start": NOW.replace(hour=7, minute=0),
        "late_cutoff": NOW.replace(hour=7, minute=15),
        "absent_cutoff": NOW.replace(hour=9, minute=0), "total": daily(None, None),
    }
    args.update(kw)
    return SchoolView(**args)  # type: ignore[arg-type]


def test_school_strings_exist_in_both_languages() -> None:
    vi = {k for k in STRINGS["vi"] if k.startswith(("sc_", "status_", "flag_", "nav_school"))}
    en = {k for k in STRINGS["en"] if k.startswith(("sc_", "status_", "flag_", "nav_school"))}
    assert vi == en and len(vi) > 30


@pytest.mark.parametrize(
    ("path", "school"),
    [("/school/THCS-HN", "THCS-HN"), ("/school/THCS-HN/", "THCS-HN"), ("/school/", None),
     ("/school", None), ("/", None), (None, None), ("/equipment", None),
     ("/school/MN%20HT", "MN HT")],
)
def test_school_from_path(path: str | None, school: str | None) -> None:
    assert school_from_path(path) == school


def test_district_tile_links_to_the_school_page() -> None:
    row = SchoolAttendance(school="THCS-HN", name="Trường THCS Hòa Nghĩa", level="thcs",
                           enrolled=10, present=5, late=1, absent=4, devices_online=1,
                           devices_total=1)
    tile = build_school_tile(row, "en")
    links = find_all(tile, "tile-link")
    assert [link.href for link in links] == ["/school/THCS-HN?lang=en"]  # type: ignore[attr-defined]
    assert school_href("a/b", "vi") == "/school/a%2Fb?lang=vi"


def test_header_shows_cutoffs_or_no_school_day() -> None:
    title, subtitle, hours = build_school_header(view(), "vi", TZ)
    assert title == "Trường THCS Hòa Nghĩa"
    assert subtitle == "THCS · Điểm danh hôm nay · Thứ Hai, ngày 30/11/2026"
    assert hours == "Vào học 07:00 · muộn sau 07:15 · vắng sau 09:00"
    assert build_school_header(view(school_day=False), "en", TZ)[2] == "Today is not a school day"


def test_kpis_count_every_status() -> None:
    kpis = build_school_kpis(daily(None, None), "vi")
    assert [k.id for k in kpis] == ["kpi-enrolled", "kpi-present", "kpi-late", "kpi-absent",
                                    "kpi-excused", "kpi-pending"]
    assert "Đã đến 90%" in text_of(kpis)  # 25 + 2 of 30
    assert "0%" in text_of(build_school_kpis(None, "en"))  # no school row: zeros, no crash


def test_late_list_full_names_times_and_correction_mark() -> None:
    rows = [student("HS102", "Trần Thị Bình", "late",
                    first_in=datetime(2026, 11, 30, 0, 25, tzinfo=UTC), correction=CORR)]
    table = build_late_list(rows, "vi", TZ)
    text = text_of(table)
    assert "Trần Thị Bình" in text and "07:25" in text and "7A1" in text  # not masked
    assert find_all(table, "corrected") and find_all(table, "sc-corr-mark")
    assert text_of(build_late_list([], "en", TZ)) == "No late students"


def test_absent_list_badges_each_status() -> None:
    rows = [student("HS104", "Phạm Đức Dũng", "absent"),
            student("HS103", "Lê Minh Chi", "excused", correction=CORR),
            student("HS105", "Vũ Hà", "pending")]
    text = text_of(build_absent_list(rows, "vi", TZ))
    for label in ("Phạm Đức Dũng", "Vắng", "Có phép", "Chưa đến"):
        assert label in text
    assert "No absent students" in text_of(build_absent_list([], "en", TZ))


def test_register_shows_corrections_and_translated_flags() -> None:
    table = build_register(REGISTER, "vi", TZ)
    text = text_of(table)
    assert "Nguyễn Văn An" in text and "07:05" in text
    assert "Đã điều chỉnh" in text and "Ốm, phụ huynh đã báo" in text
    assert "bởi gvcn.7a1 · 09:00 30/11" in text  # district time
    assert "Quẹt thẻ trùng" in text and "flag_corrected" not in text
    (corrected,) = find_all(table, "corrected")
    assert corrected.id == "reg-HS103"  # type: ignore[attr-defined]
    assert text_of(build_register(None, "en", TZ)) == "No students in this class"


def test_class_options_skip_students_without_a_class() -> None:
    options = build_class_options([daily(1, "7A1"), daily(None, None)], "en")
    assert options == [{"label": "7A1 · 27/30 arrived", "value": 1}]


def test_register_export_matches_the_api_columns() -> None:
    columns, rows = register_table(REGISTER, TZ)
    assert columns == ["student", "full_name", "status", "first_in", "last_out", "flags",
                       "correction_reason", "corrected_by"]
    assert rows[0][3] == datetime(2026, 11, 30, 7, 5, tzinfo=TZ)
    assert rows[1][6:] == ["Ốm, phụ huynh đã báo", "gvcn.7a1"]


def test_daily_export_puts_the_school_last() -> None:
    columns, rows = daily_table(daily(None, None), [daily(1, "7A1"), daily(2, "7A2")])
    assert columns[:4] == ["school", "class_id", "class_name", "school_day"]
    assert [r[2] for r in rows] == ["7A1", "7A2", None]


def test_downloads_are_real_csv_and_xlsx_files() -> None:
    columns, rows = register_table(REGISTER, TZ)
    data = build_download("csv", "so-diem-danh-7A1-2026-11-30", columns, rows)
    assert data["filename"] == "so-diem-danh-7A1-2026-11-30.csv" and data["base64"] is True
    body = base64.b64decode(data["content"]).decode("utf-8-sig")
    parsed = list(csv.reader(io.StringIO(body)))
    assert parsed[0][:3] == ["Mã học sinh", "Họ và tên", "Trạng thái"]
    assert parsed[2][:3] == ["HS103", "Lê Minh Chi", "Có phép"]
    english = build_download("csv", "register", columns, rows, lang="en")
    parsed = list(csv.reader(io.StringIO(base64.b64decode(english["content"])
                                         .decode("utf-8-sig"))))
    assert parsed[0][:3] == ["Student code", "Full name", "Status"]
    assert parsed[2][2] == "Excused"

    data = build_download("xlsx", "so-diem-danh-7A1-2026-11-30", columns, rows)
    assert data["filename"].endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(base64.b64decode(data["content"])), read_only=True).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][3] == datetime(2026, 11, 30, 7, 5)  # wall time, no zone
