"""Pseudonyms that stay pseudonyms (issue 12), against the real PostgreSQL: imports give
pupils random codes, and migration 0012 replaces the codes derived from identifiers
(MOET id in clear, salted hash of the personal id) keeping every relation and moving the
gates' sync version."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from hub.db import migrate
from hub.devices.registry import upsert_school
from hub.devices.sync import school_cards, sync_versions
from hub.records.codes import STUDENT_CODE_RE
from hub.records.consent import gallery_version
from smartschool.cli import app

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "records"
SCHOOL = "th-thcs-da-phuc"
PUPILS = 198
LEGACY_SALT = b"smartschool/personal-id/"  # the pre-0012 derivation, for building old data


@pytest.fixture
def db(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SMARTSCHOOL_DATABASE_URL", pg_url)
    get_settings.cache_clear()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        upsert_school(conn, code=SCHOOL, name="Trường TH&THCS Đa Phúc", level="th_thcs",
                      ward="Đa Phúc")
    for kind in ("students", "staff", "cards"):
        result = CliRunner().invoke(app, ["records", "import",
                                          str(FIXTURES / f"{SCHOOL}-{kind}.csv"),
                                          "--school", SCHOOL, "--kind", kind])
        assert result.exit_code == 0, result.output
    yield pg_url
    get_settings.cache_clear()


def codes(conn: psycopg.Connection) -> dict[int, str]:
    return {int(i): str(c) for i, c in conn.execute("select id, code from students")}


def test_imported_codes_are_random_and_carry_no_identifier(db: str) -> None:
    with psycopg.connect(db) as conn:
        rows = conn.execute("select code, moet_id, personal_id from students").fetchall()
    assert len(rows) == PUPILS
    for code, moet, pid in rows:
        assert STUDENT_CODE_RE.match(code), code
        assert moet not in code and (pid is None or pid not in code)
    # Not reproducible: the same list in a second school gets other codes.
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("update students set moet_id = null, personal_id = null")
        upsert_school(conn, code="th-lai", name="Trường lại", level="th_thcs", ward="Đa Phúc")
    again = CliRunner().invoke(app, ["records", "import", str(FIXTURES / f"{SCHOOL}-students.csv"),
                                     "--school", "th-lai"])
    assert again.exit_code == 0, again.output
    with psycopg.connect(db) as conn:
        first = {c.removeprefix(f"{SCHOOL}-") for c, in
                 conn.execute("select code from students where school_id = %s", (SCHOOL,))}
        second = {c.removeprefix("th-lai-") for c, in
                  conn.execute("select code from students where school_id = 'th-lai'")}
    assert len(second) == PUPILS and not first & second


def test_migration_0012_replaces_derived_codes_and_keeps_every_relation(db: str) -> None:
    at = datetime(2025, 9, 8, 0, 5, tzinfo=UTC)
    with psycopg.connect(db, autocommit=True) as conn:
        # The codes as the pre-0012 importer made them: the MOET id in clear, and for one
        # pupil without a MOET id the salted hash of the personal id.
        conn.execute("update students set code = school_id || '-' || moet_id")
        one = conn.execute("select id, personal_id from students order by id limit 1").fetchone()
        assert one is not None
        hashed = hashlib.sha256(LEGACY_SALT + str(one[1]).encode()).hexdigest()[:12]
        conn.execute("update students set moet_id = null, code = %s where id = %s",
                     (f"{SCHOOL}-p{hashed}", one[0]))
        conn.execute("insert into students (code, school_id, full_name, birth_date, gender)"
                     " values ('HS-TAY', %s, 'Nhập tay', '2015-01-01', 'M')", (SCHOOL,))
        conn.execute("insert into devices (id, school_id, role) values ('gate-1', %s, 'gate')",
                     (SCHOOL,))
        old = codes(conn)
        cards_before = conn.execute(
            "select c.uid, s.id from cards c join students s on s.id = c.student_id"
            " order by c.uid").fetchall()
        staff_before = sorted(c for c, in conn.execute("select code from staff"))
        some = sorted(old)[:3]
        for seq, sid in enumerate(some, 1):
            conn.execute(
                "insert into gate_events (device_id, seq, ts, received_at, school_id,"
                " direction, method, person_ref, decision, student_id, resolved)"
                " values ('gate-1', %s, %s, %s, %s, 'in', 'face', %s, 'granted', %s, true)",
                (seq, at, at, SCHOOL, old[sid], sid))
        conn.execute(
            "insert into notification_outbox (idempotency_key, student_id, channel, kind, day,"
            " payload) values (%s, %s, 'sms', 'entry', %s, %s)",
            (f"entry:{old[some[0]]}:2025-09-08:1", some[0], date(2025, 9, 8),
             json.dumps({"student": old[some[0]], "kind": "entry"})))
        sync_before = sync_versions(conn, SCHOOL)[SCHOOL]
        gallery_before = gallery_version(conn, SCHOOL)
        conn.execute("delete from schema_migrations where version = 12")

    assert [m.version for m in migrate(db)] == [12]

    with psycopg.connect(db) as conn:
        new = codes(conn)
        assert set(new) == set(old)  # the same pupils, the same ids
        for sid, code in new.items():
            if old[sid] == "HS-TAY":
                assert code == "HS-TAY"  # never derived from an identifier: kept
                continue
            assert STUDENT_CODE_RE.match(code) and code != old[sid], (old[sid], code)
        assert not set(new.values()) & (set(old.values()) - {"HS-TAY"})
        assert conn.execute(
            "select c.uid, s.id from cards c join students s on s.id = c.student_id"
            " order by c.uid").fetchall() == cards_before
        assert sorted(c for c, in conn.execute("select code from staff")) == staff_before
        refs = dict(conn.execute("select student_id, person_ref from gate_events"))
        assert refs == {sid: new[sid] for sid in some}
        key, payload = conn.execute(
            "select idempotency_key, payload from notification_outbox").fetchone()  # type: ignore[misc]
        assert key == f"entry:{new[some[0]]}:2025-09-08:1"
        assert payload == {"student": new[some[0]], "kind": "entry"}
        # The gates resync: the gallery version moved, so the school's sync version did,
        # and the cards they fetch carry the new codes.
        assert gallery_version(conn, SCHOOL) == gallery_before + 1
        assert sync_versions(conn, SCHOOL)[SCHOOL] > sync_before
        persons = {c.person for c in school_cards(conn, SCHOOL) if not c.staff}
        assert persons and persons <= set(new.values())
        # No code left that carries a MOET id or a personal id.
        ids = conn.execute("select moet_id, personal_id from students").fetchall()
        flat = " ".join(new.values())
        assert not any((m and m in flat) or (p and p in flat) for m, p in ids)
