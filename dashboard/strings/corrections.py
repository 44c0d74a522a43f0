"""Strings of the correction control on the school page's class register and on the
lesson register (/school/<id>/lessons): pick a status, give a reason, save."""

from __future__ import annotations

from typing import Final

VI: Final[dict[str, str]] = {
    "corr_open": "Sửa",
    "corr_col": "Sửa",
    "corr_title_day": "Sửa điểm danh ngày",
    "corr_title_lesson": "Sửa điểm danh tiết học",
    "corr_who": "{name} · {code} · {day}",
    "corr_now": "Hiện tại: {status}",
    "corr_lesson": "Tiết",
    "corr_lesson_option": "Tiết {period} · {subject} ({status})",
    "corr_status": "Trạng thái mới",
    "corr_reason": "Lý do (bắt buộc)",
    "corr_reason_hint": "VD: phụ huynh đã gọi báo ốm",
    "corr_save": "Lưu",
    "corr_cancel": "Huỷ",
    "corr_close": "Đóng",
    "corr_need_reason": "Vui lòng nhập lý do điều chỉnh.",
    "corr_reason_too_long": "Lý do dài quá {max} ký tự.",
    "corr_need_status": "Vui lòng chọn trạng thái mới.",
    "corr_need_lesson": "Vui lòng chọn tiết cần sửa.",
    "corr_saved": "Đã lưu: {name} — {status}.",
    "corr_forbidden": "Tài khoản của bạn không được sửa sổ điểm danh của lớp này.",
    "corr_not_found": "Không tìm thấy học sinh hoặc tiết học này.",
    "corr_refused": "Không lưu được: {reason}",
    "corr_by": "✎ {user} · {time}",
    "corr_by_title": "Sửa bởi {user} lúc {time}: {reason}",
}

EN: Final[dict[str, str]] = {
    "corr_open": "Correct",
    "corr_col": "Correct",
    "corr_title_day": "Correct the day's attendance",
    "corr_title_lesson": "Correct lesson attendance",
    "corr_who": "{name} · {code} · {day}",
    "corr_now": "Now: {status}",
    "corr_lesson": "Lesson",
    "corr_lesson_option": "Period {period} · {subject} ({status})",
    "corr_status": "New status",
    "corr_reason": "Reason (required)",
    "corr_reason_hint": "e.g. a parent phoned in sick",
    "corr_save": "Save",
    "corr_cancel": "Cancel",
    "corr_close": "Close",
    "corr_need_reason": "Please give a reason for the correction.",
    "corr_reason_too_long": "The reason is longer than {max} characters.",
    "corr_need_status": "Please pick the new status.",
    "corr_need_lesson": "Please pick the lesson to correct.",
    "corr_saved": "Saved: {name} — {status}.",
    "corr_forbidden": "Your account may not correct this class's register.",
    "corr_not_found": "No such pupil or lesson.",
    "corr_refused": "Not saved: {reason}",
    "corr_by": "✎ {user} · {time}",
    "corr_by_title": "Corrected by {user} at {time}: {reason}",
}
