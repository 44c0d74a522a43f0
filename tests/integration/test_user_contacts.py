"""Accounts' contacts for alarm dispatch (issue #13): the command line and the API, on
the accounts of tests/integration/test_users.py."""

from __future__ import annotations

import json

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.integration.test_users import (  # noqa: F401  (fixtures)
    PASSWORD,
    client,
    db,
    ok,
    staff,
    template,
    users,
)

pytestmark = pytest.mark.integration


def stored(url: str, username: str) -> tuple[str, str | None, str | None, str | None]:
    with psycopg.connect(url) as conn:
        row = conn.execute("select notify_channel, phone, zalo_id, webhook_url from users"
                           " where username = %s", (username,)).fetchone()
    assert row is not None
    return row


def test_cli_add_with_contact_and_set_contact(db: str) -> None:  # noqa: F811
    out = ok("add", "fm.c", "--role", "facility_manager", "--school", "thcs-a",
             "--password-stdin", "--channel", "sms", "--phone", "0912 345 678",
             stdin=PASSWORD + "\n")
    assert "contact of fm.c: sms, phone 0912345678" in out
    assert stored(db, "fm.c") == ("sms", "0912345678", None, None)

    out = ok("set-contact", "fm.c", "--channel", "webhook",
             "--webhook-url", "https://hooks.example.vn/fm-c")
    assert "contact of fm.c: webhook, webhook https://hooks.example.vn/fm-c" in out
    # the contact is replaced as a whole: the phone went with the sms channel
    assert stored(db, "fm.c") == ("webhook", None, None, "https://hooks.example.vn/fm-c")
    ok("set-contact", "fm.c", "--channel", "none")
    assert stored(db, "fm.c") == ("none", None, None, None)
    # the existing listing is unchanged by contacts
    listed = [json.loads(line) for line in ok("list", "--json").splitlines()]
    assert {"username", "role", "school", "full_name", "disabled", "created_at",
            "classes"} == set(next(a for a in listed if a["username"] == "fm.c"))


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["set-contact", "fm", "--channel", "sms"], 2, "needs a phone"),
        (["set-contact", "fm", "--channel", "zalo"], 2, "needs a zalo id"),
        (["set-contact", "fm", "--channel", "pager"], 2, "channel 'pager'"),
        (["set-contact", "fm", "--channel", "webhook", "--webhook-url", "file:///etc/x"], 2,
         "http:// or https://"),
        (["set-contact", "nobody", "--channel", "none"], 1, "no account 'nobody'"),
        (["add", "fm.d", "--role", "facility_manager", "--school", "thcs-a",
          "--channel", "sms"], 2, "needs a phone"),
    ],
)
def test_cli_contact_refusals(db: str, args: list[str], code: int,  # noqa: F811
                              message: str) -> None:
    result = users(*args, stdin=PASSWORD + "\n")
    assert result.exit_code == code, result.output
    assert message in result.output
    assert stored(db, "fm") == ("none", None, None, None)
    with psycopg.connect(db) as conn:
        assert conn.execute("select 1 from users where username = 'fm.d'").fetchone() is None


def test_api_contact(db: str, client: TestClient,  # noqa: F811
                     staff: dict[str, dict[str, str]]) -> None:  # noqa: F811
    url = "/api/v1/users/fm/contact"
    r = client.get(url, headers=staff["sa"])
    assert r.status_code == 200, r.text
    assert r.json() == {"username": "fm", "channel": "none", "phone": None, "zalo_id": None,
                        "webhook_url": None}
    r = client.put(url, headers=staff["sa"], json={"channel": "zalo", "zalo_id": "84123"})
    assert r.status_code == 200, r.text
    assert r.json()["channel"] == "zalo" and r.json()["zalo_id"] == "84123"
    assert stored(db, "fm") == ("zalo", None, "84123", None)
    # the account's own fields answer as before
    r = client.get("/api/v1/users", headers=staff["admin"])
    assert set(next(a for a in r.json() if a["username"] == "fm")) == {
        "username", "role", "school", "full_name", "disabled", "created_at", "classes"}


@pytest.mark.parametrize(
    ("who", "target", "body", "status", "message"),
    [
        ("sb", "fm", {"channel": "none"}, 404, "no account"),  # another school's
        ("gv", "fm", {"channel": "none"}, 403, "admin"),
        ("fm", "fm", {"channel": "none"}, 403, "admin"),
        ("cr", "fm", {"channel": "none"}, 403, "admin"),
        ("sa", "cr", {"channel": "none"}, 404, "no account"),  # the district's
        ("admin", "nobody", {"channel": "none"}, 404, "no account"),
        ("admin", "fm", {"channel": "sms"}, 422, "needs a phone"),
        ("admin", "fm", {"channel": "sms", "phone": "12"}, 422, "8 to 15 digits"),
        ("admin", "fm", {"channel": "fax"}, 422, None),
        ("admin", "fm", {"channel": "webhook", "webhook_url": "gopher://x"}, 422,
         "http:// or https://"),
        ("admin", "fm", {"channel": "none", "extra": 1}, 422, None),
    ],
)
def test_api_contact_refusals(db: str, client: TestClient,  # noqa: F811
                              staff: dict[str, dict[str, str]],  # noqa: F811
                              who: str, target: str, body: dict[str, object], status: int,
                              message: str | None) -> None:
    r = client.put(f"/api/v1/users/{target}/contact", headers=staff[who], json=body)
    assert r.status_code == status, r.text
    if message is not None:
        assert message in r.text
    assert stored(db, "fm") == ("none", None, None, None)
