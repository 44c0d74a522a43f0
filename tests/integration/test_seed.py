"""Seeding the simulated district into the real PostgreSQL."""

from __future__ import annotations

import time

import pytest

from hub.db import connect
from smartschool.demo.district import generate_district
from smartschool.demo.seed import SeedCounts, seed_district

pytestmark = pytest.mark.integration


def _table_counts(url: str) -> dict[str, int]:
    with connect(url, autocommit=True) as conn:
        return {
            table: int(conn.execute(f"select count(*) from {table}").fetchone()[0])  # type: ignore[index]
            for table in ("schools", "rooms", "classes", "students", "cards", "devices")
        }


def test_seed_full_district_then_second_seed_is_a_noop(pg_url):
    district = generate_district()
    started = time.perf_counter()
    with connect(pg_url) as conn:
        first = seed_district(conn, district)
    elapsed = time.perf_counter() - started
    print(f"seeded {first.students} students in {elapsed:.2f} s")
    assert elapsed < 10  # COPY: well under a second on 2 cores; leave room for slow CI

    expected = district.counts()
    assert first == SeedCounts(**expected, created=True)
    assert _table_counts(pg_url) == expected

    with connect(pg_url) as conn:
        second = seed_district(conn, generate_district())
    assert second == SeedCounts(**expected, created=False)
    assert _table_counts(pg_url) == expected


def test_seeded_rows_are_linked(pg_url):
    district = generate_district(seed=5, students_target=1_000)
    with connect(pg_url) as conn:
        seed_district(conn, district)
    with connect(pg_url, autocommit=True) as conn:
        unlinked = conn.execute(
            """
            select
              (select count(*) from students where class_id is null),
              (select count(*) from classes where room_id is null),
              (select count(*) from devices where role = 'classroom' and room_id is null),
              (select count(*) from devices where role = 'gate' and room_id is not null),
              (select count(*) from students st join classes c on c.id = st.class_id
                where c.school_id <> st.school_id),
              (select count(*) from devices d join rooms r on r.id = d.room_id
                where r.school_id <> d.school_id)
            """
        ).fetchone()
        assert unlinked == (0, 0, 0, 0, 0, 0)

        student = district.students[0]
        row = conn.execute(
            """
            select st.full_name, st.birth_date, st.gender, st.personal_id, st.moet_id,
                   c.name, r.name, s.start_time
            from students st join classes c on c.id = st.class_id
            join rooms r on r.id = c.room_id join schools s on s.id = st.school_id
            where st.code = %s
            """,
            (student.code,),
        ).fetchone()
        cls = next(
            c
            for c in district.classes
            if (c.school_id, c.name) == (student.school_id, student.class_name)
        )
        assert row == (
            student.full_name,
            student.birth_date,
            student.gender,
            student.personal_id,
            student.moet_id,
            cls.name,
            cls.room_name,
            district.school(student.school_id).start_time,
        )
        statuses = dict(
            conn.execute("select status, count(*) from cards group by status").fetchall()
        )
        assert statuses["active"] == len(district.students)


def test_seed_rolls_back_entirely_on_failure(pg_url):
    district = generate_district(seed=6, students_target=300)
    with connect(pg_url, autocommit=True) as conn:
        # A card uid already taken by someone else makes the cards COPY fail late.
        conn.execute(
            "insert into schools (id, name, level, ward) values ('other', 'Khác', 'thcs', 'x')"
        )
        sid = conn.execute(
            "insert into students (code, school_id, full_name, birth_date, gender)"
            " values ('other-00001', 'other', 'A B C', '2012-01-01', 'M') returning id"
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            "insert into cards (uid, student_id) values (%s, %s)", (district.cards[-1].uid, sid)
        )
    with connect(pg_url) as conn, pytest.raises(Exception, match="cards_pkey"):
        seed_district(conn, district)
    counts = _table_counts(pg_url)
    assert counts["schools"] == 1 and counts["students"] == 1 and counts["rooms"] == 0
