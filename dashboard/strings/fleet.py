"""The fleet view (/fleet, issue #13)."""

from __future__ import annotations

from typing import Final

VI: Final[dict[str, str]] = {
    "nav_fleet": "Đội thiết bị",
    "fleet_title": "Đội thiết bị",
    "fleet_subtitle": "Phần mềm, cấu hình, lần cuối liên lạc, hàng đợi và đồng hồ của từng"
                      " thiết bị",
    "fleet_all_schools": "Tất cả các trường",
    "fleet_active": "Đang hoạt động",
    "fleet_decommissioned": "Đã ngừng sử dụng",
    "fleet_none_decommissioned": "Không có thiết bị nào đã ngừng sử dụng",
    "fleet_no_devices": "Chưa có thiết bị nào",
    "fleet_col_device": "Thiết bị",
    "fleet_col_school": "Trường",
    "fleet_col_role": "Loại",
    "fleet_col_room": "Phòng",
    "fleet_col_state": "Trạng thái",
    "fleet_col_seen": "Lần cuối",
    "fleet_col_fw": "Phần mềm",
    "fleet_col_config": "Phiên bản cấu hình",
    "fleet_col_backlog": "Hàng đợi",
    "fleet_col_clock": "Đồng hồ",
    "fleet_col_reported": "Báo cáo lúc",
    "fleet_col_decommissioned": "Ngừng từ",
    "fleet_clock_synced": "Đã đồng bộ",
    "fleet_clock_unsynced": "Chưa đồng bộ",
    "fleet_clock_unknown": "Chưa rõ",
    "fleet_kpi_devices": "Thiết bị",
    "fleet_kpi_online": "Trực tuyến",
    "fleet_kpi_unsynced": "Đồng hồ chưa đồng bộ",
    "fleet_kpi_backlog": "Còn hàng đợi",
    "fleet_kpi_firmware": "Phiên bản phần mềm",
}

EN: Final[dict[str, str]] = {
    "nav_fleet": "Fleet",
    "fleet_title": "Device fleet",
    "fleet_subtitle": "Each device's firmware, configuration, last contact, outbox backlog and"
                      " clock",
    "fleet_all_schools": "All schools",
    "fleet_active": "In service",
    "fleet_decommissioned": "Decommissioned",
    "fleet_none_decommissioned": "No decommissioned devices",
    "fleet_no_devices": "No devices yet",
    "fleet_col_device": "Device",
    "fleet_col_school": "School",
    "fleet_col_role": "Kind",
    "fleet_col_room": "Room",
    "fleet_col_state": "State",
    "fleet_col_seen": "Last seen",
    "fleet_col_fw": "Firmware",
    "fleet_col_config": "Config version",
    "fleet_col_backlog": "Backlog",
    "fleet_col_clock": "Clock",
    "fleet_col_reported": "Reported at",
    "fleet_col_decommissioned": "Decommissioned",
    "fleet_clock_synced": "Synced",
    "fleet_clock_unsynced": "Not synced",
    "fleet_clock_unknown": "Unknown",
    "fleet_kpi_devices": "Devices",
    "fleet_kpi_online": "Online",
    "fleet_kpi_unsynced": "Clocks not synced",
    "fleet_kpi_backlog": "With a backlog",
    "fleet_kpi_firmware": "Firmware versions",
}
