"""Dashboard strings in Vietnamese (the default) and English.

A plain dict per language keeps the translation reviewable by the district staff
without tooling; a missing key falls back to Vietnamese and then to the key itself
so a forgotten translation shows up on screen instead of crashing a callback.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal, get_args
from urllib.parse import parse_qs

Lang = Literal["vi", "en"]
LANGUAGES: Final[tuple[Lang, ...]] = get_args(Lang)

STRINGS: Final[dict[Lang, dict[str, str]]] = {
    "vi": {
        "title": "Trung tâm điều hành giáo dục quận Dương Kinh",
        "subtitle": "Phòng Giáo dục và Đào tạo quận Dương Kinh · Hải Phòng",
        "enrolled": "Sĩ số",
        "present": "Có mặt",
        "late": "Đi muộn",
        "absent": "Vắng",
        "arrived": "Đã đến",
        "devices_online": "Thiết bị trực tuyến",
        "devices": "Thiết bị",
        "schools": "Các trường",
        "gate_feed": "Sự kiện cổng trường",
        "arrivals_chart": "Lượt đến theo giờ",
        "on_time": "Đúng giờ",
        "col_time": "Giờ",
        "col_school": "Trường",
        "col_class": "Lớp",
        "col_student": "Học sinh",
        "col_direction": "Hướng",
        "col_decision": "Kết quả",
        "dir_in": "Vào",
        "dir_out": "Ra",
        "decision_granted": "Hợp lệ",
        "decision_denied": "Từ chối",
        "decision_unknown": "Không rõ",
        "unresolved": "Chưa xác định",
        "no_events": "Chưa có sự kiện",
        "no_schools": "Chưa có trường nào trong hệ thống",
        "no_arrivals": "Chưa có lượt đến hôm nay",
        "db_error": "Mất kết nối cơ sở dữ liệu — đang thử lại; số liệu có thể chưa cập nhật",
        "state_ok": "Bình thường",
        "state_warn": "Thiết bị mất kết nối",
        "state_alert": "Mất toàn bộ thiết bị",
        "level_mam_non": "Mầm non",
        "level_tieu_hoc": "Tiểu học",
        "level_thcs": "THCS",
        "level_th_thcs": "TH&THCS",
        "language": "Ngôn ngữ",
        # equipment page (issue #6)
        "nav_district": "Tổng quan",
        "nav_equipment": "Thiết bị",
        "eq_title": "Quản lý thiết bị",
        "eq_subtitle": "Máy chiếu và thiết bị phòng học · trạng thái trực tiếp và cảnh báo",
        "eq_all_schools": "Tất cả các trường",
        "eq_assets": "Tài sản",
        "eq_coverage": "Hồ sơ số đầy đủ",
        "eq_open_alarms": "Cảnh báo đang mở",
        "eq_unacked": "Chưa xác nhận",
        "eq_col_room": "Phòng",
        "eq_col_tag": "Mã tài sản",
        "eq_col_model": "Model",
        "eq_col_state": "Trạng thái",
        "eq_col_lamp": "Giờ bóng đèn / định mức",
        "eq_col_alarms": "Cảnh báo",
        "eq_power_on": "Đang bật",
        "eq_power_off": "Tắt",
        "eq_power_cooling": "Đang tắt",
        "eq_power_warming": "Đang khởi động",
        "eq_online": "Trực tuyến",
        "eq_offline": "Mất kết nối",
        "eq_unknown": "Chưa rõ",
        "eq_no_assets": "Chưa có tài sản nào",
        "eq_no_alarms": "Không có cảnh báo đang mở",
        "eq_ack": "Xác nhận",
        "eq_clear": "Xoá",
        "eq_comment": "Ghi chú (tuỳ chọn)",
        "eq_chart": "Biểu đồ thông số",
        "eq_pick_asset": "Chọn tài sản",
        "eq_no_data": "Chưa có dữ liệu trong 24 giờ qua",
        "eq_done_ack": "Đã xác nhận cảnh báo",
        "eq_done_clear": "Đã xoá cảnh báo",
        "alarm_lamp_life": "Bóng đèn sắp hết tuổi thọ",
        "alarm_projector_error": "Máy chiếu báo lỗi",
        "alarm_room_temp_high": "Nhiệt độ phòng cao",
        "alarm_no_data": "Không nhận được dữ liệu",
        "alarm_device_offline": "Thiết bị mất kết nối",
        "alarm_state_active_unack": "Mới",
        "alarm_state_active_ack": "Đã xác nhận",
        "alarm_state_cleared_unack": "Đã hết, chưa xác nhận",
        "metric_projector.lamp_hours": "Giờ bóng đèn",
        "metric_projector.on": "Máy chiếu bật (tỉ lệ)",
        "metric_cpu.temp_c": "Nhiệt độ CPU (°C)",
        "metric_env.temp_c": "Nhiệt độ phòng (°C)",
    },
    "en": {
        "title": "Dương Kinh District Education Control Centre",
        "subtitle": "Dương Kinh District Office of Education and Training · Hải Phòng",
        "enrolled": "Enrolled",
        "present": "Present",
        "late": "Late",
        "absent": "Absent",
        "arrived": "Arrived",
        "devices_online": "Devices online",
        "devices": "Devices",
        "schools": "Schools",
        "gate_feed": "School gate events",
        "arrivals_chart": "Arrivals by time",
        "on_time": "On time",
        "col_time": "Time",
        "col_school": "School",
        "col_class": "Class",
        "col_student": "Student",
        "col_direction": "Direction",
        "col_decision": "Decision",
        "dir_in": "In",
        "dir_out": "Out",
        "decision_granted": "Granted",
        "decision_denied": "Denied",
        "decision_unknown": "Unknown",
        "unresolved": "Unidentified",
        "no_events": "No events yet",
        "no_schools": "No schools registered yet",
        "no_arrivals": "No arrivals today yet",
        "db_error": "Database connection lost — retrying; figures may be stale",
        "state_ok": "Normal",
        "state_warn": "Devices offline",
        "state_alert": "All devices offline",
        "level_mam_non": "Kindergarten",
        "level_tieu_hoc": "Primary",
        "level_thcs": "Lower secondary",
        "level_th_thcs": "Primary & lower sec.",
        "language": "Language",
        # equipment page (issue #6)
        "nav_district": "Overview",
        "nav_equipment": "Equipment",
        "eq_title": "Equipment management",
        "eq_subtitle": "Projectors and classroom equipment · live state and alarms",
        "eq_all_schools": "All schools",
        "eq_assets": "Assets",
        "eq_coverage": "Complete digital records",
        "eq_open_alarms": "Open alarms",
        "eq_unacked": "Unacknowledged",
        "eq_col_room": "Room",
        "eq_col_tag": "Asset tag",
        "eq_col_model": "Model",
        "eq_col_state": "State",
        "eq_col_lamp": "Lamp hours / rated",
        "eq_col_alarms": "Alarms",
        "eq_power_on": "On",
        "eq_power_off": "Off",
        "eq_power_cooling": "Cooling",
        "eq_power_warming": "Warming up",
        "eq_online": "Online",
        "eq_offline": "Offline",
        "eq_unknown": "Unknown",
        "eq_no_assets": "No assets yet",
        "eq_no_alarms": "No open alarms",
        "eq_ack": "Acknowledge",
        "eq_clear": "Clear",
        "eq_comment": "Comment (optional)",
        "eq_chart": "Metric chart",
        "eq_pick_asset": "Choose an asset",
        "eq_no_data": "No data in the last 24 hours",
        "eq_done_ack": "Alarm acknowledged",
        "eq_done_clear": "Alarm cleared",
        "alarm_lamp_life": "Lamp near end of life",
        "alarm_projector_error": "Projector error",
        "alarm_room_temp_high": "Room temperature high",
        "alarm_no_data": "No telemetry",
        "alarm_device_offline": "Device offline",
        "alarm_state_active_unack": "New",
        "alarm_state_active_ack": "Acknowledged",
        "alarm_state_cleared_unack": "Cleared, unacknowledged",
        "metric_projector.lamp_hours": "Lamp hours",
        "metric_projector.on": "Projector on (share)",
        "metric_cpu.temp_c": "CPU temperature (°C)",
        "metric_env.temp_c": "Room temperature (°C)",
    },
}

_WEEKDAYS: Final[dict[Lang, tuple[str, ...]]] = {
    "vi": ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS_EN: Final = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)


def t(lang: Lang, key: str) -> str:
    return STRINGS[lang].get(key) or STRINGS["vi"].get(key) or key


def level_label(lang: Lang, level: str) -> str:
    return t(lang, f"level_{level}") if f"level_{level}" in STRINGS["vi"] else level


def format_date(lang: Lang, moment: datetime) -> str:
    # strftime would follow the process locale, which on a Pi is rarely vi_VN.
    weekday = _WEEKDAYS[lang][moment.weekday()]
    if lang == "vi":
        return f"{weekday}, ngày {moment.day:02d}/{moment.month:02d}/{moment.year}"
    return f"{weekday}, {moment.day} {_MONTHS_EN[moment.month - 1]} {moment.year}"


def coerce_lang(value: object, default: Lang) -> Lang:
    for lang in LANGUAGES:
        if value == lang:
            return lang
    return default


def language_from_search(search: str | None, default: Lang) -> Lang:
    """The language a URL query string asks for (``?lang=en``), else ``default``."""
    values = parse_qs((search or "").lstrip("?")).get("lang", [])
    return coerce_lang(values[0].strip().lower() if values else None, default)
