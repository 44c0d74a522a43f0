"""Strings of the exchange page (/exchange, issue 15): the push to the city's systems."""

from __future__ import annotations

from typing import Final

VI: Final[dict[str, str]] = {
    "nav_exchange": "Liên thông",
    "xp_title": "Liên thông dữ liệu với thành phố",
    "xp_subtitle": "Dữ liệu hệ thống tự gửi đi: điểm danh từng ngày sau giờ chốt vắng, "
                   "chỉ tiêu sau khi chốt số liệu cuối tháng; ký HMAC, mỗi kỳ gửi một lần",
    "xp_endpoints": "Nơi nhận",
    "xp_deliveries": "Lần gửi gần đây",
    "xp_name": "Tên",
    "xp_url": "Địa chỉ",
    "xp_kinds": "Dữ liệu gửi",
    "xp_created": "Tạo lúc",
    "xp_period": "Kỳ",
    "xp_kind": "Loại",
    "xp_endpoint": "Nơi nhận",
    "xp_state": "Trạng thái",
    "xp_attempts": "Số lần thử",
    "xp_last_error": "Lỗi gần nhất",
    "xp_next_try": "Thử lại lúc",
    "xp_sent_at": "Đã gửi lúc",
    "xp_kind_attendance_daily_aggregate": "Điểm danh theo ngày",
    "xp_kind_kpi_snapshot": "Chỉ tiêu tháng",
    "xp_state_queued": "Đang chờ",
    "xp_state_sent": "Đã gửi",
    "xp_state_failed": "Lỗi, sẽ thử lại",
    "xp_state_dead": "Đã bỏ",
    "xp_removed": "(đã xoá)",
    "xp_no_endpoints": "Chưa có nơi nhận nào. Thêm bằng lệnh "
                       "“smartschool exchange endpoints add” hoặc qua API.",
    "xp_no_deliveries": "Chưa có lần gửi nào.",
}

EN: Final[dict[str, str]] = {
    "nav_exchange": "Exchange",
    "xp_title": "Data exchange with the city",
    "xp_subtitle": "What the hub pushes: daily attendance after the absent cutoff, the "
                   "monthly KPIs after the month-end snapshot; HMAC-signed, each period once",
    "xp_endpoints": "Receivers",
    "xp_deliveries": "Recent deliveries",
    "xp_name": "Name",
    "xp_url": "URL",
    "xp_kinds": "Pushed",
    "xp_created": "Created",
    "xp_period": "Period",
    "xp_kind": "Kind",
    "xp_endpoint": "Receiver",
    "xp_state": "State",
    "xp_attempts": "Tries",
    "xp_last_error": "Last error",
    "xp_next_try": "Next try",
    "xp_sent_at": "Sent at",
    "xp_kind_attendance_daily_aggregate": "Daily attendance",
    "xp_kind_kpi_snapshot": "Monthly KPIs",
    "xp_state_queued": "Queued",
    "xp_state_sent": "Sent",
    "xp_state_failed": "Failed, will retry",
    "xp_state_dead": "Given up",
    "xp_removed": "(removed)",
    "xp_no_endpoints": "No receivers yet. Add one with "
                       "“smartschool exchange endpoints add” or through the API.",
    "xp_no_deliveries": "Nothing pushed yet.",
}
