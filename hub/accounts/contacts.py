"""Accounts' contacts in the database (alarm dispatch, issue #13).

The CLI (``smartschool users set-contact``) and the API (``/api/v1/users/{username}/contact``)
share these. Who may read or change a contact is who may administer the account
(hub/accounts/rules.py); an ``actor`` of None is the operator at the command line.
"""

from __future__ import annotations

from typing import Final

from hub.accounts.contact_rules import Contact, contact_problem, normalise
from hub.accounts.rules import (
    Account,
    UserNotFoundError,
    may_see,
    require,
    require_allowed,
    valid_username,
)
from hub.db import Conn
from hub.models import ApiModel

_SELECT: Final = ("select username, role, school_id, full_name, disabled, notify_channel,"
                  " phone, zalo_id, webhook_url from users where username = %s")


class ContactPublic(ApiModel):
    username: str
    channel: str
    phone: str | None
    zalo_id: str | None
    webhook_url: str | None


def _public(username: str, contact: Contact) -> ContactPublic:
    return ContactPublic(username=username, channel=contact.channel, phone=contact.phone,
                         zalo_id=contact.zalo_id, webhook_url=contact.webhook_url)


def _load(conn: Conn, username: str, actor: Account | None, *,
          lock: bool) -> tuple[Account, Contact]:
    row = conn.execute(_SELECT + (" for update" if lock else ""), (username,)).fetchone() \
        if valid_username(username) else None
    if row is None:
        raise UserNotFoundError(f"no account {username!r}")
    account = Account(username=row[0], role=row[1], school=row[2], full_name=row[3],
                      disabled=row[4])
    if actor is not None and not may_see(actor, account):
        raise UserNotFoundError(f"no account {username!r}")
    require_allowed(actor, account)
    return account, Contact(channel=row[5], phone=row[6], zalo_id=row[7], webhook_url=row[8])


def get_contact(conn: Conn, username: str, *,
                actor: Account | None = None) -> ContactPublic:
    _, contact = _load(conn, username, actor, lock=False)
    return _public(username, contact)


def set_contact(conn: Conn, username: str, contact: Contact, *,
                actor: Account | None = None) -> ContactPublic:
    """Replace the account's contact as a whole (fields not given are cleared)."""
    wanted = normalise(contact)
    require(contact_problem(wanted))
    with conn.transaction():
        _load(conn, username, actor, lock=True)
        conn.execute(
            "update users set notify_channel = %s, phone = %s, zalo_id = %s, webhook_url = %s"
            " where username = %s",
            (wanted.channel, wanted.phone, wanted.zalo_id, wanted.webhook_url, username),
        )
    return _public(username, wanted)
