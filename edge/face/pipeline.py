"""One frame in, identified faces out: detect small, encode full, match once, decide.

The pipeline only computes; what the gate does with the answer (agreement over
frames, card verification, the relay) is the caller's, through the pure
functions of :mod:`faces.decision`.

With liveness on (``face.liveness``), the subject of each frame is also watched
over its approach (:mod:`edge.face.liveness`), and the pipeline answers for it so
that every caller of ``subject``/``verify`` gets the safe behaviour without knowing:
while the approach is pending, ``subject`` sees no face (the agreement waits), also
while the subject is being asked to turn its head (``on_prompt`` says so once);
once it failed, the subject is unidentified with reason ``liveness-failed``, and a
card+face verification is refused with that reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from edge.config.face import FaceConfig
from edge.face.liveness import Liveness, LivenessWatch
from faces.decision import (
    DEFAULT_MARGIN,
    DEFAULT_TOLERANCE,
    Box,
    Candidate,
    Identity,
    Reason,
    Verification,
    decide_identity,
    decide_verification,
    pick_subject,
)
from faces.gallery import Gallery, Matrix
from faces.imaging import Image, scale, to_rgb
from faces.liveness import UNDECIDED, Mode, State, Thresholds
from faces.models import FaceModels


@dataclass(frozen=True, slots=True, eq=False)
class FaceMatch:
    """One face of a frame. ``encoding`` stays in memory: it is never stored or sent."""

    box: Box  # in the frame's own pixels
    identity: Identity
    second: Candidate | None  # the runner-up person, for tuning the margin
    encoding: Matrix = field(repr=False)
    # The subject's liveness with a watch on; None for other faces or with liveness off.
    liveness: Liveness | None = None

    @property
    def person(self) -> str | None:
        return self.identity.person

    @property
    def distance(self) -> float | None:
        return self.identity.distance


class FacePipeline:
    def __init__(
        self,
        models: FaceModels,
        gallery: Gallery,
        *,
        tolerance: float = DEFAULT_TOLERANCE,
        margin: float = DEFAULT_MARGIN,
        detect_scale: float = 0.5,
        upsample: int = 0,
        min_face_px: int = 0,
        jitters: int = 0,
        liveness: LivenessWatch | None = None,
        on_prompt: Callable[[], None] | None = None,
    ) -> None:
        if not 0.0 < detect_scale <= 1.0:
            raise ValueError(f"detect_scale is in (0, 1], got {detect_scale}")
        self.models = models
        # Replaced whole by the gate on sync-gallery: assignment is atomic, and a
        # frame in flight keeps matching against the gallery it started with.
        self.gallery = gallery
        self.tolerance = tolerance
        self.margin = margin
        self.detect_scale = detect_scale
        self.upsample = upsample
        self.min_face_px = min_face_px
        self.jitters = jitters
        self.liveness = liveness
        # Called once per approach when the subject is asked to turn its head: the gate
        # sets it to its feedback (beeps, lights), which the person must notice.
        self.on_prompt = on_prompt

    @classmethod
    def from_config(cls, config: FaceConfig, gallery: Gallery) -> FacePipeline:
        models = FaceModels(config.model)
        mode = Mode(config.liveness)
        watch = None
        if mode is not Mode.OFF:
            limits = Thresholds(nonrigid=config.liveness_nonrigid,
                                budget_s=config.liveness_budget_s,
                                eyes=config.liveness_eyes,
                                prompt_s=config.liveness_prompt_s,
                                prompt_nonrigid=config.liveness_prompt_nonrigid)
            watch = LivenessWatch(models, mode, limits)
        return cls(
            models,
            gallery,
            liveness=watch,
            tolerance=config.tolerance,
            margin=config.margin,
            detect_scale=config.detect_scale,
            upsample=config.upsample,
            min_face_px=config.min_face_px,
        )

    def locate(self, bgr: Image) -> tuple[Image, list[Box]]:
        """The frame as RGB and its face boxes in full-resolution pixels.

        Detection cost grows with the pixel count and HOG's 80 px window means a
        gate's faces are large anyway, so detection runs on the scaled-down frame;
        the encoder gets the full-resolution face, where its accuracy comes from.
        """
        rgb = to_rgb(bgr)
        small = scale(rgb, self.detect_scale)
        boxes = self.models.detect(small, upsample=self.upsample)
        if self.detect_scale != 1.0:
            boxes = [box.scaled(1.0 / self.detect_scale, shape=rgb.shape) for box in boxes]
        return rgb, [box for box in boxes if box.width > 0 and box.height > 0]

    def process(self, bgr: Image, *, at: float | None = None) -> list[FaceMatch]:
        """Every face of a BGR frame (as OpenCV delivers it), identified 1:N.

        ``at``: when the frame was taken (monotonic seconds; now by default), for the
        liveness watch's approach timing.
        """
        rgb, boxes = self.locate(bgr)
        if not boxes:
            return []
        encodings = self.models.encode(rgb, boxes, jitters=self.jitters)
        gallery = self.gallery
        matches = []
        for box, encoding, ranked in zip(boxes, encodings, gallery.match(encodings), strict=True):
            identity = decide_identity(
                ranked.best, ranked.second, tolerance=self.tolerance, margin=self.margin
            )
            matches.append(FaceMatch(box, identity, ranked.second, encoding))
        if self.liveness is not None:
            self._watch(rgb, matches, time.monotonic() if at is None else at)
        return matches

    def _watch(self, rgb: Image, matches: list[FaceMatch], at: float) -> None:
        """Feed the subject to the liveness watch and mark it with the verdict."""
        assert self.liveness is not None
        index = pick_subject([m.box for m in matches], min_width=self.min_face_px)
        if index is None:
            return
        match = matches[index]
        seen = self.liveness.observe(rgb, match.box, at, person=match.person)
        identity = match.identity
        if seen.verdict.state is State.FAILED:
            # Unidentified, not "this person refused": a picture of a pupil is not the
            # pupil, and nothing downstream may count it as them.
            identity = Identity(None, identity.distance, Reason.LIVENESS_FAILED)
        matches[index] = replace(match, identity=identity, liveness=seen)
        if seen.prompted_at == at and self.on_prompt is not None:
            self.on_prompt()

    def subject(self, matches: Sequence[FaceMatch]) -> FaceMatch | None:
        """The face at the gate: the largest one at least ``min_face_px`` wide.

        None too while its liveness is pending: the gate neither opens nor refuses
        a face that has not had its chance to move yet.
        """
        index = pick_subject([m.box for m in matches], min_width=self.min_face_px)
        if index is None:
            return None
        match = matches[index]
        if self.liveness is not None and (
                match.liveness is None or match.liveness.verdict.state in UNDECIDED):
            return None
        return match

    def verify(self, person: str, matches: Sequence[FaceMatch]) -> Verification:
        """1:1 for a card tap: the subject's face against ``person``'s encodings only."""
        gallery = self.gallery
        index = pick_subject([m.box for m in matches], min_width=self.min_face_px)
        subject = None if index is None else matches[index]
        distance: float | None = None
        if subject is not None:
            distances = gallery.distance_to(person, subject.encoding)
            distance = distances[0] if distances else None
        verification = decide_verification(
            person, distance, enrolled=person in gallery, tolerance=self.tolerance
        )
        if verification.ok and self.liveness is not None:
            assert subject is not None
            live = subject.liveness
            # A tap is judged on the approach seen before it, never waited for: the
            # card path must answer at once (a pupil refused taps again a moment later).
            if live is None or not live.verdict.live:
                return replace(verification, ok=False, reason=Reason.LIVENESS_FAILED)
        return verification

    def verify_frame(self, person: str, bgr: Image) -> Verification:
        """1:1 straight from a frame: encodes only the subject, skips the 1:N search."""
        rgb, boxes = self.locate(bgr)
        index = pick_subject(boxes, min_width=self.min_face_px)
        distance: float | None = None
        gallery = self.gallery
        if index is not None and person in gallery:
            encoding = self.models.encode(rgb, [boxes[index]], jitters=self.jitters)
            distances = gallery.distance_to(person, encoding)
            distance = distances[0] if distances else None
        verification = decide_verification(
            person, distance, enrolled=person in gallery, tolerance=self.tolerance
        )
        if verification.ok and self.liveness is not None:
            # One frame cannot show motion: with liveness on, verify over an approach.
            return replace(verification, ok=False, reason=Reason.LIVENESS_FAILED)
        return verification


def crop(bgr: Image, box: Box, *, margin: float = 0.25) -> Image:
    """The face with ``margin`` of its size around it, clipped to the frame."""
    pad_y, pad_x = round(box.height * margin), round(box.width * margin)
    height, width = bgr.shape[:2]
    top, bottom = max(box.top - pad_y, 0), min(box.bottom + pad_y, height)
    left, right = max(box.left - pad_x, 0), min(box.right + pad_x, width)
    return np.ascontiguousarray(bgr[top:bottom, left:right])
