"""Pure helpers that turn query rows into what a wall screen may show."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from hub.read.queries import SchoolAttendance

TileState = Literal["ok", "warn", "alert"]


def _initial(word: str) -> str:
    # The first grapheme, so "Ánh" written with a combining accent still keeps its accent.
    head = word[0]
    for char in word[1:]:
        if not unicodedata.combining(char):
            break
        head += char
    return unicodedata.normalize("NFC", head)


def mask_name(full_name: str | None) -> str:
    """Family name, middle-name initials and given name: "Nguyễn Văn An" -> "Nguyễn V. An".

    The wall screen is visible to visitors; the initials keep a child recognisable to
    staff who know the class without spelling out the full name.
    """
    if not full_name:
        return ""
    words = unicodedata.normalize("NFC", full_name).split()
    if len(words) <= 2:
        return " ".join(words)
    middle = " ".join(f"{_initial(w)}." for w in words[1:-1])
    return f"{words[0]} {middle} {words[-1]}"


_SCHOOL_PREFIXES = ("Trường ", "Truong ")


def short_school_name(name: str) -> str:
    """Every school's name starts with "Trường"; on a tile it only costs width."""
    for prefix in _SCHOOL_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix):]
    return name


def school_state(row: SchoolAttendance) -> TileState:
    """Colour of a school tile: red when the school has gone dark, amber when part of it has.

    Device health drives the colour because a school with no reachable gate shows zero
    arrivals that mean "no data", not "no pupils", and the control room must see that.
    """
    if row.devices_total > 0 and row.devices_online == 0:
        return "alert"
    if row.devices_online < row.devices_total:
        return "warn"
    return "ok"


def arrived_ratio(row: SchoolAttendance) -> float:
    if row.enrolled <= 0:
        return 0.0
    return min(1.0, (row.present + row.late) / row.enrolled)


def local_time(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M:%S")
