"""Identifiers both sides must agree on: school/device ids and card UIDs, each written once.

Pure (``re`` and pydantic's annotations only): the topic parser, the payload models, the
sync document, the gate's card readers, the edge config and the hub's registry, records
and equipment imports all check against these, so a value one side accepts the other
cannot refuse.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import StringConstraints

# A school or device id is a topic segment (``ss/v1/{school}/{device}/...``): lower-case so
# a topic has one spelling, no ``/``, ``+`` or ``#`` (MQTT's separator and wildcards), a
# letter or digit first so it never looks like an option on a command line, and at most 64
# characters so a topic stays far below broker limits and a column stays indexable.
ID_MAX_LEN: Final = 64
ID_PATTERN: Final = re.compile(rf"[a-z0-9][a-z0-9-]{{0,{ID_MAX_LEN - 1}}}")

# A card UID is upper-case hex, most significant byte first: one spelling per card, so the
# gate's list, the event and the records compare as plain strings. 2..32 hex digits: a
# 1-byte UID is the shortest a reader reports, a 16-byte one the longest in use (4, 7 and
# 10 bytes are the MIFARE sizes).
UID_MIN_HEX: Final = 2
UID_MAX_HEX: Final = 32
CARD_UID_PATTERN: Final = re.compile(rf"[0-9A-F]{{{UID_MIN_HEX},{UID_MAX_HEX}}}")

# What a reader may put between the bytes of a UID it prints.
_UID_SEPARATORS: Final = re.compile(r"[\s:.\-]")
_HEX: Final = re.compile(r"[0-9A-F]+")


def is_valid_id(value: str) -> bool:
    """A school or device id (the whole string; a trailing newline is refused)."""
    return ID_PATTERN.fullmatch(value) is not None


def is_card_uid(value: str) -> bool:
    """A card UID as it goes on the wire (already normalised)."""
    return CARD_UID_PATTERN.fullmatch(value) is not None


class InvalidUid(ValueError):
    """A reader produced something that is not a card UID."""


def normalise_uid(raw: str) -> str:
    """``"04:a1:b2:c3"`` -> ``"04A1B2C3"``: upper-case hex, no separators.

    An odd digit count gets a leading zero: readers that print the UID as an
    integer drop it, and a UID is whole bytes.
    """
    text = _UID_SEPARATORS.sub("", raw.strip()).upper()
    text = text.removeprefix("0X")
    if not text:
        raise InvalidUid(f"empty card UID {raw!r}")
    if not _HEX.fullmatch(text):
        raise InvalidUid(f"card UID {raw!r} is not hexadecimal")
    if len(text) % 2:
        text = "0" + text
    if len(text) > UID_MAX_HEX:
        raise InvalidUid(f"card UID {raw!r} is longer than {UID_MAX_HEX // 2} bytes")
    return text


# The same rules as pydantic field types (anchored: pydantic searches, it does not fullmatch).
Identifier = Annotated[str, StringConstraints(pattern=f"^{ID_PATTERN.pattern}$")]
CardUid = Annotated[str, StringConstraints(pattern=f"^{CARD_UID_PATTERN.pattern}$")]
