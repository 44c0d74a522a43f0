"""The pure face decisions as tables: tolerance, margin, verification, agreement, subject."""

from __future__ import annotations

import pytest

from faces.decision import (
    Box,
    Candidate,
    FaceAgreement,
    Identity,
    Reason,
    Seen,
    decide_identity,
    decide_verification,
    observation,
    pick_subject,
)

A, B = "pupil-a", "pupil-b"


@pytest.mark.parametrize(
    ("best", "second", "tolerance", "margin", "expected"),
    [
        # empty gallery
        (None, None, 0.5, 0.08, Identity(None, None, Reason.EMPTY_GALLERY)),
        # clear match, no runner-up (one-person gallery)
        (Candidate(A, 0.35), None, 0.5, 0.08, Identity(A, 0.35)),
        # clear match, runner-up far away
        (Candidate(A, 0.35), Candidate(B, 0.80), 0.5, 0.08, Identity(A, 0.35)),
        # exactly at the tolerance still matches (face_recognition's <=)
        (Candidate(A, 0.5), Candidate(B, 0.9), 0.5, 0.08, Identity(A, 0.5)),
        # just beyond the tolerance: a stranger
        (
            Candidate(A, 0.5001),
            Candidate(B, 0.9),
            0.5,
            0.08,
            Identity(None, 0.5001, Reason.NO_MATCH),
        ),
        # 0.55 would pass face_recognition's 0.6 but not a school gate's 0.5
        (Candidate(A, 0.55), Candidate(B, 0.9), 0.5, 0.08, Identity(None, 0.55, Reason.NO_MATCH)),
        (Candidate(A, 0.55), Candidate(B, 0.9), 0.6, 0.08, Identity(A, 0.55)),
        # both persons within tolerance and close to each other: ambiguous
        (Candidate(A, 0.40), Candidate(B, 0.45), 0.5, 0.08, Identity(None, 0.40, Reason.AMBIGUOUS)),
        # runner-up beyond tolerance but within the margin: still ambiguous
        (Candidate(A, 0.48), Candidate(B, 0.52), 0.5, 0.08, Identity(None, 0.48, Reason.AMBIGUOUS)),
        # margin exactly met: identified
        (Candidate(A, 0.25), Candidate(B, 0.50), 0.5, 0.25, Identity(A, 0.25)),
        # margin 0 turns the rule off, ties included
        (Candidate(A, 0.40), Candidate(B, 0.40), 0.5, 0.0, Identity(A, 0.40)),
        # no-match wins over ambiguity: beyond tolerance is reported as no match
        (Candidate(A, 0.70), Candidate(B, 0.71), 0.5, 0.08, Identity(None, 0.70, Reason.NO_MATCH)),
    ],
)
def test_decide_identity(
    best: Candidate | None,
    second: Candidate | None,
    tolerance: float,
    margin: float,
    expected: Identity,
) -> None:
    assert decide_identity(best, second, tolerance=tolerance, margin=margin) == expected


@pytest.mark.parametrize(
    ("distance", "enrolled", "tolerance", "ok", "reason"),
    [
        (0.30, True, 0.5, True, None),
        (0.50, True, 0.5, True, None),
        (0.51, True, 0.5, False, Reason.FACE_MISMATCH),
        (0.90, True, 0.5, False, Reason.FACE_MISMATCH),
        (None, True, 0.5, False, Reason.NO_FACE),
        (None, False, 0.5, False, Reason.NOT_ENROLLED),
        # not enrolled wins even if a distance somehow came along
        (0.10, False, 0.5, False, Reason.NOT_ENROLLED),
    ],
)
def test_decide_verification(
    distance: float | None, enrolled: bool, tolerance: float, ok: bool, reason: Reason | None
) -> None:
    result = decide_verification(A, distance, enrolled=enrolled, tolerance=tolerance)
    assert (result.person, result.ok, result.reason) == (A, ok, reason)
    assert result.distance == (distance if enrolled else None)


N = Seen.NO_FACE
U = Seen.UNKNOWN


@pytest.mark.parametrize(
    ("needed", "window", "frames", "decisions"),
    [
        # three agreeing frames in a row: decided on the third
        (3, 5, [A, A, A], [None, None, A]),
        # lingering at the gate: decided once, not again every three frames
        (3, 5, [A] * 9, [None, None, A] + [None] * 6),
        # a bad frame in between still makes 3 of 5
        (3, 5, [A, U, A, N, A], [None, None, None, None, A]),
        # spread too thin: the first A ages out before the third arrives
        (3, 5, [A, N, N, N, A, N, A], [None] * 7),
        # nobody: no-face frames are never decided
        (1, 1, [N, N, N], [None, None, None]),
        # an unknown face is decided like a person (for the event and the snapshot)
        (2, 3, [U, U, U], [None, U, None]),
        # A decided, then B steps up: B decided without waiting for A to age out
        (2, 3, [A, A, B, B], [None, A, None, B]),
        # A decided, leaves (window of no-face), comes back: decided again
        (2, 3, [A, A, N, N, N, A, A], [None, A, None, None, None, None, A]),
        # A decided, but never fully out of the window: held
        (2, 3, [A, A, N, N, A, A], [None, A, None, None, None, None]),
        # one-frame agreement
        (1, 1, [A, B, B, A], [A, B, None, A]),
        # alternating A/B never reaches 3 of 4 for either
        (3, 4, [A, B, A, B, A, B], [None] * 6),
    ],
)
def test_agreement(
    needed: int, window: int, frames: list[str | Seen], decisions: list[str | Seen | None]
) -> None:
    agreement = FaceAgreement(needed, window)
    assert [agreement.observe(seen) for seen in frames] == decisions


def test_agreement_person_named_unknown_is_not_the_unknown_marker() -> None:
    agreement = FaceAgreement(2, 3)
    assert agreement.observe("unknown") is None
    assert agreement.observe(Seen.UNKNOWN) is None
    assert agreement.observe("unknown") == "unknown"


def test_agreement_reset_forgets_the_held_person() -> None:
    agreement = FaceAgreement(2, 5)
    assert [agreement.observe(A) for _ in range(2)] == [None, A]
    agreement.reset()
    assert agreement.held is None
    assert [agreement.observe(A) for _ in range(2)] == [None, A]


@pytest.mark.parametrize(("needed", "window"), [(0, 3), (4, 3), (-1, 1)])
def test_agreement_rejects_impossible_settings(needed: int, window: int) -> None:
    with pytest.raises(ValueError, match="needed <= window"):
        FaceAgreement(needed, window)


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        (None, Seen.NO_FACE),
        (Identity(A, 0.3), A),
        (Identity(None, 0.7, Reason.NO_MATCH), Seen.UNKNOWN),
        (Identity(None, 0.4, Reason.AMBIGUOUS), Seen.UNKNOWN),
        (Identity(None, None, Reason.EMPTY_GALLERY), Seen.UNKNOWN),
    ],
)
def test_observation(identity: Identity | None, expected: str | Seen) -> None:
    assert observation(identity) == expected


SMALL = Box(0, 50, 50, 0)  # 50x50
MEDIUM = Box(0, 100, 100, 0)  # 100x100
LARGE = Box(10, 310, 210, 10)  # 300x200
TALL = Box(0, 90, 800, 0)  # 90x800, the largest area but narrow


@pytest.mark.parametrize(
    ("boxes", "min_width", "expected"),
    [
        ([], 0, None),
        ([SMALL], 0, 0),
        ([SMALL, LARGE, MEDIUM], 0, 1),
        ([MEDIUM, SMALL], 0, 0),
        ([SMALL], 80, None),
        ([SMALL, MEDIUM], 80, 1),
        ([LARGE, TALL], 0, 1),
        ([LARGE, TALL], 100, 0),
        ([MEDIUM, MEDIUM], 0, 0),  # a tie keeps the first
    ],
)
def test_pick_subject(boxes: list[Box], min_width: int, expected: int | None) -> None:
    assert pick_subject(boxes, min_width=min_width) == expected


@pytest.mark.parametrize(
    ("box", "factor", "shape", "expected"),
    [
        (Box(10, 40, 30, 20), 2.0, None, Box(20, 80, 60, 40)),
        (Box(10, 40, 30, 20), 4.0, (100, 120, 3), Box(40, 120, 100, 80)),
        (Box(-3, 40, 30, -1), 2.0, (100, 100), Box(0, 80, 60, 0)),
        (Box(11, 41, 31, 21), 0.5, None, Box(6, 20, 16, 10)),
    ],
)
def test_box_scaled(box: Box, factor: float, shape: tuple[int, ...] | None, expected: Box) -> None:
    assert box.scaled(factor, shape=shape) == expected
