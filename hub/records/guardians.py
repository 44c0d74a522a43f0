"""Whether a guardian's details hold together: reachable on the channel chosen for them,
and a parent's birth year plausible for the pupil's. Pure; shared by the import and the API.
"""

from __future__ import annotations

from typing import Final, Literal

from hub.records.cells import Channel, is_url, parse_address, parse_mobile

ContactField = Literal["phone", "address"]

# The relations a pupil has one of each (the student list names them); other guardians
# (Người giám hộ, Khác) may be several.
PARENTS: Final = frozenset({"father", "mother"})

# A parent younger than this at the child's birth is a typo in one of the two years.
MIN_PARENT_AGE: Final = 12


def contact_problems(channel: Channel, phone: str | None,
                     address: str | None) -> list[tuple[ContactField, str]]:
    """Why a guardian with these (already parsed) details cannot be reached on ``channel``.

    The adapters send SMS to the phone number and Zalo messages to the Zalo user id (the
    OA API addresses users by id, not by phone), and a webhook recipient is a URL. A
    contact missing here would only surface as a failed message on the day it matters.
    """
    problems: list[tuple[ContactField, str]] = []
    if channel == "sms" and phone is None:
        problems.append(("phone", "missing: SMS needs the guardian's mobile number"))
    if channel == "zalo":
        if address is None:
            problems.append(("address", "missing: Zalo needs the guardian's Zalo user id"))
        elif is_url(address):
            problems.append(("address", f"{address!r} is a URL, not a Zalo user id"))
    if channel == "webhook":
        if address is None:
            problems.append(("address", "missing: Webhook needs an http:// or https:// URL"))
        elif not is_url(address):
            problems.append(("address", f"{address!r} is not an http:// or https:// URL"))
    return problems


def parse_contact(channel: Channel, phone: str | None, address: str | None
                  ) -> tuple[str | None, str | None, list[str]]:
    """Contact details as typed into a form (None or blank: none given): the phone as
    E.164, the address, and every problem as ``field: reason``."""
    problems: list[str] = []
    parsed_phone = parsed_address = None
    try:
        parsed_phone = parse_mobile(phone) if phone and phone.strip() else None
    except ValueError as exc:
        problems.append(f"phone: {exc}")
    try:
        parsed_address = parse_address(address) if address and address.strip() else None
    except ValueError as exc:
        problems.append(f"address: {exc}")
    if not problems:
        problems = [f"{field}: {reason}"
                    for field, reason in contact_problems(channel, parsed_phone, parsed_address)]
    return parsed_phone, parsed_address, problems


def parent_year_problem(relation: str, birth_year: int | None,
                        pupil_birth_year: int) -> str | None:
    """A parent younger than MIN_PARENT_AGE at the child's birth: a typo in a year. Other
    guardians (an elder sibling, a grandparent) can be any age."""
    if relation in PARENTS and birth_year is not None \
            and birth_year > pupil_birth_year - MIN_PARENT_AGE:
        return f"{birth_year} is too close to the pupil's birth year"
    return None
