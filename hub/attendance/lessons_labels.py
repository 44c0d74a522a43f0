"""The words of a lesson register export, Vietnamese (default) or English. Pure.

The daily register's words (statuses, the columns both share) come from
hub/attendance/labels.py; this adds the lesson's own columns, flags and title.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Final

from hub.attendance import labels

HEADERS: Final[Mapping[str, tuple[str, str]]] = {
    "period": ("Tiết", "Period"),
    "subject": ("Môn", "Subject"),
    "room": ("Phòng", "Room"),
    "seen_at": ("Có mặt ở phòng lúc", "Seen in the room at"),
}
FLAGS: Final[Mapping[str, tuple[str, str]]] = {
    "in-school-not-in-class": ("Trong trường, không có mặt ở lớp",
                               "In school, not in class"),
    "no-gate-entry": ("Không quẹt ở cổng (có mặt ở lớp)", "No gate entry (present in class)"),
    "after-cutoff": ("Vào lớp sau giờ chốt", "Came in after the cutoff"),
    "corrected": ("Đã điều chỉnh", "Corrected"),
    "day-excused": ("Nghỉ có phép cả ngày", "Excused for the day"),
}
TITLE: Final = ("Điểm danh tiết học lớp {name} ngày {day}", "Lesson register {name}, {day}")


def flag_words(flags: Sequence[str], lang: labels.Lang) -> str:
    return ", ".join(FLAGS[f][lang == "en"] if f in FLAGS else f for f in sorted(flags))


def lesson_words(columns: Sequence[str], rows: Sequence[Sequence[Any]], lang: labels.Lang, *,
                 name: str, day: date) -> tuple[list[str], list[list[Any]], str]:
    """Headers, statuses and flags of ``lesson_table`` in ``lang``, and the title row."""
    at = list(columns).index("flags") if "flags" in columns else -1
    worded = [[flag_words(v, lang) if i == at else v for i, v in enumerate(row)]
              for row in rows]
    headers, localised = labels.localise(columns, worded, lang)
    headers = [HEADERS[c][lang == "en"] if c in HEADERS else h
               for c, h in zip(columns, headers, strict=True)]
    shown = day.strftime("%d/%m/%Y") if lang == "vi" else day.isoformat()
    return headers, localised, TITLE[lang == "en"].format(name=name, day=shown)
