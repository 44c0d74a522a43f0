"""Strings of the lesson register page (/school/<id>/lessons) and the school page's
"in school, not in class" panel (issue 14)."""

from __future__ import annotations

from typing import Final

VI: Final[dict[str, str]] = {
    "ls_title": "Điểm danh tiết học",
    "ls_link": "Điểm danh tiết học",
    "ls_back": "← Trang trường",
    "ls_pick_class": "Chọn lớp",
    "ls_register": "Sổ điểm danh theo tiết",
    "ls_exports": "Xuất file:",
    "ls_no_lessons": "Hôm nay lớp này không có tiết nào theo thời khoá biểu.",
    "ls_no_school_day": "Hôm nay không phải ngày học theo lịch của trường.",
    "ls_no_students": "Lớp chưa có học sinh.",
    "ls_pupil": "Học sinh",
    "ls_period": "Tiết {period}",
    "ls_period_detail": "{start}–{end} · {subject} · phòng {room}",
    "ls_counts": "Có mặt {present} · Muộn {late} · Vắng {absent} · Có phép {excused}",
    "ls_not_in_class": "Trong trường, không có mặt ở lớp",
    "ls_not_in_class_none": "Không có học sinh nào vào trường mà vắng tiết.",
    "ls_not_in_class_row": "{name} ({class_name}) · tiết {period} {subject}, phòng {room} · "
                           "vào cổng {entered}",
    "ls_unknown_school": "Không có trường này.",
    "ls_seen": "thấy lúc {time}",
    "ls_flag_in-school-not-in-class": "trong trường, không ở lớp",
    "ls_flag_no-gate-entry": "không quẹt ở cổng",
    "ls_flag_after-cutoff": "vào sau giờ chốt",
    "ls_flag_corrected": "đã điều chỉnh",
    "ls_flag_day-excused": "nghỉ có phép cả ngày",
}

EN: Final[dict[str, str]] = {
    "ls_title": "Lesson attendance",
    "ls_link": "Lesson attendance",
    "ls_back": "← School page",
    "ls_pick_class": "Pick a class",
    "ls_register": "Register by lesson",
    "ls_exports": "Export:",
    "ls_no_lessons": "This class has no lessons today by its timetable.",
    "ls_no_school_day": "Today is not a school day by the school's calendar.",
    "ls_no_students": "The class has no pupils yet.",
    "ls_pupil": "Pupil",
    "ls_period": "Period {period}",
    "ls_period_detail": "{start}–{end} · {subject} · room {room}",
    "ls_counts": "Present {present} · Late {late} · Absent {absent} · Excused {excused}",
    "ls_not_in_class": "In school, not in class",
    "ls_not_in_class_none": "No pupil who came through the gate has missed a lesson.",
    "ls_not_in_class_row": "{name} ({class_name}) · period {period} {subject}, room {room} · "
                           "through the gate at {entered}",
    "ls_unknown_school": "No such school.",
    "ls_seen": "seen at {time}",
    "ls_flag_in-school-not-in-class": "in school, not in class",
    "ls_flag_no-gate-entry": "no gate entry",
    "ls_flag_after-cutoff": "came after the cutoff",
    "ls_flag_corrected": "corrected",
    "ls_flag_day-excused": "excused for the day",
}
