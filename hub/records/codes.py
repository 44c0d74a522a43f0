"""Person codes: the person id the gate galleries and gate events carry.

A pupil's code is random, ``<school>-p<16 hex>``, drawn once on insert and never changed,
so a gallery built yesterday still names the same pupil after a re-import that corrects a
name or adds a missing identifier (re-imports match pupils by their identifiers, never by
the code). Nothing about the pupil can be read back from it: codes travel to the gates,
over MQTT and through the events API, and one derived from the MOET id or the personal id
(as before migration 0012) could be reversed by searching the id space.

Staff: ``<school>-gv-<Mã cán bộ>``, the school's own staff number, which the staff export
gives back as that number.
"""

from __future__ import annotations

import re
import secrets
from typing import Final

STAFF_CODE_INFIX: Final = "gv"
STUDENT_CODE_INFIX: Final = "p"
STUDENT_CODE_HEX: Final = 16  # 64 random bits: no collision within a district in practice
STUDENT_CODE_RE: Final = re.compile(rf"^(?P<school>.+)-{STUDENT_CODE_INFIX}[0-9a-f]"
                                    rf"{{{STUDENT_CODE_HEX}}}$")


def student_code(school: str) -> str:
    """A fresh random code for a new pupil of ``school``."""
    return f"{school}-{STUDENT_CODE_INFIX}{secrets.token_hex(STUDENT_CODE_HEX // 2)}"


def staff_code(school: str, code: str) -> str:
    return f"{school}-{STAFF_CODE_INFIX}-{code}"
