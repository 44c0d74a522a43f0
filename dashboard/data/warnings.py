"""What the warnings page reads: hub.warnings.read, as /api/v1/warnings answers, in the
same scope (a school's staff their school; a facility manager the equipment kinds)."""

from __future__ import annotations

from dataclasses import dataclass

from hub.db import Conn
from hub.warnings import read
from hub.warnings.read import WarningPublic, WarningRunPublic
from hub.warnings.rules import Kind

# The page shows the newest this many; the API pages through all of them.
PAGE_ROWS = 500


@dataclass(frozen=True, slots=True)
class WarningsView:
    counts: dict[Kind, int]  # open per visible kind
    rows: list[WarningPublic]  # open, newest first, of the chosen kind(s)
    last_run: WarningRunPublic | None


def load_warnings(conn: Conn, *, role: str, school: str | None,
                  kind: str | None) -> WarningsView:
    kinds = read.visible_kinds(role)
    chosen = [k for k in kinds if kind is None or k == kind]
    rows = read.list_warnings(conn, kinds=chosen, school=school, state="open",
                              limit=PAGE_ROWS) if chosen else []
    return WarningsView(read.open_counts(conn, kinds=kinds, school=school), rows,
                        read.last_run(conn))
