"""The warnings page's words (issue 15). Kinds' names and descriptions come from
hub/warnings/rules.py, which the staff's messages use too."""

from __future__ import annotations

from typing import Final

VI: Final[dict[str, str]] = {
    "nav_warnings": "Cảnh báo",
    "warn_title": "Cảnh báo và dự báo",
    "warn_subtitle": "Tính mỗi đêm từ dữ liệu điểm danh và thiết bị; gửi người cần xử lý",
    "warn_computed": "Tính lúc {at} (dữ liệu điểm danh đến hết ngày {as_of})",
    "warn_never": "Chưa tính lần nào",
    "warn_all_kinds": "Tất cả",
    "warn_open": "Đang mở",
    "warn_col_kind": "Loại",
    "warn_col_school": "Trường",
    "warn_col_who": "Đối tượng",
    "warn_col_what": "Nội dung",
    "warn_col_opened": "Từ ngày",
    "warn_none": "Không có cảnh báo nào đang mở.",
    "warn_more": "Hiển thị {shown} cảnh báo mới nhất trên {total}.",
    "warn_filter": "Lọc theo loại",
}

EN: Final[dict[str, str]] = {
    "nav_warnings": "Warnings",
    "warn_title": "Warnings and forecasts",
    "warn_subtitle": "Computed nightly from attendance and equipment data; sent to whoever "
                     "must act",
    "warn_computed": "Computed at {at} (attendance data up to the end of {as_of})",
    "warn_never": "Not computed yet",
    "warn_all_kinds": "All",
    "warn_open": "Open",
    "warn_col_kind": "Kind",
    "warn_col_school": "School",
    "warn_col_who": "Subject",
    "warn_col_what": "What",
    "warn_col_opened": "Since",
    "warn_none": "No open warnings.",
    "warn_more": "Showing the newest {shown} of {total} warnings.",
    "warn_filter": "Filter by kind",
}
