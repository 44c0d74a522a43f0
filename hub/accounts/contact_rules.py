"""How an account is reached by the notifier (alarm dispatch, issue #13): pure checks.

A contact is a channel of the notifier and the address that channel needs: ``sms`` a
phone number, ``zalo`` a Zalo user id, ``webhook`` optionally a URL of the account's own
(without one it posts to the district's configured webhook). ``none`` reaches nobody.
The database checks the same shapes (migration 0018); these give the words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, get_args
from urllib.parse import urlsplit

Channel = Literal["none", "webhook", "zalo", "sms"]
CHANNELS: Final[tuple[str, ...]] = get_args(Channel)
MAX_URL: Final = 500
MAX_ZALO_ID: Final = 64
_PHONE = re.compile(r"\+?[0-9]{8,15}")
# Spaces, dots, dashes and brackets people write phone numbers with.
_PHONE_NOISE = re.compile(r"[\s.\-()]")
_ZALO_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class Contact:
    channel: str = "none"
    phone: str | None = None
    zalo_id: str | None = None
    webhook_url: str | None = None


def normalise_phone(phone: str | None) -> str | None:
    if phone is None:
        return None
    cleaned = _PHONE_NOISE.sub("", phone)
    return cleaned or None


def normalise(contact: Contact) -> Contact:
    """Blank fields become None; a phone loses its spacing."""
    def blank(v: str | None) -> str | None:
        return v.strip() or None if v is not None else None
    return Contact(channel=contact.channel.strip(), phone=normalise_phone(blank(contact.phone)),
                   zalo_id=blank(contact.zalo_id), webhook_url=blank(contact.webhook_url))


def url_problem(url: str) -> str | None:
    if len(url) > MAX_URL:
        return f"the webhook URL is longer than {MAX_URL} characters"
    if any(c.isspace() or ord(c) < 32 for c in url):
        return "the webhook URL contains spaces or control characters"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the webhook URL must be an http:// or https:// URL with a host"
    if parts.username or parts.password:
        # Credentials in a URL end up in logs; the webhook is signed instead.
        return "the webhook URL must not carry a user name or password"
    return None


def contact_problem(contact: Contact) -> str | None:
    """What is wrong with a (normalised) contact, or None."""
    if contact.channel not in CHANNELS:
        return f"channel {contact.channel!r}: one of {', '.join(CHANNELS)}"
    if contact.phone is not None and not _PHONE.fullmatch(contact.phone):
        return f"phone {contact.phone!r}: 8 to 15 digits, optionally after a +"
    if contact.zalo_id is not None and not _ZALO_ID.fullmatch(contact.zalo_id):
        return (f"zalo id {contact.zalo_id!r}: letters, digits, _ and -, "
                f"at most {MAX_ZALO_ID}")
    if contact.webhook_url is not None and (problem := url_problem(contact.webhook_url)):
        return problem
    if contact.channel == "sms" and contact.phone is None:
        return "the sms channel needs a phone number"
    if contact.channel == "zalo" and contact.zalo_id is None:
        return "the zalo channel needs a zalo id"
    return None
