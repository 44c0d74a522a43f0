"""Who may change a school's records, import them, record consent and enroll faces. Pure."""

from __future__ import annotations

from typing import Final

RECORDS_ROLES: Final = frozenset({"district_admin", "school_admin"})


def may_manage(role: str, user_school: str | None, school: str) -> bool:
    """District admins everywhere; a school admin only in their own school."""
    if role == "district_admin":
        return True
    return role == "school_admin" and user_school is not None and user_school == school
