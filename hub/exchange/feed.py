"""Reading the change feed: a page of the change log after a position, with each
change's document as the row is now.

Why the feed never misses or repeats a change (migration 0019 has the log): the keyset
is (xid, seq), and one statement reads only the rows whose writing transaction is below
the xmin of its own snapshot (``pg_snapshot_xmin(pg_current_snapshot())``). Every
transaction below that xmin has committed or rolled back, so every row it will ever have
is already visible, and every transaction that writes later gets a larger xid than the
xmin. A cursor handed out therefore has nothing that can still appear behind it; rows of
transactions in flight (and of later ones) come on a later read. The price: a
writing transaction left open (in any database of the cluster: xids are the cluster's;
read-only ones, pg_dump included, take no xid and hold nothing) holds the feed back:
never wrong, only late.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from psycopg.rows import dict_row

from hub.db import Conn
from hub.exchange.cursor import Position
from hub.exchange.documents import (
    KINDS,
    AttendanceDailyDoc,
    Document,
    EquipmentDoc,
    Kind,
    KpiSnapshotDoc,
    LearnerDoc,
    LessonAttendanceDoc,
    SchoolDoc,
    StaffDoc,
)

MAX_LIMIT: Final = 1000
_NATIONAL_ID: Final = re.compile(r"[0-9]{12}")


@dataclass(frozen=True, slots=True)
class Change:
    position: Position
    kind: Kind
    key: str
    op: Literal["upsert", "delete"]
    document: Document | None


@dataclass(frozen=True, slots=True)
class Page:
    changes: list[Change]
    next_position: Position
    more: bool


def read_page(conn: Conn, *, after: Position, kinds: Sequence[Kind] = KINDS,
              limit: int = 100) -> Page:
    """Up to ``limit`` changes after ``after``, oldest first. An upsert whose row is gone
    by now is left out (its delete follows in the log) but still moves the position."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """
            select xid::text::numeric as xid, seq, kind, key, op from exchange_changes
             where (xid, seq) > (%(xid)s::text::xid8, %(seq)s)
               and xid < pg_snapshot_xmin(pg_current_snapshot())
               and kind = any(%(kinds)s)
             order by xid, seq
             limit %(limit)s
            """,
            {"xid": after.xid, "seq": after.seq, "kinds": list(kinds), "limit": limit},
        )
        rows = cur.fetchall()
    wanted: dict[str, set[str]] = {}
    for row in rows:
        if row["op"] == "upsert":
            wanted.setdefault(row["kind"], set()).add(row["key"])
    docs = {kind: _documents(conn, kind, sorted(keys)) for kind, keys in wanted.items()}
    changes: list[Change] = []
    for row in rows:
        doc = docs.get(row["kind"], {}).get(row["key"]) if row["op"] == "upsert" else None
        if row["op"] == "upsert" and doc is None:
            continue
        changes.append(Change(Position(int(row["xid"]), row["seq"]), row["kind"], row["key"],
                              row["op"], doc))
    last = Position(int(rows[-1]["xid"]), rows[-1]["seq"]) if rows else after
    return Page(changes=changes, next_position=last, more=len(rows) == limit)


_QUERIES: Final[dict[str, str]] = {
    "school": "select id as key, id as code, name, level, ward from schools"
              " where id = any(%(keys)s)",
    "learner": """
        select s.code as key, s.code, s.school_id as school, c.name as class_name,
               s.full_name, s.birth_date, s.gender, s.personal_id as national_id,
               s.moet_id, s.active, s.left_on
          from students s left join classes c on c.id = s.class_id
         where s.code = any(%(keys)s)""",
    "staff": """
        select code as key, code, school_id as school, full_name, birth_date, gender,
               personal_id as national_id, moet_id, position, active
          from staff where code = any(%(keys)s)""",
    "attendance_daily": """
        select s.code || '/' || a.day::text as key, s.code as learner,
               a.school_id as school, a.day, a.first_in, a.last_out
          from attendance_daily a join students s on s.id = a.student_id
         where (s.code, a.day) in (select split_part(k, '/', 1), split_part(k, '/', 2)::date
                                     from unnest(%(keys)s::text[]) as k)""",
    "equipment": """
        select a.tag as key, a.tag, a.type, a.model, a.serial, a.school_id as school,
               r.name as room, a.purchase_date, a.warranty_end, a.rated_lamp_hours,
               a.status, a.updated_at
          from assets a left join rooms r on r.id = a.room_id
         where a.tag = any(%(keys)s)""",
    "kpi_snapshot": """
        select concat_ws('/', month, scope, scope_id, indicator) as key, month, scope,
               scope_id, indicator, numerator, denominator, target, taken_at
          from kpi_snapshots
         where concat_ws('/', month, scope, scope_id, indicator) = any(%(keys)s)""",
}
_MODELS: Final[dict[str, Any]] = {
    "school": SchoolDoc, "learner": LearnerDoc, "staff": StaffDoc,
    "attendance_daily": AttendanceDailyDoc, "equipment": EquipmentDoc,
    "kpi_snapshot": KpiSnapshotDoc,
}


def _documents(conn: Conn, kind: str, keys: list[str]) -> dict[str, Document]:
    if kind == "lesson_attendance":  # derived by the lesson rules, not one row (issue 14)
        return {k: LessonAttendanceDoc(**d) for k, d in _lesson_documents(conn, keys).items()}
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_QUERIES[kind], {"keys": keys})
        rows = cur.fetchall()
    model = _MODELS[kind]
    out: dict[str, Document] = {}
    for row in rows:
        key = row.pop("key")
        if row.get("national_id") is not None:
            # char(12) pads; the column has no check of its own, and a value off the
            # schema's 12 digits is left out rather than failing the whole page.
            nid = row["national_id"].strip()
            row["national_id"] = nid if _NATIONAL_ID.fullmatch(nid) else None
        out[key] = model(**row)
    return out


def current_documents(conn: Conn, kind: Kind) -> dict[str, Document]:
    """Every document of a kind as the database holds it now (what a consumer that has
    followed the feed to its end must hold)."""
    with conn.cursor() as cur:
        cur.execute(_KEYS[kind])
        keys = [r[0] for r in cur.fetchall()]
    return _documents(conn, kind, keys)


_KEYS: Final[dict[str, str]] = {
    "school": "select id from schools",
    "learner": "select code from students",
    "staff": "select code from staff",
    "attendance_daily": "select s.code || '/' || a.day::text from attendance_daily a"
                        " join students s on s.id = a.student_id",
    "equipment": "select tag from assets",
    "kpi_snapshot": "select concat_ws('/', month, scope, scope_id, indicator) from kpi_snapshots",
    # every learner-day the log has named (those without lessons build no document)
    "lesson_attendance": "select distinct key from exchange_changes"
                         " where kind = 'lesson_attendance'",
}


def _lesson_documents(conn: Conn, keys: list[str]) -> dict[str, dict[str, Any]]:
    from zoneinfo import ZoneInfo

    from core.settings import get_settings
    from hub.attendance.lessons_feed import lesson_documents

    return lesson_documents(conn, keys, tz=ZoneInfo(get_settings().timezone))
