"""Gate decisions as tables: card status, unknown cards, anti-passback windows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from edge.clock import DISTRICT_TZ
from edge.gate.policy import CardEntry, Decision, PassageLog, Reason, decide_card

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


# -- opening hours, face decisions, card-and-face (issue #4) -------------------------------

from datetime import date, time  # noqa: E402

from edge.gate.policy import (  # noqa: E402
    Schedule,
    Window,
    decide_card_and_face,
    decide_face,
    person_kinds,
)
from faces.decision import Reason as FaceReason  # noqa: E402
from faces.decision import Verification  # noqa: E402

WEEKDAYS = Schedule(
    (Window(frozenset(range(5)), time(6, 0), time(18, 0)),
     Window(frozenset({5}), time(6, 30), time(11, 30))),
    frozenset({date(2025, 9, 2)}),
)
KIND_CARDS = {**CARDS, "0A0B0C0D": CardEntry("th-a-gv-01", "active", "staff")}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 9, day, hour, minute, tzinfo=DISTRICT_TZ)  # 8 Sep 2025 is a Monday


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (at(8, 7), True),
        (at(8, 6, 0), True),  # the opening minute is in
        (at(8, 5, 59), False),
        (at(8, 18, 0), False),  # the closing minute is out
        (at(13, 9), True),  # Saturday morning
        (at(13, 12), False),  # Saturday afternoon
        (at(14, 9), False),  # Sunday
        (at(2, 9), False),  # a Tuesday, but National Day
    ],
)
def test_schedule(moment, is_open):
    assert WEEKDAYS.is_open(moment) is is_open


@pytest.mark.parametrize(
    ("uid", "moment", "schedule", "expected"),
    [
        ("04A1B2C3", at(8, 7), WEEKDAYS, Decision("granted", None, "th-a-00001")),
        ("04A1B2C3", at(8, 21), WEEKDAYS, Decision("denied", Reason.OUTSIDE_HOURS, "th-a-00001")),
        ("04A1B2C3", at(2, 9), WEEKDAYS, Decision("denied", Reason.OUTSIDE_HOURS, "th-a-00001")),
        ("0A0B0C0D", at(8, 21), WEEKDAYS, Decision("granted", None, "th-a-gv-01")),  # staff
        ("0A0B0C0D", at(2, 9), WEEKDAYS, Decision("granted", None, "th-a-gv-01")),
        ("04A1B2C3", at(8, 21), None, Decision("granted", None, "th-a-00001")),  # no hours
        # the card's status is said at any hour
        ("04A1B2C5", at(8, 21), WEEKDAYS, Decision("denied", Reason.CARD_LOST, "th-a-00003")),
        ("FFFFFFFF", at(8, 21), WEEKDAYS, Decision("unknown", Reason.UNKNOWN_CARD)),
    ],
)
def test_decide_card_with_hours(uid, moment, schedule, expected):
    decision = decide_card(uid, cards=KIND_CARDS, direction="in", now=moment,
                           passages=PassageLog(), anti_passback=WINDOW, schedule=schedule)
    assert decision == expected


def test_hours_come_before_anti_passback():
    passages = log_with(("th-a-00001", "in", timedelta(minutes=1)))
    decision = decide_card("04A1B2C3", cards=CARDS, direction="in", now=T0 + timedelta(hours=12),
                           passages=passages, anti_passback=timedelta(hours=24),
                           schedule=WEEKDAYS)
    assert decision.reason is Reason.OUTSIDE_HOURS


KINDS = person_kinds(KIND_CARDS.values())


@pytest.mark.parametrize(
    ("person", "distance", "reason", "moment", "history", "expected"),
    [
        ("th-a-00001", 0.3, None, at(8, 7), (),
         Decision("granted", None, "th-a-00001", "face", 0.3)),
        (None, 0.7, FaceReason.NO_MATCH, at(8, 7), (),
         Decision("unknown", FaceReason.NO_MATCH, None, "face", 0.7)),
        (None, 0.45, FaceReason.AMBIGUOUS, at(8, 7), (),
         Decision("unknown", FaceReason.AMBIGUOUS, None, "face", 0.45)),
        (None, None, None, at(8, 7), (),  # no reason given: no-face-match
         Decision("unknown", FaceReason.NO_MATCH, None, "face", None)),
        ("th-a-00001", 0.3, None, at(8, 21), (),
         Decision("denied", Reason.OUTSIDE_HOURS, "th-a-00001", "face", 0.3)),
        ("th-a-gv-01", 0.3, None, at(8, 21), (),
         Decision("granted", None, "th-a-gv-01", "face", 0.3)),
        # a face without a card is treated as a student
        ("enrolled-no-card", 0.3, None, at(8, 21), (),
         Decision("denied", Reason.OUTSIDE_HOURS, "enrolled-no-card", "face", 0.3)),
        ("th-a-00001", 0.3, None, at(8, 7), (("th-a-00001", "in", timedelta(minutes=1)),),
         Decision("denied", Reason.ANTI_PASSBACK, "th-a-00001", "face", 0.3)),
    ],
)
def test_decide_face(person, distance, reason, moment, history, expected):
    passages = PassageLog()
    for who, way, ago in history:
        passages.record(who, way, moment - ago)
    decision = decide_face(person, distance=distance, reason=reason, kinds=KINDS,
                           direction="in", now=moment, passages=passages,
                           anti_passback=WINDOW, schedule=WEEKDAYS)
    assert decision == expected


GRANT = Decision("granted", None, "th-a-00001")


@pytest.mark.parametrize(
    ("card", "verification", "expected"),
    [
        (GRANT, Verification("th-a-00001", True, 0.31),
         Decision("granted", None, "th-a-00001", "card+face", 0.31)),
        (GRANT, Verification("th-a-00001", False, 0.72, FaceReason.FACE_MISMATCH),
         Decision("denied", FaceReason.FACE_MISMATCH, "th-a-00001", "card+face", 0.72)),
        (GRANT, Verification("th-a-00001", False, None, FaceReason.NO_FACE),
         Decision("denied", FaceReason.NO_FACE, "th-a-00001", "card+face", None)),
        (GRANT, Verification("th-a-00001", False, None, FaceReason.NOT_ENROLLED),
         Decision("denied", FaceReason.NOT_ENROLLED, "th-a-00001", "card+face", None)),
        (GRANT, None, Decision("denied", FaceReason.NO_FACE, "th-a-00001", "card+face")),
        # a card that does not grant keeps its own answer, whatever the face
        (Decision("denied", Reason.CARD_LOST, "th-a-00003"),
         Verification("th-a-00003", True, 0.2),
         Decision("denied", Reason.CARD_LOST, "th-a-00003", "card+face")),
        (Decision("unknown", Reason.UNKNOWN_CARD), None,
         Decision("unknown", Reason.UNKNOWN_CARD, None, "card+face")),
        (Decision("denied", Reason.OUTSIDE_HOURS, "th-a-00001"), None,
         Decision("denied", Reason.OUTSIDE_HOURS, "th-a-00001", "card+face")),
    ],
)
def test_decide_card_and_face(card, verification, expected):
    assert decide_card_and_face(card, verification) == expected


def test_person_kinds_staff_wins():
    cards = [CardEntry("a", kind="student"), CardEntry("a", kind="staff"), CardEntry("b")]
    assert person_kinds(cards) == {"a": "staff", "b": "student"}
