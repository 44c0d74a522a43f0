"""Write a generated District into PostgreSQL: once, with COPY, in one transaction."""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import psycopg
from psycopg import sql

from hub.db import Conn
from smartschool.demo.district import District

log = logging.getLogger(__name__)

# Any constant works; it only has to be the same for every process seeding this database.
SEED_LOCK_ID = 0x5C5C_0002

# Several demo processes may start on one database at once; the lock makes the
# second wait and then see the first one's schools instead of failing on a key.
_LOCK = "select pg_advisory_xact_lock(%s)"


@dataclass(frozen=True, slots=True)
class SeedCounts:
    """Rows of the district's schools in the database after seeding."""

    schools: int
    rooms: int
    classes: int
    students: int
    cards: int
    devices: int
    created: bool  # False: the schools were already there and nothing was written


def _copy(
    cur: psycopg.Cursor[Any], table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    statement = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _ids(cur: psycopg.Cursor[Any], query: str, school_ids: list[str]) -> dict[tuple[str, str], int]:
    cur.execute(query, (school_ids,))
    return {(school, key): ident for school, key, ident in cur.fetchall()}


def _existing_counts(cur: psycopg.Cursor[Any], school_ids: list[str]) -> SeedCounts:
    cur.execute(
        """
        select
          (select count(*) from schools where id = any(%(s)s)),
          (select count(*) from rooms where school_id = any(%(s)s)),
          (select count(*) from classes where school_id = any(%(s)s)),
          (select count(*) from students where school_id = any(%(s)s)),
          (select count(*) from cards c join students st on st.id = c.student_id
            where st.school_id = any(%(s)s)),
          (select count(*) from devices where school_id = any(%(s)s))
        """,
        {"s": school_ids},
    )
    row = cur.fetchone()
    assert row is not None
    schools, rooms, classes, students, cards, devices = (int(n) for n in row)
    return SeedCounts(schools, rooms, classes, students, cards, devices, created=False)


def seed_district(conn: Conn, district: District) -> SeedCounts:
    """Write ``district`` unless its schools are already there; either way return the counts.

    All or nothing: one transaction (a savepoint if the caller has one open), so
    a crash half way leaves no partial district for the next start to trip on.
    """
    started = time.perf_counter()
    school_ids = [school.id for school in district.schools]
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(_LOCK, (SEED_LOCK_ID,))
        cur.execute("select count(*) from schools where id = any(%s)", (school_ids,))
        row = cur.fetchone()
        if row is not None and row[0] > 0:
            counts = _existing_counts(cur, school_ids)
            log.info("district already seeded: %s", counts)
            return counts

        _copy(
            cur,
            "schools",
            ("id", "name", "level", "ward", "start_time"),
            ((s.id, s.name, s.level, s.ward, s.start_time) for s in district.schools),
        )
        # COPY has no RETURNING: read the identity ids back by their natural keys.
        _copy(cur, "rooms", ("school_id", "name"), ((r.school_id, r.name) for r in district.rooms))
        room_ids = _ids(
            cur, "select school_id, name, id from rooms where school_id = any(%s)", school_ids
        )
        _copy(
            cur,
            "classes",
            ("school_id", "name", "grade", "room_id", "homeroom_teacher"),
            (
                (
                    c.school_id,
                    c.name,
                    c.grade,
                    room_ids[c.school_id, c.room_name],
                    c.homeroom_teacher,
                )
                for c in district.classes
            ),
        )
        class_ids = _ids(
            cur, "select school_id, name, id from classes where school_id = any(%s)", school_ids
        )
        _copy(
            cur,
            "students",
            (
                "code",
                "school_id",
                "class_id",
                "full_name",
                "birth_date",
                "gender",
                "personal_id",
                "moet_id",
            ),
            (
                (
                    st.code,
                    st.school_id,
                    class_ids[st.school_id, st.class_name],
                    st.full_name,
                    st.birth_date,
                    st.gender,
                    st.personal_id,
                    st.moet_id,
                )
                for st in district.students
            ),
        )
        cur.execute("select code, id from students where school_id = any(%s)", (school_ids,))
        student_ids: dict[str, int] = dict(cur.fetchall())
        _copy(
            cur,
            "cards",
            ("uid", "student_id", "status"),
            ((c.uid, student_ids[c.student_code], c.status) for c in district.cards),
        )
        _copy(
            cur,
            "devices",
            ("id", "school_id", "role", "room_id"),
            (
                (
                    d.id,
                    d.school_id,
                    d.role,
                    room_ids[d.school_id, d.room_name] if d.room_name is not None else None,
                )
                for d in district.devices
            ),
        )
        counts = SeedCounts(
            schools=len(district.schools),
            rooms=len(district.rooms),
            classes=len(district.classes),
            students=len(district.students),
            cards=len(district.cards),
            devices=len(district.devices),
            created=True,
        )
    log.info("seeded district in %.2f s: %s", time.perf_counter() - started, counts)
    return counts


# The demo's projector register: plausible models, about one in eight records missing
# its serial (as registers are), every lamp rated for the same life.
DEMO_RATED_LAMP_HOURS: Final = 4000
DEMO_MODELS: Final = ("Epson EB-X51", "Panasonic PT-LB306", "Sony VPL-EX455", "ViewSonic PA503S")
# A few demo records lack their serial number, so the coverage KPI is not a flat 100 %.
DEMO_INCOMPLETE_SHARE: Final = 0.12


def seed_assets(conn: Conn, district: District) -> int:
    """The simulated district's projectors (one per classroom device), idempotent.

    Deterministic per tag, so a rerun of the demo writes the same register."""
    rows = []
    for device in district.devices:
        tag = device.projector_asset
        if not tag:
            continue
        h = zlib.crc32(tag.encode())
        bought = date(2019 + h % 6, 1 + h % 12, 1 + h % 28)
        incomplete = (h % 1000) / 1000 < DEMO_INCOMPLETE_SHARE
        rows.append((
            tag, DEMO_MODELS[h % len(DEMO_MODELS)], None if incomplete else f"SN{h:08X}",
            device.school_id, device.room_name, bought,
            bought.replace(year=bought.year + 3), DEMO_RATED_LAMP_HOURS, device.id,
        ))
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            """
            insert into assets (tag, type, model, serial, school_id, room_id, purchase_date,
                                warranty_end, rated_lamp_hours, device_id)
            select %s, 'projector', %s, %s, %s,
                   (select id from rooms where school_id = %s and name = %s),
                   %s, %s, %s, (select id from devices where id = %s)
            on conflict (tag) do nothing
            """,
            [(t, m, s, sc, sc, room, b, w, r, d) for t, m, s, sc, room, b, w, r, d in rows],
        )
    return len(rows)
