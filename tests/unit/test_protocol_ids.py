"""The id and card-UID rules both sides share, as tables of accepted and refused values."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from protocol.ids import (
    CardUid,
    Identifier,
    InvalidUid,
    is_card_uid,
    is_valid_id,
    normalise_uid,
)

IDS: list[tuple[str, bool]] = [
    ("s1", True),
    ("0", True),
    ("th-hai-thanh-gate-1", True),
    ("a" * 64, True),
    ("a" * 65, False),  # longer than a topic segment may be
    ("", False),
    ("-gate", False),  # a leading dash reads as an option
    ("Gate-1", False),  # one spelling per topic: lower case only
    ("g_1", False),
    ("g/1", False),  # the topic separator
    ("g+", False),  # MQTT wildcards
    ("g#", False),
    ("g1\n", False),  # ``$`` would let a trailing newline through; fullmatch does not
    ("g\x001", False),
]

UIDS: list[tuple[str, bool]] = [
    ("AB", True),
    ("04A1B2C3", True),
    ("04A1B2C3D4E5F6", True),
    ("A" * 32, True),
    ("A" * 33, False),
    ("A", False),  # a UID is at least one byte
    ("", False),
    ("04a1b2c3", False),  # the wire form is upper case
    ("04:A1", False),  # and has no separators
    ("0X04A1", False),
    ("04G1", False),
    ("04A1\n", False),
]


@pytest.mark.parametrize(("value", "ok"), IDS, ids=[repr(v) for v, _ in IDS])
def test_ids(value: str, ok: bool) -> None:
    assert is_valid_id(value) is ok
    adapter: TypeAdapter[str] = TypeAdapter(Identifier)
    if ok:
        assert adapter.validate_python(value) == value
    else:
        with pytest.raises(ValidationError):
            adapter.validate_python(value)


@pytest.mark.parametrize(("value", "ok"), UIDS, ids=[repr(v) for v, _ in UIDS])
def test_card_uids(value: str, ok: bool) -> None:
    assert is_card_uid(value) is ok
    adapter: TypeAdapter[str] = TypeAdapter(CardUid)
    if ok:
        assert adapter.validate_python(value) == value
    else:
        with pytest.raises(ValidationError):
            adapter.validate_python(value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("04A1B2C3", "04A1B2C3"),
        ("04a1b2c3", "04A1B2C3"),
        ("04:a1:b2:c3", "04A1B2C3"),
        ("04-A1-B2-C3", "04A1B2C3"),
        ("04.A1.B2.C3", "04A1B2C3"),
        ("04 A1 B2 C3\n", "04A1B2C3"),
        ("0x04a1b2c3", "04A1B2C3"),
        ("4A1B2C3", "04A1B2C3"),  # a dropped leading zero comes back
        ("A", "0A"),
        ("A" * 32, "A" * 32),
    ],
)
def test_normalise_uid_gives_a_wire_uid(raw: str, expected: str) -> None:
    assert normalise_uid(raw) == expected
    assert is_card_uid(expected)


@pytest.mark.parametrize("raw", ["", "   ", "0x", "04G1B2C3", "04A1B2C3!", "A" * 33, "A" * 34])
def test_normalise_uid_refuses(raw: str) -> None:
    with pytest.raises(InvalidUid):
        normalise_uid(raw)
