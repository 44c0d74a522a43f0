"""Gate decisions as tables: card status, unknown cards, anti-passback windows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from edge.clock import DISTRICT_TZ
from edge.policy import CardEntry, Decision, PassageLog, Reason, decide_card

T0 = datetime(2025, 9, 8, 7, 0, tzinfo=DISTRICT_TZ)
CARDS = {
    "04A1B2C3": CardEntry("th-a-00001", "active"),
    "04A1B2C4": CardEntry("th-a-00002", "blocked"),
    "04A1B2C5": CardEntry("th-a-00003", "lost"),
    "04A1B2C6": CardEntry("th-a-00001", "active"),  # a second card of the same pupil
}
WINDOW = timedelta(minutes=5)


def log_with(*passages: tuple[str, str, timedelta]) -> PassageLog:
    log = PassageLog()
    for person, direction, ago in passages:
        log.record(person, direction, T0 - ago)  # type: ignore[arg-type]
    return log


@pytest.mark.parametrize(
    ("uid", "direction", "history", "window", "expected"),
    [
        # status of the card
        ("04A1B2C3", "in", (), WINDOW, Decision("granted", None, "th-a-00001")),
        ("04A1B2C4", "in", (), WINDOW, Decision("denied", Reason.CARD_BLOCKED, "th-a-00002")),
        ("04A1B2C5", "in", (), WINDOW, Decision("denied", Reason.CARD_LOST, "th-a-00003")),
        ("FFFFFFFF", "in", (), WINDOW, Decision("unknown", Reason.UNKNOWN_CARD, None)),
        # anti-passback: same person, same direction, inside the window
        ("04A1B2C3", "in", (("th-a-00001", "in", timedelta(minutes=1)),), WINDOW,
         Decision("denied", Reason.ANTI_PASSBACK, "th-a-00001")),
        # ...with another card of the same person: it is the person who passed
        ("04A1B2C6", "in", (("th-a-00001", "in", timedelta(minutes=1)),), WINDOW,
         Decision("denied", Reason.ANTI_PASSBACK, "th-a-00001")),
        # the window edge is exclusive: exactly N minutes later is a new passage
        ("04A1B2C3", "in", (("th-a-00001", "in", WINDOW),), WINDOW,
         Decision("granted", None, "th-a-00001")),
        ("04A1B2C3", "in", (("th-a-00001", "in", timedelta(minutes=4, seconds=59)),), WINDOW,
         Decision("denied", Reason.ANTI_PASSBACK, "th-a-00001")),
        # the other direction is a different passage (in, then out)
        ("04A1B2C3", "out", (("th-a-00001", "in", timedelta(minutes=1)),), WINDOW,
         Decision("granted", None, "th-a-00001")),
        # someone else's passage does not count
        ("04A1B2C3", "in", (("th-a-00009", "in", timedelta(minutes=1)),), WINDOW,
         Decision("granted", None, "th-a-00001")),
        # window 0 turns the rule off
        ("04A1B2C3", "in", (("th-a-00001", "in", timedelta(seconds=10)),), timedelta(0),
         Decision("granted", None, "th-a-00001")),
        # a clock stepped backwards does not lock the pupil out
        ("04A1B2C3", "in", (("th-a-00001", "in", -timedelta(minutes=2)),), WINDOW,
         Decision("granted", None, "th-a-00001")),
        # status wins over anti-passback: a blocked card says so even right after a pass
        ("04A1B2C4", "in", (("th-a-00002", "in", timedelta(minutes=1)),), WINDOW,
         Decision("denied", Reason.CARD_BLOCKED, "th-a-00002")),
    ],
)
def test_decide_card(uid, direction, history, window, expected):
    decision = decide_card(
        uid, cards=CARDS, direction=direction, now=T0, passages=log_with(*history),
        anti_passback=window,
    )
    assert decision == expected
    assert decision.opens is (expected.decision == "granted")


def test_decide_card_does_not_mutate_the_log():
    log = PassageLog()
    decide_card("04A1B2C3", cards=CARDS, direction="in", now=T0, passages=log,
                anti_passback=WINDOW)
    assert len(log) == 0


def test_prune_keeps_only_the_window():
    log = log_with(("a", "in", timedelta(minutes=10)), ("b", "in", timedelta(minutes=1)))
    log.prune(T0 - WINDOW)
    assert log.last_granted("a", "in") is None
    assert log.last_granted("b", "in") == T0 - timedelta(minutes=1)


def test_decision_is_frozen():
    decision = Decision("granted")
    with pytest.raises(AttributeError):
        decision.decision = "denied"  # type: ignore[misc]
