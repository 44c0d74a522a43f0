"""School levels: the codes the registry accepts and what each level implies. Pure.

Vietnamese public schools are registered by level: kindergarten (mầm non), primary
(tiểu học, grades 1-5), lower secondary (THCS, grades 6-9) and the combined primary
and lower secondary school (TH&THCS). Grade 0 stands for every kindergarten group.
"""

from __future__ import annotations

from typing import Final, Literal, TypeGuard

Level = Literal["mam_non", "tieu_hoc", "thcs", "th_thcs"]
LEVELS: Final[tuple[Level, ...]] = ("mam_non", "tieu_hoc", "thcs", "th_thcs")
LEVEL_LABEL: Final[dict[Level, str]] = {
    "mam_non": "Mầm non",
    "tieu_hoc": "Tiểu học",
    "thcs": "THCS",
    "th_thcs": "TH&THCS",
}
LEVEL_GRADES: Final[dict[Level, tuple[int, ...]]] = {
    "mam_non": (0,),
    "tieu_hoc": (1, 2, 3, 4, 5),
    "thcs": (6, 7, 8, 9),
    "th_thcs": tuple(range(1, 10)),
}


def is_level(value: str) -> TypeGuard[Level]:
    return value in LEVELS


def level_problem(level: str) -> str | None:
    """Why ``level`` is not a school level, or None when it is one."""
    if is_level(level):
        return None
    return f"level {level!r} is not one of {', '.join(LEVELS)}"


def grades_of(level: str) -> frozenset[int] | None:
    """The grades a school of this level teaches (None for an unknown level)."""
    return frozenset(LEVEL_GRADES[level]) if is_level(level) else None
