"""Dashboard strings in Vietnamese (the default) and English.

A plain dict per language keeps the translation reviewable by the district staff
without tooling; a missing key falls back to Vietnamese and then to the key itself
so a forgotten translation shows up on screen instead of crashing a callback.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import datetime
from typing import Final, Literal, get_args
from urllib.parse import parse_qs

from dashboard import strings as _areas

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
        "nav_kpi": "Chỉ tiêu",
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
        "eq_more_alarms": "… và {n} cảnh báo khác (lọc theo trường để xem)",
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
        # school page (issue #5)
        "nav_school": "Trường",
        "sc_subtitle": "Điểm danh hôm nay",
        "sc_hours": "Vào học {start} · muộn sau {late} · vắng sau {absent}",
        "sc_not_school_day": "Hôm nay không phải ngày học",
        "sc_unknown_school": "Không tìm thấy trường",
        "sc_arrivals": "Lượt đến hôm nay",
        "sc_late_list": "Học sinh đi muộn",
        "sc_absent_list": "Vắng và chưa đến",
        "sc_none_late": "Không có học sinh đi muộn",
        "sc_none_absent": "Không có học sinh vắng",
        "sc_register": "Sổ điểm danh lớp",
        "sc_pick_class": "Chọn lớp",
        "sc_no_students": "Lớp chưa có học sinh",
        "sc_arrived_of": "đã đến",
        "sc_no_class": "Chưa xếp lớp",
        "sc_col_code": "Mã HS",
        "sc_col_name": "Họ và tên",
        "sc_col_status": "Trạng thái",
        "sc_col_in": "Giờ vào",
        "sc_col_out": "Giờ ra",
        "sc_col_flags": "Lưu ý",
        "sc_col_correction": "Điều chỉnh",
        "sc_corrected": "Đã điều chỉnh",
        "sc_by": "bởi",
        "sc_exports": "Xuất báo cáo",
        "sc_export_register": "Sổ điểm danh lớp",
        "sc_export_daily": "Báo cáo ngày của trường",
        "sc_excused": "Có phép",
        "sc_pending": "Chưa đến",
        "status_present": "Có mặt",
        "status_late": "Đi muộn",
        "status_absent": "Vắng",
        "status_excused": "Có phép",
        "status_pending": "Chưa đến",
        "status_no-school": "Nghỉ",
        "flag_other-school": "Quẹt thẻ ở trường khác",
        "flag_out-without-in": "Có lượt ra, không có lượt vào",
        "flag_clock-unsynced": "Đồng hồ thiết bị chưa đồng bộ",
        "flag_duplicate-taps": "Quẹt thẻ trùng",
        "flag_after-absent-cutoff": "Đến sau giờ tính vắng",
        # dashboard login and access (issues #5, #6)
        "login_title": "Đăng nhập",
        "login_intro": "Đăng nhập bằng tài khoản của hệ thống trường học thông minh",
        "login_username": "Tên đăng nhập",
        "login_password": "Mật khẩu",
        "login_submit": "Đăng nhập",
        "login_failed": "Sai tên đăng nhập hoặc mật khẩu",
        "login_too_many": "Đăng nhập sai quá nhiều lần; vui lòng thử lại sau {seconds} giây",
        "login_form_expired": "Biểu mẫu đã hết hạn; vui lòng đăng nhập lại",
        "login_unavailable": "Không kết nối được cơ sở dữ liệu; vui lòng thử lại sau",
        "login_logged_out": "Bạn đã đăng xuất",
        "login_back": "Về trang tổng quan",
        "login_required": "Vui lòng đăng nhập để xem trang này",
        "session_ended": "Phiên đăng nhập đã kết thúc; vui lòng đăng nhập lại",
        "not_allowed_title": "Không có quyền truy cập",
        "not_allowed_school": "Tài khoản của bạn không được xem dữ liệu của trường này.",
        "not_allowed_page": "Tài khoản của bạn không được xem trang này.",
        "own_school_link": "Đến trang của trường bạn",
        "nav_login": "Đăng nhập",
        "nav_logout": "Đăng xuất",
        "logout_confirm": "Đăng xuất khỏi bảng điều khiển?",
        "eq_read_only": "Chỉ xem: tài khoản {role} không xác nhận hay xoá cảnh báo",
        "eq_not_allowed_action": "Tài khoản của bạn không được xác nhận hay xoá cảnh báo này",
        "role_district_admin": "Quản trị cấp quận",
        "role_school_admin": "Quản trị trường",
        "role_teacher": "Giáo viên",
        "role_facility_manager": "Quản lý thiết bị",
        "role_control_room": "Trung tâm điều hành",
        # public wall and kiosk (issue #12)
        "role_kiosk": "Màn hình kiosk",
        "gate_activity": "Lượt qua cổng trong {minutes} phút qua",
        "all_schools": "Toàn quận",
        "no_activity": "Không có lượt qua cổng nào trong {minutes} phút qua",
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
        "nav_kpi": "Targets",
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
        "eq_more_alarms": "… and {n} more alarms (filter by school to see them)",
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
        # school page (issue #5)
        "nav_school": "School",
        "sc_subtitle": "Today's attendance",
        "sc_hours": "Start {start} · late after {late} · absent after {absent}",
        "sc_not_school_day": "Today is not a school day",
        "sc_unknown_school": "School not found",
        "sc_arrivals": "Arrivals today",
        "sc_late_list": "Late students",
        "sc_absent_list": "Absent and not yet arrived",
        "sc_none_late": "No late students",
        "sc_none_absent": "No absent students",
        "sc_register": "Class register",
        "sc_pick_class": "Choose a class",
        "sc_no_students": "No students in this class",
        "sc_arrived_of": "arrived",
        "sc_no_class": "No class",
        "sc_col_code": "Code",
        "sc_col_name": "Full name",
        "sc_col_status": "Status",
        "sc_col_in": "In",
        "sc_col_out": "Out",
        "sc_col_flags": "Notes",
        "sc_col_correction": "Correction",
        "sc_corrected": "Corrected",
        "sc_by": "by",
        "sc_exports": "Export",
        "sc_export_register": "Class register",
        "sc_export_daily": "School daily report",
        "sc_excused": "Excused",
        "sc_pending": "Not yet arrived",
        "status_present": "Present",
        "status_late": "Late",
        "status_absent": "Absent",
        "status_excused": "Excused",
        "status_pending": "Not yet arrived",
        "status_no-school": "No school",
        "flag_other-school": "Tapped at another school",
        "flag_out-without-in": "Exit without entry",
        "flag_clock-unsynced": "Device clock not synced",
        "flag_duplicate-taps": "Duplicate taps",
        "flag_after-absent-cutoff": "Arrived after the absent cutoff",
        # dashboard login and access (issues #5, #6)
        "login_title": "Sign in",
        "login_intro": "Sign in with your smart-school account",
        "login_username": "Username",
        "login_password": "Password",
        "login_submit": "Sign in",
        "login_failed": "Incorrect username or password",
        "login_too_many": "Too many failed sign-ins; please try again in {seconds} s",
        "login_form_expired": "The form has expired; please sign in again",
        "login_unavailable": "The database cannot be reached; please try again later",
        "login_logged_out": "You have signed out",
        "login_back": "Back to the overview",
        "login_required": "Please sign in to view this page",
        "session_ended": "Your session has ended; please sign in again",
        "not_allowed_title": "Not allowed",
        "not_allowed_school": "Your account may not see this school's data.",
        "not_allowed_page": "Your account may not see this page.",
        "own_school_link": "Go to your school's page",
        "nav_login": "Sign in",
        "nav_logout": "Sign out",
        "logout_confirm": "Sign out of the dashboard?",
        "eq_read_only": "Read-only: a {role} account cannot acknowledge or clear alarms",
        "eq_not_allowed_action": "Your account may not acknowledge or clear this alarm",
        "role_district_admin": "District administrator",
        "role_school_admin": "School administrator",
        "role_teacher": "Teacher",
        "role_facility_manager": "Facility manager",
        "role_control_room": "Control room",
        # public wall and kiosk (issue #12)
        "role_kiosk": "Kiosk wall screen",
        "gate_activity": "Gate passages, last {minutes} minutes",
        "all_schools": "Whole district",
        "no_activity": "No gate passages in the last {minutes} minutes",
    },
}



def _merge_areas(into: dict[Lang, dict[str, str]]) -> None:
    """Add each ``dashboard.strings`` module's VI/EN dicts; a key defined twice is an error."""
    for info in sorted(pkgutil.iter_modules(_areas.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{_areas.__name__}.{info.name}")
        pairs: tuple[tuple[Lang, str], ...] = (("vi", "VI"), ("en", "EN"))
        for lang, attr in pairs:
            table: dict[str, str] = getattr(module, attr)
            clash = into[lang].keys() & table.keys()
            if clash:
                raise RuntimeError(f"dashboard.strings.{info.name} redefines {sorted(clash)}")
            into[lang].update(table)


_merge_areas(STRINGS)

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


def role_label(lang: Lang, role: str) -> str:
    return t(lang, f"role_{role}") if f"role_{role}" in STRINGS["vi"] else role


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
