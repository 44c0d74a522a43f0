"""The words of an attendance export: column headers, statuses, flags and titles, in
Vietnamese (the default, what a school secretary files) or English. Pure.

The API's JSON keeps its field names; only the CSV and XLSX files are translated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Final, Literal

Lang = Literal["vi", "en"]
DEFAULT_LANG: Final[Lang] = "vi"

# Field name -> (Vietnamese, English). A field missing here keeps its own name.
HEADERS: Final[Mapping[str, tuple[str, str]]] = {
    "student": ("Mã học sinh", "Student code"),
    "full_name": ("Họ và tên", "Full name"),
    "status": ("Trạng thái", "Status"),
    "first_in": ("Giờ vào", "First in"),
    "last_out": ("Giờ ra", "Last out"),
    "flags": ("Ghi chú", "Flags"),
    "correction_reason": ("Lý do điều chỉnh", "Correction reason"),
    "corrected_by": ("Người điều chỉnh", "Corrected by"),
    "school": ("Trường", "School"),
    "class_id": ("Mã lớp (số)", "Class id"),
    "class_name": ("Lớp", "Class"),
    "school_day": ("Ngày học", "School day"),
    "enrolled": ("Sĩ số", "Enrolled"),
    "present": ("Có mặt", "Present"),
    "late": ("Đi muộn", "Late"),
    "absent": ("Vắng", "Absent"),
    "excused": ("Có phép", "Excused"),
    "pending": ("Chưa đến", "Not arrived yet"),
    "school_days": ("Số ngày học", "School days"),
    "student_days": ("Số lượt học sinh - ngày", "Student-days"),
    "attendance_rate": ("Tỷ lệ chuyên cần", "Attendance rate"),
    "late_rate": ("Tỷ lệ đi muộn", "Late rate"),
    "absent_rate": ("Tỷ lệ vắng", "Absent rate"),
}
STATUSES: Final[Mapping[str, tuple[str, str]]] = {
    "present": ("Có mặt", "Present"),
    "late": ("Đi muộn", "Late"),
    "absent": ("Vắng", "Absent"),
    "excused": ("Có phép", "Excused"),
    "pending": ("Chưa đến", "Not arrived yet"),
    "no-school": ("Nghỉ học", "No school"),
}
FLAGS: Final[Mapping[str, tuple[str, str]]] = {
    "other-school": ("Quẹt thẻ ở trường khác", "Tapped at another school"),
    "out-without-in": ("Có lượt ra, không có lượt vào", "Exit without entry"),
    "clock-unsynced": ("Đồng hồ thiết bị chưa đồng bộ", "Device clock not synced"),
    "duplicate-taps": ("Quẹt thẻ trùng", "Duplicate taps"),
    "after-absent-cutoff": ("Đến sau giờ tính vắng", "Arrived after the absent cutoff"),
    "corrected": ("Đã điều chỉnh", "Corrected"),
}
YES_NO: Final[Mapping[bool, tuple[str, str]]] = {True: ("Có", "Yes"), False: ("Không", "No")}
TITLES: Final[Mapping[str, tuple[str, str]]] = {
    "register": ("Sổ điểm danh lớp {name} ngày {day}", "Class register {name}, {day}"),
    "daily": ("Điểm danh {name} ngày {day}", "Attendance {name}, {day}"),
    "monthly": ("Tỷ lệ chuyên cần {name} tháng {day}", "Attendance rates {name}, {day}"),
}
DISTRICT: Final = ("toàn quận", "district")


def _word(table: Mapping[Any, tuple[str, str]], key: Any, lang: Lang) -> Any:
    words = table.get(key)
    return key if words is None else words[lang == "en"]


def header(field: str, lang: Lang) -> str:
    return str(_word(HEADERS, field, lang))


def _value(field: str, value: Any, lang: Lang) -> Any:
    if isinstance(value, bool):
        return _word(YES_NO, value, lang)
    if field == "status" and isinstance(value, str):
        return _word(STATUSES, value, lang)
    if field == "flags" and isinstance(value, Iterable) and not isinstance(value, str):
        return ", ".join(str(_word(FLAGS, f, lang)) for f in sorted(value))
    return value


def localise(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], lang: Lang
) -> tuple[list[str], list[list[Any]]]:
    """Headers and status words (and yes/no, flags) in ``lang``; other values unchanged."""
    return (
        [header(c, lang) for c in columns],
        [[_value(c, v, lang) for c, v in zip(columns, row, strict=True)] for row in rows],
    )


def title(kind: str, lang: Lang, *, name: str | None, day: date | str) -> str:
    """The title row of an export: what it is, of which class or school, for which day."""
    shown_day = day.strftime("%d/%m/%Y") if isinstance(day, date) and lang == "vi" else str(day)
    if isinstance(day, str) and lang == "vi" and len(day) == 7:  # YYYY-MM
        shown_day = f"{day[5:]}/{day[:4]}"
    return TITLES[kind][lang == "en"].format(name=name or DISTRICT[lang == "en"], day=shown_day)
