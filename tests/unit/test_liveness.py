"""Liveness decisions, pure: cues in, verdict out (faces.liveness), and the gate's answer
to a failed face (edge.gate.policy). Tables of cases; no dlib, no camera."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from edge.gate.policy import PassageLog, decide_card_and_face, decide_face
from faces.decision import Reason as FaceReason
from faces.decision import Verification
from faces.liveness import (
    Cues,
    LivenessTracker,
    Mode,
    State,
    Thresholds,
    Verdict,
    Why,
    decide,
    displacement,
    eye_aspect_ratio,
    eye_change,
    eye_distance,
    similarity_residual,
)

# The prompt off: the verdict at the budget is final (the turn prompt has its own table).
LIMITS = Thresholds(nonrigid=0.045, still=0.05, blink_drop=0.31, budget_s=1.5, min_frames=4,
                    prompt_s=0.0)
PROMPTING = Thresholds(nonrigid=0.045, still=0.05, blink_drop=0.31, budget_s=1.5, min_frames=4,
                       eyes=0.045, prompt_s=2.0, prompt_nonrigid=0.08)


def cues(frames: int = 6, span: float = 1.0, motion: float = 0.5, nonrigid: float = 0.0,
         blink: float | None = None, eyes: float | None = None) -> Cues:
    return Cues(frames, span, motion, nonrigid, blink, eyes)


@pytest.mark.parametrize(("case", "mode", "seen", "expected"), [
    ("off is always live, even with nothing seen", Mode.OFF, cues(frames=0, span=0.0),
     Verdict(State.LIVE)),
    ("too few frames: wait, whatever the cue", Mode.MOTION, cues(frames=3, nonrigid=0.2),
     Verdict(State.PENDING)),
    ("head turned: live at once", Mode.MOTION, cues(frames=4, span=0.6, nonrigid=0.09),
     Verdict(State.LIVE, Why.NONRIGID)),
    ("exactly the threshold is live", Mode.MOTION, cues(nonrigid=0.045),
     Verdict(State.LIVE, Why.NONRIGID)),
    ("rigid so far, budget not spent: wait", Mode.MOTION, cues(span=1.4, nonrigid=0.02),
     Verdict(State.PENDING)),
    ("photo held still, budget spent", Mode.MOTION,
     cues(frames=9, span=1.6, motion=0.02, nonrigid=0.015), Verdict(State.FAILED, Why.STILL)),
    ("photo moved in its plane, budget spent", Mode.MOTION,
     cues(frames=9, span=1.6, motion=2.3, nonrigid=0.02), Verdict(State.FAILED, Why.RIGID)),
    ("exactly the budget: decided", Mode.MOTION, cues(span=1.5, motion=0.0),
     Verdict(State.FAILED, Why.STILL)),
    ("budget spent but too few frames (slow gate): wait", Mode.MOTION,
     cues(frames=3, span=2.0), Verdict(State.PENDING)),
    ("motion mode ignores a blink", Mode.MOTION, cues(span=1.6, motion=0.1, blink=0.5),
     Verdict(State.FAILED, Why.RIGID)),
    ("blink mode: a blink is live", Mode.BLINK, cues(span=0.8, blink=0.35),
     Verdict(State.LIVE, Why.BLINK)),
    ("blink mode: motion still counts first", Mode.BLINK, cues(nonrigid=0.1, blink=0.4),
     Verdict(State.LIVE, Why.NONRIGID)),
    ("blink mode: a tilted photo's eyes flatten less than a blink", Mode.BLINK,
     cues(span=1.6, motion=0.9, nonrigid=0.03, blink=0.29), Verdict(State.FAILED, Why.RIGID)),
    ("blink mode without the 68 points' cue: motion only", Mode.BLINK,
     cues(span=1.6, motion=0.01, blink=None), Verdict(State.FAILED, Why.STILL)),
    ("head held still, eyes moved: live", Mode.MOTION, cues(span=0.8, nonrigid=0.02,
                                                            eyes=0.065),
     Verdict(State.LIVE, Why.EYES)),
    ("eyes exactly at the threshold: live", Mode.MOTION, cues(eyes=0.045),
     Verdict(State.LIVE, Why.EYES)),
    ("a photo's eye levels (noise) under the threshold, budget spent", Mode.MOTION,
     cues(span=1.6, motion=0.03, nonrigid=0.02, eyes=0.027), Verdict(State.FAILED, Why.STILL)),
    ("eyes not measured (no pixels): landmarks only", Mode.MOTION,
     cues(span=1.6, motion=0.6, eyes=None), Verdict(State.FAILED, Why.RIGID)),
    ("the landmark cue is named first when both show", Mode.MOTION,
     cues(nonrigid=0.1, eyes=0.3), Verdict(State.LIVE, Why.NONRIGID)),
    ("blink mode counts the eye cue too", Mode.BLINK, cues(eyes=0.1, blink=0.05),
     Verdict(State.LIVE, Why.EYES)),
    ("eyes need enough frames like every cue", Mode.MOTION, cues(frames=3, eyes=0.5),
     Verdict(State.PENDING)),
    ("off ignores the eyes", Mode.OFF, cues(eyes=0.0), Verdict(State.LIVE)),
])
def test_decide(case: str, mode: Mode, seen: Cues, expected: Verdict) -> None:
    assert decide(seen, mode, LIMITS) == expected, case


@pytest.mark.parametrize(("case", "prompted", "seen", "expected"), [
    ("nothing by the budget: asked to turn, not refused", False,
     cues(frames=9, span=1.6, motion=0.02, nonrigid=0.015), Verdict(State.PROMPT)),
    ("a passive cue within the budget still opens at once", False,
     cues(span=1.0, nonrigid=0.05), Verdict(State.LIVE, Why.NONRIGID)),
    ("the eye cue on the budget's last frame still counts", False,
     cues(span=1.6, nonrigid=0.01, eyes=0.05), Verdict(State.LIVE, Why.EYES)),
    ("prompted: a clear turn is live", True, cues(span=2.2, nonrigid=0.09),
     Verdict(State.LIVE, Why.TURN)),
    ("prompted: exactly the turn's bar is live", True, cues(span=2.2, nonrigid=0.08),
     Verdict(State.LIVE, Why.TURN)),
    ("prompted: the passive bar is not enough (a photo's noise, watched long)", True,
     cues(span=2.2, nonrigid=0.056), Verdict(State.PROMPT)),
    ("prompted: the eye cue no longer counts", True, cues(span=2.2, nonrigid=0.01, eyes=0.3),
     Verdict(State.PROMPT)),
    ("prompted: nothing by budget + prompt, held still", True,
     cues(frames=18, span=3.5, motion=0.02, nonrigid=0.02), Verdict(State.FAILED, Why.STILL)),
    ("prompted: nothing by budget + prompt, moved as a picture", True,
     cues(frames=18, span=3.6, motion=1.9, nonrigid=0.05), Verdict(State.FAILED, Why.RIGID)),
    ("prompted, too few frames (a frame-starved gate): wait", True,
     cues(frames=3, span=4.0, nonrigid=0.2), Verdict(State.PENDING)),
])
def test_decide_with_the_turn_prompt(case: str, prompted: bool, seen: Cues,
                                     expected: Verdict) -> None:
    assert decide(seen, Mode.MOTION, PROMPTING, prompted=prompted) == expected, case


# A face's five points (dlib order: one eye's corners, the other's, the nose base).
FACE = ((100.0, 100.0), (120.0, 100.0), (160.0, 100.0), (140.0, 100.0), (130.0, 130.0))


def similar(points: tuple[tuple[float, float], ...], *, angle: float = 0.0, zoom: float = 1.0,
            dx: float = 0.0, dy: float = 0.0) -> tuple[tuple[float, float], ...]:
    c, s = math.cos(angle) * zoom, math.sin(angle) * zoom
    return tuple((c * x - s * y + dx, s * x + c * y + dy) for x, y in points)


def nose_moved(points: tuple[tuple[float, float], ...], dx: float,
               dy: float = 0.0) -> tuple[tuple[float, float], ...]:
    *eyes, (nx, ny) = points
    return (*eyes, (nx + dx, ny + dy))


@pytest.mark.parametrize(("case", "cur", "low", "high"), [
    ("the same points", FACE, 0.0, 1e-9),
    ("shifted", similar(FACE, dx=40, dy=-15), 0.0, 1e-9),
    ("turned 20 degrees and nearer", similar(FACE, angle=0.35, zoom=1.3, dx=5), 0.0, 1e-9),
    ("nose 6 px sideways (a head turning): not a similarity", nose_moved(FACE, 6.0), 0.045,
     0.2),
    ("nose 1 px (landmark jitter): small", nose_moved(FACE, 1.0), 0.005, 0.03),
    ("a head turn, then the whole face moved", similar(nose_moved(FACE, 6.0), angle=0.2,
                                                       dx=30), 0.045, 0.2),
])
def test_similarity_residual(case: str, cur: tuple[tuple[float, float], ...], low: float,
                             high: float) -> None:
    assert low <= similarity_residual(FACE, cur) <= high, case


def test_geometry_units() -> None:
    assert eye_distance(FACE) == pytest.approx(40.0)
    assert displacement(FACE, similar(FACE, dx=20)) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="same >= 3 points"):
        similarity_residual(FACE, FACE[:4])


@pytest.mark.parametrize(("eye", "expected"), [
    (((0, 0), (3, -2), (7, -2), (10, 0), (7, 2), (3, 2)), 0.4),  # open
    (((0, 0), (3, -0.5), (7, -0.5), (10, 0), (7, 0.5), (3, 0.5)), 0.1),  # nearly shut
    (((0, 0), (3, 0), (7, 0), (10, 0), (7, 0), (3, 0)), 0.0),  # shut
    (((5, 5), (5, 5), (5, 5), (5, 5), (5, 5), (5, 5)), 0.0),  # degenerate: no width
])
def test_eye_aspect_ratio(eye: tuple[tuple[float, float], ...], expected: float) -> None:
    assert eye_aspect_ratio(eye) == pytest.approx(expected)


@pytest.mark.parametrize(("case", "levels", "expected"), [
    ("under three frames: not measured", [(0.1, 0.2), (0.5, 0.9)], None),
    ("levels that never move", [(-1.0, -1.1)] * 6, 0.0),
    ("noise both ways", [(-1.0, -1.1), (-1.01, -1.09), (-0.99, -1.11), (-1.0, -1.1)], 0.01),
    ("one eye only (glare on one side): the other eye decides", [
        (-1.0, -1.1), (-0.5, -1.1), (-0.5, -1.1), (-1.0, -1.1), (-1.0, -1.1)], 0.0),
    ("both eyes in one frame only: the largest frame is ignored", [
        (-1.0, -1.1), (-0.6, -0.7), (-1.0, -1.1), (-1.0, -1.1), (-1.0, -1.1)], 0.0),
    ("both eyes in two frames (a blink over 0.2 s)", [
        (-1.0, -1.1), (-0.6, -0.7), (-0.7, -0.8), (-1.0, -1.1), (-1.0, -1.1)], 0.3),
])
def test_eye_change(case: str, levels: list[tuple[float, float]],
                    expected: float | None) -> None:
    got = eye_change(levels)
    assert (got is None) if expected is None else got == pytest.approx(expected), case


BOX = (130.0, 110.0, 80.0)  # centre x, centre y, width


def feed(tracker: LivenessTracker, frames: list[tuple[float, tuple[tuple[float, float], ...]]],
         **kwargs: object) -> list[State]:
    return [tracker.observe(at, BOX, five, **kwargs).state  # type: ignore[arg-type]
            for at, five in frames]


def test_a_photo_held_still_fails_at_the_budget_and_stays_failed() -> None:
    tracker = LivenessTracker(Mode.MOTION, LIMITS)
    jitter = [nose_moved(FACE, 0.3 * (-1) ** i) for i in range(12)]
    states = feed(tracker, [(i * 0.2, f) for i, f in enumerate(jitter)])
    assert states[:8] == [State.PENDING] * 8  # up to 1.4 s
    assert states[8:] == [State.FAILED] * 4  # from 1.6 s, and it holds
    assert tracker.current is not None and tracker.current.verdict.why is Why.STILL


def test_a_photo_held_still_is_prompted_then_refused_and_stays_refused() -> None:
    tracker = LivenessTracker(Mode.MOTION, PROMPTING)
    jitter = [nose_moved(FACE, 0.3 * (-1) ** i) for i in range(22)]
    states = feed(tracker, [(i * 0.2, f) for i, f in enumerate(jitter)])
    assert states[:8] == [State.PENDING] * 8  # up to 1.4 s
    assert states[8:18] == [State.PROMPT] * 10  # 1.6 s to 3.4 s: asked to turn
    assert states[18:] == [State.FAILED] * 4  # from 3.6 s, and it holds
    approach = tracker.current
    assert approach is not None and approach.prompted_at == pytest.approx(1.6)
    assert approach.verdict.why is Why.STILL


def test_a_pupil_standing_still_turns_when_prompted_and_is_live() -> None:
    tracker = LivenessTracker(Mode.MOTION, PROMPTING)
    still = [nose_moved(FACE, 0.3 * (-1) ** i) for i in range(9)]
    turn = [nose_moved(FACE, x) for x in (5.0, 10.0, 12.0)]  # residuals 0.04, 0.086, 0.1
    states = feed(tracker, [(i * 0.2, f) for i, f in enumerate(still + turn)])
    assert states[8] is State.PROMPT
    assert states[-1] is State.LIVE
    assert tracker.current is not None and tracker.current.verdict.why is Why.TURN


def test_a_photo_moved_rigidly_fails_as_rigid() -> None:
    tracker = LivenessTracker(Mode.MOTION, LIMITS)
    path = [similar(FACE, angle=0.05 * i, zoom=1 + 0.02 * i, dx=6 * i) for i in range(10)]
    assert feed(tracker, [(i * 0.2, f) for i, f in enumerate(path)])[-1] is State.FAILED
    assert tracker.current is not None and tracker.current.verdict.why is Why.RIGID


def test_a_turning_head_is_live_once_two_frames_show_it() -> None:
    tracker = LivenessTracker(Mode.MOTION, LIMITS)
    turn = [nose_moved(FACE, x) for x in (0.0, 2.0, 6.0, 7.0, 8.0)]
    states = feed(tracker, [(i * 0.2, f) for i, f in enumerate(turn)])
    # frame 3 (the 4th) is the first with enough frames and two residuals over the threshold
    assert states == [State.PENDING] * 3 + [State.LIVE, State.LIVE]
    assert tracker.current is not None and tracker.current.decided_at == pytest.approx(0.6)


def test_one_bad_landmark_frame_does_not_make_a_photo_live() -> None:
    tracker = LivenessTracker(Mode.MOTION, LIMITS)
    frames = [FACE] * 4 + [nose_moved(FACE, 8.0)] + [FACE] * 5
    assert State.LIVE not in feed(tracker, [(i * 0.2, f) for i, f in enumerate(frames)])


@pytest.mark.parametrize(("case", "second", "new_approach"), [
    ("same place, soon after", dict(at=0.2, box=BOX, person="hs1"), False),
    ("unidentified for a frame (half-turned): same approach", dict(at=0.2, box=BOX,
                                                                  person=None), False),
    ("gone longer than the gap", dict(at=1.5, box=BOX, person="hs1"), True),
    ("jumped further than its width: someone else", dict(at=0.2, box=(300.0, 110.0, 80.0),
                                                         person="hs1"), True),
    ("another person identified", dict(at=0.2, box=BOX, person="hs2"), True),
])
def test_what_starts_a_new_approach(case: str, second: dict[str, object],
                                    new_approach: bool) -> None:
    tracker = LivenessTracker(Mode.MOTION, LIMITS, gap_s=1.0)
    tracker.observe(0.0, BOX, FACE, person="hs1")
    first = tracker.current
    tracker.observe(second["at"], second["box"], FACE,  # type: ignore[arg-type]
                    person=second["person"])  # type: ignore[arg-type]
    assert (tracker.current is not first) is new_approach, case


def test_a_failed_approach_does_not_get_a_second_budget_by_moving() -> None:
    tracker = LivenessTracker(Mode.MOTION, LIMITS)
    feed(tracker, [(i * 0.2, FACE) for i in range(9)])
    assert tracker.current is not None and tracker.current.verdict.state is State.FAILED
    later = feed(tracker, [(1.8 + i * 0.2, nose_moved(FACE, 6.0 * i)) for i in range(4)])
    assert later == [State.FAILED] * 4


def test_blink_cue_from_eye_ratios() -> None:
    tracker = LivenessTracker(Mode.BLINK, LIMITS)
    ears = [0.30, 0.31, 0.12, 0.29, 0.30]
    states = [tracker.observe(i * 0.1, BOX, FACE, ear=e).state for i, e in enumerate(ears)]
    assert states[-1] is State.LIVE
    assert tracker.current is not None and tracker.current.verdict.why is Why.BLINK


def test_eye_cue_makes_a_still_head_live_and_leaves_a_photo_failed() -> None:
    still_head = LivenessTracker(Mode.MOTION, LIMITS)
    glance = [(-1.0, -1.1), (-1.0, -1.1), (-0.9, -1.0), (-0.9, -1.0), (-1.0, -1.1)]
    states = [still_head.observe(i * 0.2, BOX, FACE, eyes=e).state
              for i, e in enumerate(glance)]
    # the 4th frame: enough frames, and two of them 0.05 off the median (-0.95, -1.05)
    assert states == [State.PENDING] * 3 + [State.LIVE] * 2
    assert still_head.current is not None and still_head.current.verdict.why is Why.EYES

    photo = LivenessTracker(Mode.MOTION, LIMITS)
    grain = [(-1.0 + 0.01 * (-1) ** i, -1.1 - 0.01 * (-1) ** i) for i in range(10)]
    states = [photo.observe(i * 0.2, BOX, FACE, eyes=e).state for i, e in enumerate(grain)]
    assert states[-1] is State.FAILED and State.LIVE not in states
    assert photo.current is not None and photo.current.cues().eyes == pytest.approx(0.01)


def test_the_tracker_says_whether_a_frame_continues_the_approach() -> None:
    tracker = LivenessTracker(Mode.MOTION, LIMITS, gap_s=1.0)
    assert not tracker.continues(0.0, BOX, "hs1")  # nothing seen yet
    tracker.observe(0.0, BOX, FACE, person="hs1")
    assert tracker.continues(0.2, BOX, "hs1")
    assert not tracker.continues(0.2, BOX, "hs2")
    assert not tracker.continues(1.5, BOX, "hs1")


NOW = datetime(2026, 9, 8, 7, 0, tzinfo=UTC)


def test_a_face_failing_liveness_is_denied_without_a_person() -> None:
    decision = decide_face(None, distance=0.31, reason=FaceReason.LIVENESS_FAILED, kinds={},
                           direction="in", now=NOW, passages=PassageLog(),
                           anti_passback=timedelta(0))
    assert (decision.decision, decision.reason, decision.person, decision.method,
            decision.opens) == ("denied", FaceReason.LIVENESS_FAILED, None, "face", False)
    assert decision.reason == "liveness-failed" and decision.distance == 0.31


def test_card_and_face_keeps_the_card_holder_on_a_liveness_refusal() -> None:
    from edge.gate.policy import Decision

    card = Decision("granted", None, "hs1", "card")
    refused = Verification("hs1", False, 0.3, FaceReason.LIVENESS_FAILED)
    decision = decide_card_and_face(card, refused)
    assert (decision.decision, decision.reason, decision.person, decision.method) == (
        "denied", FaceReason.LIVENESS_FAILED, "hs1", "card+face")


@pytest.mark.parametrize(("yaml_text", "expected"), [
    ("{}", "off"),  # off unless a gate turns it on: a gate that used to open keeps opening
    ("liveness: off", "off"),  # YAML 1.1 reads a bare off as false
    ("liveness: motion", "motion"),
    ("{liveness: blink, liveness_68_point_licence_ok: true}", "blink"),
])
def test_face_config_liveness(yaml_text: str, expected: str) -> None:
    import yaml

    from edge.config.face import FaceConfig

    assert FaceConfig.model_validate(yaml.safe_load(yaml_text)).liveness == expected


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("liveness: blink", "non-commercial"),
    ("liveness: on", "'off', 'motion' or 'blink'"),
    ("{liveness: motion, liveness_budget_s: 10}", "less than or equal to 5"),
])
def test_face_config_liveness_refusals(yaml_text: str, message: str) -> None:
    import yaml
    from pydantic import ValidationError

    from edge.config.face import FaceConfig

    with pytest.raises(ValidationError, match=message):
        FaceConfig.model_validate(yaml.safe_load(yaml_text))
