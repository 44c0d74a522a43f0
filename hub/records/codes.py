"""Person codes: the person id the gate galleries and gate events carry.

Assigned once, on insert, and never changed afterwards, so a gallery built yesterday still
names the same pupil after a re-import that corrects a name or adds a missing identifier:

- pupil: ``<school>-<MOET id>``; without a MOET id, ``<school>-p<12 hex of a SHA-256 of
  the personal id>``, so the personal id itself never travels to the gates.
- staff: ``<school>-gv-<Mã cán bộ>``.
"""

from __future__ import annotations

import hashlib
from typing import Final

STAFF_CODE_INFIX: Final = "gv"
_PID_CODE_SALT: Final = b"smartschool/personal-id/"


def student_code(school: str, *, moet_id: str | None, personal_id: str | None) -> str:
    if moet_id:
        return f"{school}-{moet_id}"
    if not personal_id:
        raise ValueError("a pupil needs a MOET id or a personal id for its code")
    digest = hashlib.sha256(_PID_CODE_SALT + personal_id.encode()).hexdigest()[:12]
    return f"{school}-p{digest}"


def staff_code(school: str, code: str) -> str:
    return f"{school}-{STAFF_CODE_INFIX}-{code}"
