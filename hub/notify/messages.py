"""Vietnamese message texts: pure, one function per kind."""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

Kind = Literal["entry", "exit", "absence"]
KINDS: Final = ("entry", "exit", "absence")


def render(kind: Kind, *, name: str, at: datetime) -> str:
    """``at`` in the district's local time."""
    clock = at.strftime("%H:%M")
    day = at.strftime("%d/%m/%Y")
    if kind == "entry":
        return f"Con {name} đã vào trường lúc {clock} ngày {day}."
    if kind == "exit":
        return f"Con {name} đã ra khỏi trường lúc {clock} ngày {day}."
    return (
        f"Con {name} chưa đến trường lúc {clock} ngày {day}. "
        "Phụ huynh vui lòng liên hệ giáo viên chủ nhiệm nếu con nghỉ học."
    )
