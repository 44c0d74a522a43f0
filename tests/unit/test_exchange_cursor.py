"""Feed cursors: what the hub hands out decodes to the same position; anything edited,
invented or signed for another purpose is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.exchange import cursor
from hub.exchange.cursor import CursorError, Position

KEY = "k" * 48
GOOD = cursor.encode(Position(57_532, 12), key=KEY)


@given(st.integers(0, 2**63 - 1), st.integers(0, 2**63 - 1))
def test_round_trip(xid: int, seq: int) -> None:
    assert cursor.decode(cursor.encode(Position(xid, seq), key=KEY), key=KEY) == Position(xid, seq)


def _flip(text: str, i: int) -> str:
    return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1:]


@pytest.mark.parametrize(("case", "text"), [
    ("empty", ""),
    ("no mac", GOOD.split(".")[0]),
    ("two dots", GOOD + ".x"),
    ("not base64", "%%%." + GOOD.split(".")[1]),
    ("body edited", _flip(GOOD, 3)),
    ("mac edited", _flip(GOOD, len(GOOD) - 3)),
    ("too long", GOOD + "A" * 300),
    ("another key", cursor.encode(Position(1, 1), key="x" * 48)),
    ("another purpose", cursor.encode(Position(1, 1), key=KEY, purpose="events")),
    ("plain numbers", "57532.12"),
])
def test_refused(case: str, text: str) -> None:
    with pytest.raises(CursorError):
        cursor.decode(text, key=KEY)


@given(st.text(max_size=80))
def test_any_text_is_a_position_or_refused(text: str) -> None:
    try:
        pos = cursor.decode(text, key=KEY)
    except CursorError:
        return
    assert cursor.encode(pos, key=KEY) == text


def test_positions_order_by_transaction_then_sequence() -> None:
    assert Position(5, 100) < Position(6, 1) < Position(6, 2)
