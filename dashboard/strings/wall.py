"""Strings of the district wall, its kiosk mode and the unknown-school notice (issue #13)."""

from __future__ import annotations

from typing import Final

VI: Final[dict[str, str]] = {
    "wall_unknown_school": "Không có trường nào mang mã “{school}” trong hệ thống.",
}

EN: Final[dict[str, str]] = {
    "wall_unknown_school": "There is no school with the code “{school}”.",
}
