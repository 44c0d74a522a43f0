"""Face decisions, pure: no dlib, no numpy, no clock. Tested as tables.

Why each rule exists:

- Tolerance stricter than face_recognition's 0.6: its own README warns that the
  model confuses children at 0.6, and a school gate sees mostly children. On the
  reference photos every true match is below 0.44 and every other person above
  0.74, so 0.5 loses nothing there and leaves room for look-alike siblings.
- Margin between the best and the second-best *person*: a face almost as close
  to two pupils is not an identification, whatever the tolerance says. The
  margin compares persons (best encoding of each), never two photos of one person.
- Agreement over frames: one frame can be blurred, half-turned or lit badly; N
  agreeing frames out of the last M make a decision, and a person standing at
  the gate is decided once, not once per frame.
- 1:1 verification when a card is tapped: one comparison against the card
  holder's own encodings cannot pick the wrong pupil out of two thousand, which
  is the failure mode of 1:N search.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum

DEFAULT_TOLERANCE = 0.5
DEFAULT_MARGIN = 0.08
DEFAULT_AGREE = 3
DEFAULT_WINDOW = 5


class Reason(StrEnum):
    """Values for the ``reason`` field of a gate event (docs/protocol.md)."""

    NO_MATCH = "no-face-match"
    AMBIGUOUS = "ambiguous-face"
    EMPTY_GALLERY = "empty-gallery"
    NO_FACE = "no-face"
    NOT_ENROLLED = "face-not-enrolled"
    FACE_MISMATCH = "face-mismatch"
    LIVENESS_FAILED = "liveness-failed"  # faces.liveness: no natural motion within the budget


@dataclass(frozen=True, slots=True)
class Box:
    """A face rectangle in pixels, in face_recognition's (top, right, bottom, left) order."""

    top: int
    right: int
    bottom: int
    left: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return max(self.width, 0) * max(self.height, 0)

    def scaled(self, factor: float, *, shape: tuple[int, ...] | None = None) -> Box:
        """This box in an image ``factor`` times the size, clipped to ``shape`` (h, w, ...)."""
        top, right = round(self.top * factor), round(self.right * factor)
        bottom, left = round(self.bottom * factor), round(self.left * factor)
        if shape is not None:
            height, width = shape[0], shape[1]
            top, bottom = max(top, 0), min(bottom, height)
            left, right = max(left, 0), min(right, width)
        return Box(top, right, bottom, left)

    def as_list(self) -> list[int]:
        return [self.top, self.right, self.bottom, self.left]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One enrolled person and the distance of their closest encoding to a face."""

    person: str
    distance: float


@dataclass(frozen=True, slots=True)
class Identity:
    """The answer for one face: a person, or None with the reason."""

    person: str | None
    distance: float | None  # of the closest person, matched or not: useful for tuning
    reason: Reason | None = None

    @property
    def matched(self) -> bool:
        return self.person is not None


def decide_identity(
    best: Candidate | None,
    second: Candidate | None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    margin: float = DEFAULT_MARGIN,
) -> Identity:
    """1:N: who this face is, from the two closest *persons* of the gallery.

    A distance equal to the tolerance matches, as in face_recognition.compare_faces.
    """
    if best is None:
        return Identity(None, None, Reason.EMPTY_GALLERY)
    if best.distance > tolerance:
        return Identity(None, best.distance, Reason.NO_MATCH)
    # The runner-up counts even beyond the tolerance: 0.49 against 0.52 is a coin toss.
    if second is not None and second.distance - best.distance < margin:
        return Identity(None, best.distance, Reason.AMBIGUOUS)
    return Identity(best.person, best.distance)


@dataclass(frozen=True, slots=True)
class Verification:
    """1:1: does the face in front of the camera belong to the card's holder."""

    person: str
    ok: bool
    distance: float | None
    reason: Reason | None = None


def decide_verification(
    person: str,
    distance: float | None,
    *,
    enrolled: bool,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Verification:
    """``distance``: the face's closest distance to ``person``'s own encodings, None
    when no face was seen. ``enrolled``: whether ``person`` has encodings at all."""
    if not enrolled:
        return Verification(person, False, None, Reason.NOT_ENROLLED)
    if distance is None:
        return Verification(person, False, None, Reason.NO_FACE)
    if distance > tolerance:
        return Verification(person, False, distance, Reason.FACE_MISMATCH)
    return Verification(person, True, distance)


def pick_subject(boxes: Sequence[Box], *, min_width: int = 0) -> int | None:
    """Index of the face the gate is about: the largest, i.e. the one nearest the camera.

    Faces narrower than ``min_width`` pixels are people further back in the queue.
    """
    best: int | None = None
    for index, box in enumerate(boxes):
        if box.width < min_width:
            continue
        if best is None or box.area > boxes[best].area:
            best = index
    return best


class Seen(Enum):
    """What a frame showed when it showed no identified person.

    A plain Enum, not a StrEnum: a person whose id happens to be "unknown" must
    never compare equal to UNKNOWN.
    """

    NO_FACE = "no-face"
    UNKNOWN = "unknown"


Observation = str | Seen


def observation(identity: Identity | None) -> Observation:
    """One frame's observation of the subject: a person id, UNKNOWN or NO_FACE.

    An ambiguous face is UNKNOWN for the gate: it stays shut either way.
    """
    if identity is None:
        return Seen.NO_FACE
    return identity.person if identity.person is not None else Seen.UNKNOWN


class FaceAgreement:
    """N of the last M frames agree on the same subject -> one decision.

    After a decision the same outcome is held: it is not decided again until it
    has been absent from the whole window (the person left, or another stepped
    up). So a pupil lingering at the gate makes one event, not one per N frames.
    NO_FACE frames count toward the window (they age old frames out) but are
    never decided.
    """

    def __init__(self, needed: int = DEFAULT_AGREE, window: int = DEFAULT_WINDOW) -> None:
        if not 1 <= needed <= window:
            raise ValueError(f"agreement needs 1 <= needed <= window, got {needed} of {window}")
        self.needed = needed
        self.window = window
        self._recent: deque[Observation] = deque(maxlen=window)
        self._held: Observation | None = None

    def observe(self, seen: Observation) -> Observation | None:
        """Feed one frame; returns the decided person or UNKNOWN, else None."""
        self._recent.append(seen)
        if self._held is not None and self._held not in self._recent:
            self._held = None
        if seen is Seen.NO_FACE or seen == self._held:
            return None
        if sum(1 for item in self._recent if item == seen) >= self.needed:
            self._held = seen
            return seen
        return None

    def reset(self) -> None:
        """Forget everything, e.g. after a card tap decided the passage."""
        self._recent.clear()
        self._held = None

    @property
    def held(self) -> Observation | None:
        return self._held
