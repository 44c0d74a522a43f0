"""Migration 0010 on a database that already has gates holding sync tokens: they keep
working, with their device's capabilities and a lifetime from the migration on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from hub.db import available_migrations
from hub.devices.tokens import (
    CARDS,
    FACES,
    capability_refusal,
    device_for_token,
    grant_for_token,
    grant_refusal,
    hash_token,
)

pytestmark = pytest.mark.integration

CAPABILITIES = 10
SCHOOL = "th-mig"
TOKENS = {"th-mig-gate-face": "f" * 43, "th-mig-gate-card": "c" * 43}


def apply(conn: psycopg.Connection[tuple[object, ...]], upto: int) -> None:
    for migration in available_migrations():
        if migration.version <= upto:
            conn.execute(migration.sql.encode())


def test_gates_holding_tokens_keep_working(empty_pg_url: str) -> None:
    with psycopg.connect(empty_pg_url) as conn:
        apply(conn, CAPABILITIES - 1)
        conn.execute("insert into schools (id, name, level, ward) values"
                     " (%s, 'Trường Thử', 'tieu_hoc', 'Hải Thành')", (SCHOOL,))
        for device, token in TOKENS.items():
            conn.execute("insert into devices (id, school_id, role, token_hash, token_issued_at)"
                         " values (%s, %s, 'gate', %s, now() - interval '3 years')",
                         (device, SCHOOL, hash_token(token)))
        conn.execute("insert into devices (id, school_id, role) values"
                     " ('th-mig-gate-new', %s, 'gate')", (SCHOOL,))
        # the face gate has recognised someone; the card gate only ever read cards
        conn.execute(
            "insert into gate_events (device_id, seq, school_id, ts, received_at, direction,"
            " method, person_ref, decision, resolved) values ('th-mig-gate-face', 1, %s, now(),"
            " now(), 'in', 'face', 'p1', 'granted', false)", (SCHOOL,))
        conn.execute(
            "insert into gate_events (device_id, seq, school_id, ts, received_at, direction,"
            " method, card_uid, decision, resolved) values ('th-mig-gate-card', 1, %s, now(),"
            " now(), 'in', 'card', 'AB12', 'granted', false)", (SCHOOL,))
        conn.commit()
        before = datetime.now(UTC)
        [migration] = [m for m in available_migrations() if m.version == CAPABILITIES]
        conn.execute(migration.sql.encode())
        conn.commit()

        face = grant_for_token(conn, TOKENS["th-mig-gate-face"])
        card = grant_for_token(conn, TOKENS["th-mig-gate-card"])
        assert face is not None and card is not None
        assert face.device.face and not card.device.face
        assert face.effective == {CARDS, FACES}
        assert card.effective == {CARDS}
        for grant in (face, card):
            assert grant.expires_at is not None
            assert (timedelta(days=364) < grant.expires_at - before < timedelta(days=366))
            assert grant_refusal(grant, datetime.now(UTC)) is None
            assert device_for_token(conn, TOKENS[grant.device.id]) == grant.device
        assert capability_refusal(face, FACES) is None
        assert capability_refusal(card, FACES) is not None
        # a gate without a token gets nothing it could present
        row = conn.execute("select token_capabilities, token_expires_at, face from devices"
                           " where id = 'th-mig-gate-new'").fetchone()
        assert row == ([], None, False)
