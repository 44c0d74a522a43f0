"""The warnings as the API and the dashboard read them: one query, one scope rule.

Scope: a school-scoped account sees its own school's (the caller passes the school); a
facility manager, who sees equipment and not registers (hub/access.py PERSON_ROLES),
sees the equipment kinds only. Order: newest first by opening, the id breaking ties, so
a keyset cursor continues exactly after the last row shown.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final, Literal

from psycopg.rows import class_row

from hub.access import PERSON_ROLES
from hub.db import Conn
from hub.models import ApiModel
from hub.warnings.rules import EQUIPMENT_KINDS, KINDS, Kind

StateFilter = Literal["open", "closed", "all"]
_STATE_WHERE: Final[dict[str, str]] = {"open": "w.closed_at is null",
                                       "closed": "w.closed_at is not null", "all": "true"}


class WarningPublic(ApiModel):
    id: int
    kind: str
    school: str
    school_name: str
    subject: str
    episode: date
    student: str | None  # the pupil's code
    student_name: str | None
    class_id: int | None
    class_name: str | None
    asset_tag: str | None
    detail: dict[str, Any]
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class WarningRunPublic(ApiModel):
    as_of: date
    started_at: datetime
    finished_at: datetime
    opened: int
    closed: int
    notified: int
    trigger: str


def visible_kinds(role: str) -> list[str]:
    """The kinds an account of ``role`` may read."""
    return list(KINDS) if role in PERSON_ROLES else sorted(EQUIPMENT_KINDS)


_SELECT = """
select w.id, w.kind, w.school_id as school, sc.name as school_name, w.subject, w.episode,
       st.code as student,
       st.full_name as student_name, w.class_id, c.name as class_name, w.asset_tag,
       w.detail, w.opened_at, w.updated_at, w.closed_at
from warnings w
join schools sc on sc.id = w.school_id
left join students st on st.id = w.student_id
left join classes c on c.id = w.class_id
"""


def list_warnings(
    conn: Conn, *, kinds: list[str], school: str | None = None, state: StateFilter = "open",
    limit: int = 200, after: tuple[str, int] | None = None,
) -> list[WarningPublic]:
    """``after``: the sort key (warning_sort_key) of the last row of the previous page."""
    a_at, a_id = after if after is not None else (None, None)
    with conn.cursor(row_factory=class_row(WarningPublic)) as cur:
        cur.execute(
            _SELECT + f" where {_STATE_WHERE[state]}"  # a constant of this module
            + """ and w.kind = any(%(kinds)s)
              and (%(school)s::text is null or w.school_id = %(school)s)
              and (%(a_id)s::bigint is null
                   or (w.opened_at, w.id) < (%(a_at)s::timestamptz, %(a_id)s::bigint))
            order by w.opened_at desc, w.id desc
            limit %(limit)s""",
            {"kinds": kinds, "school": school, "a_at": a_at, "a_id": a_id, "limit": limit})
        return cur.fetchall()


def warning_sort_key(w: WarningPublic) -> tuple[str, int]:
    return (w.opened_at.isoformat(), w.id)


def open_counts(conn: Conn, *, kinds: list[str], school: str | None = None) -> dict[Kind, int]:
    """Open warnings per kind (every visible kind present, zero included)."""
    rows = conn.execute(
        "select kind, count(*) from warnings where closed_at is null and kind = any(%s)"
        " and (%s::text is null or school_id = %s) group by kind",
        (kinds, school, school)).fetchall()
    found = dict(rows)
    return {k: int(found.get(k, 0)) for k in KINDS if k in kinds}


def last_run(conn: Conn) -> WarningRunPublic | None:
    with conn.cursor(row_factory=class_row(WarningRunPublic)) as cur:
        cur.execute("select as_of, started_at, finished_at, opened, closed, notified, trigger"
                    " from warning_runs order by finished_at desc limit 1")
        return cur.fetchone()
