"""Sync tokens carry capabilities, expire and can be revoked: the pure rules, as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.devices.tokens import (
    CARDS,
    FACES,
    Device,
    Grant,
    capability_refusal,
    device_capabilities,
    grant_refusal,
)

NOW = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
CARD_GATE = Device("s1-gate-1", "s1", "gate")
FACE_GATE = Device("s1-gate-2", "s1", "gate", face=True)
ROOM = Device("s1-room-1", "s1", "classroom")
BOTH = frozenset({CARDS, FACES})


@pytest.mark.parametrize(("device", "expected"), [
    (CARD_GATE, {CARDS}),
    (FACE_GATE, {CARDS, FACES}),
    (ROOM, set()),
    (Device("s1-room-2", "s1", "classroom", face=True), set()),  # face means nothing there
])
def test_device_capabilities(device: Device, expected: set[str]) -> None:
    assert device_capabilities(device) == expected


def grant(device: Device = FACE_GATE, caps: frozenset[str] = BOTH, *,
          expires: datetime | None = NOW + timedelta(days=1),
          revoked: datetime | None = None) -> Grant:
    return Grant(device, caps, expires, revoked)


@pytest.mark.parametrize(("g", "refused", "words"), [
    (grant(), False, ""),
    (grant(expires=NOW + timedelta(seconds=1)), False, ""),
    (grant(expires=NOW), True, "expired on 2026-12-07"),  # the instant of expiry is past it
    (grant(expires=NOW - timedelta(days=400)), True, "expired"),
    (grant(expires=None), True, "expired"),  # a token no migration gave a lifetime
    (grant(revoked=NOW - timedelta(hours=1)), True, "revoked"),
    # revoked wins over still valid, and is said first
    (grant(revoked=NOW, expires=NOW + timedelta(days=300)), True, "revoked"),
])
def test_grant_refusal(g: Grant, refused: bool, words: str) -> None:
    reason = grant_refusal(g, NOW)
    assert (reason is not None) is refused
    if refused:
        assert reason is not None and words in reason and g.device.id in reason


@pytest.mark.parametrize(("g", "capability", "refused", "words"), [
    (grant(FACE_GATE, BOTH), FACES, False, ""),
    (grant(FACE_GATE, BOTH), CARDS, False, ""),
    (grant(CARD_GATE, frozenset({CARDS})), CARDS, False, ""),
    (grant(CARD_GATE, frozenset({CARDS})), FACES, True, "card-only gate"),
    # a card-only gate's token stays card-only even if someone writes faces into it
    (grant(CARD_GATE, BOTH), FACES, True, "card-only gate"),
    # a gate made a face gate later: its old card-only token must be issued again
    (grant(FACE_GATE, frozenset({CARDS})), FACES, True, "not issued for faces"),
    (grant(FACE_GATE, frozenset()), CARDS, True, "not issued for cards"),
    (grant(ROOM, BOTH), CARDS, True, "not issued"),
])
def test_capability_refusal(g: Grant, capability: str, refused: bool, words: str) -> None:
    reason = capability_refusal(g, capability)
    assert (reason is not None) is refused
    if refused:
        assert reason is not None and words in reason


def test_effective_is_what_was_issued_and_is_still_allowed() -> None:
    assert grant(CARD_GATE, BOTH).effective == {CARDS}
    assert grant(FACE_GATE, frozenset({CARDS})).effective == {CARDS}
    assert grant(FACE_GATE, BOTH).effective == BOTH
