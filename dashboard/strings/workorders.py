"""Work orders on the equipment page (issue #13): open from an alarm, assign, close with a
note; the asset's history."""

from __future__ import annotations

from typing import Final

VI: Final[dict[str, str]] = {
    "wo_title": "Phiếu sửa chữa đang mở",
    "wo_open": "Mở phiếu sửa chữa",
    "wo_assign": "Giao việc",
    "wo_close": "Đóng phiếu",
    "wo_assignee": "Người được giao",
    "wo_note": "Ghi chú (khi mở hoặc đóng phiếu)",
    "wo_order": "Phiếu #{id}",
    "wo_none": "Không có phiếu sửa chữa đang mở",
    "wo_unassigned": "Chưa giao",
    "wo_opened_by": "Mở bởi {who} lúc {at}",
    "wo_done_open": "Đã mở phiếu #{id}",
    "wo_done_assign": "Đã giao phiếu #{id}",
    "wo_done_close": "Đã đóng phiếu #{id}",
    "wo_not_allowed": "Tài khoản này không được thao tác phiếu sửa chữa",
    "wo_history": "Lịch sử tài sản",
    "wo_history_none": "Chưa có cảnh báo hay phiếu sửa chữa nào cho tài sản này",
    "wo_h_alarm": "Cảnh báo",
    "wo_h_opened": "Mở phiếu #{id}",
    "wo_h_closed": "Đóng phiếu #{id}",
    "wo_h_assignee": "giao cho {who}",
    "wo_h_by": "bởi {who}",
}

EN: Final[dict[str, str]] = {
    "wo_title": "Open work orders",
    "wo_open": "Open work order",
    "wo_assign": "Assign",
    "wo_close": "Close",
    "wo_assignee": "Assignee",
    "wo_note": "Note (when opening or closing)",
    "wo_order": "Work order #{id}",
    "wo_none": "No open work orders",
    "wo_unassigned": "Unassigned",
    "wo_opened_by": "Opened by {who} at {at}",
    "wo_done_open": "Opened work order #{id}",
    "wo_done_assign": "Assigned work order #{id}",
    "wo_done_close": "Closed work order #{id}",
    "wo_not_allowed": "This account may not handle work orders",
    "wo_history": "Asset history",
    "wo_history_none": "No alarms or work orders for this asset yet",
    "wo_h_alarm": "Alarm",
    "wo_h_opened": "Work order #{id} opened",
    "wo_h_closed": "Work order #{id} closed",
    "wo_h_assignee": "assigned to {who}",
    "wo_h_by": "by {who}",
}
