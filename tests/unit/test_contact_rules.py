"""Accounts' contacts (hub/accounts/contact_rules.py): tables of cases."""

from __future__ import annotations

import pytest

from hub.accounts.contact_rules import Contact, contact_problem, normalise


@pytest.mark.parametrize(
    ("contact", "problem"),
    [
        (Contact(), None),
        (Contact("webhook"), None),
        (Contact("webhook", webhook_url="https://hooks.example.vn/fm/1"), None),
        (Contact("webhook", webhook_url="http://10.0.0.5:8080/x"), None),
        (Contact("sms", phone="0912 345 678"), None),
        (Contact("sms", phone="+84-912.345.678"), None),
        (Contact("zalo", zalo_id="8412345678901"), None),
        (Contact("none", phone="0912345678"), None),  # kept, reaches nobody
        (Contact("fax"), "channel 'fax'"),
        (Contact("sms"), "needs a phone"),
        (Contact("sms", phone="  "), "needs a phone"),
        (Contact("sms", phone="12345"), "8 to 15 digits"),
        (Contact("sms", phone="09123abc45"), "8 to 15 digits"),
        (Contact("zalo"), "needs a zalo id"),
        (Contact("zalo", zalo_id="a b"), "zalo id"),
        (Contact("zalo", zalo_id="z" * 65), "zalo id"),
        (Contact("webhook", webhook_url="ftp://x/y"), "http:// or https://"),
        (Contact("webhook", webhook_url="https://"), "with a host"),
        (Contact("webhook", webhook_url="https://u:p@x/y"), "user name or password"),
        (Contact("webhook", webhook_url="https://x/a\nb"), "control characters"),
        (Contact("webhook", webhook_url="https://x/" + "a" * 500), "longer than 500"),
    ],
)
def test_contact_problem(contact: Contact, problem: str | None) -> None:
    found = contact_problem(normalise(contact))
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (Contact(" sms ", phone=" 0912 345 678 "), Contact("sms", phone="0912345678")),
        (Contact("webhook", zalo_id="", webhook_url=" "), Contact("webhook")),
        (Contact("sms", phone="(+84) 912-345-678"), Contact("sms", phone="+84912345678")),
    ],
)
def test_normalise(given: Contact, expected: Contact) -> None:
    assert normalise(given) == expected
