"""Linked accounts and provider sessions on the real PostgreSQL (hub/accounts/oidc.py)."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from hub.accounts.auth import authenticate, create_user
from hub.accounts.oidc import (
    AccountRefused,
    TokenSet,
    link_account,
    locked_session,
    purge_sessions,
    renew_session,
    start_session,
)
from hub.accounts.oidc_rules import DERIVED_PREFIX, Identity

pytestmark = pytest.mark.integration

ISS = "https://id.example.vn"


def person(subject: str, *, role: str = "teacher", school: str | None = "thcs-a",
           preferred: str | None = None, name: str | None = None) -> Identity:
    return Identity(issuer=ISS, subject=subject, role=role, school=school, full_name=name,
                    preferred_username=preferred, provider_roles=("x",))


@pytest.fixture
def conn(pg_url: str):
    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute("insert into schools (id, name, level, ward) values"
                  " ('thcs-a', 'THCS A', 'thcs', 'W'), ('thcs-b', 'THCS B', 'thcs', 'W')")
        yield c


def test_a_local_account_is_never_taken_over(conn) -> None:
    create_user(conn, username="gv.an", password="p" * 12, role="district_admin")
    linked = link_account(conn, person("s1", preferred="GV.An"))
    assert linked.username.startswith(DERIVED_PREFIX)
    assert (linked.role, linked.school_id) == ("teacher", "thcs-a")
    # the local account is as it was, and the linked one has no password
    assert authenticate(conn, username="gv.an", password="p" * 12) is not None
    assert authenticate(conn, username=linked.username, password="!sso") is None
    # the same person again: the same account
    assert link_account(conn, person("s1", preferred="GV.An")).username == linked.username


def test_claims_are_applied_at_every_sign_in(conn) -> None:
    first = link_account(conn, person("s2", preferred="gv.binh", name="Bình"))
    assert (first.username, first.role, first.school_id, first.full_name) == (
        "gv.binh", "teacher", "thcs-a", "Bình")
    conn.execute("insert into classes (school_id, name, grade, teacher_username)"
                 " values ('thcs-a', '7A', 7, 'gv.binh')")
    moved = link_account(conn, person("s2", role="school_admin", school="thcs-b"))
    assert (moved.role, moved.school_id, moved.full_name) == ("school_admin", "thcs-b", "Bình")
    # no longer a teacher of thcs-a: the class is released, as a local change would
    assert conn.execute("select teacher_username from classes").fetchone() == (None,)
    district = link_account(conn, person("s2", role="control_room", school=None))
    assert (district.role, district.school_id) == ("control_room", None)
    with pytest.raises(AccountRefused, match="not known to the hub"):
        link_account(conn, person("s2", school="thcs-zz"))
    conn.execute("update users set disabled = true where username = 'gv.binh'")
    with pytest.raises(AccountRefused, match="disabled"):
        link_account(conn, person("s2"))
    assert conn.execute("select role, disabled from users where username = 'gv.binh'"
                        ).fetchone() == ("control_room", True)


def test_provider_sessions(conn) -> None:
    user = link_account(conn, person("s3", preferred="gv.chi"))
    start_session(conn, session_id="a", username=user.username,
                  tokens=TokenSet(id_token=None, refresh_token="r1", expires_in=60))
    with conn.transaction():
        held = locked_session(conn, "a")
        assert held is not None and held.refresh_token == "r1"
        # a provider that does not rotate sends no new refresh token: the old one stays
        renew_session(conn, "a", TokenSet(id_token=None, refresh_token=None, expires_in=5),
                      held.refresh_token)
    again = locked_session(conn, "a")
    assert again is not None and again.refresh_token == "r1"
    assert purge_sessions(conn, older_than=timedelta(hours=1)) == 0
    assert purge_sessions(conn, older_than=timedelta(0)) == 1
    assert locked_session(conn, "a") is None
