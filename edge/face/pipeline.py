"""One frame in, identified faces out: detect small, encode full, match once, decide.

The pipeline only computes; what the gate does with the answer (agreement over
frames, card verification, the relay) is the caller's, through the pure
functions of :mod:`faces.decision`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from edge.config.face import FaceConfig
from faces.decision import (
    DEFAULT_MARGIN,
    DEFAULT_TOLERANCE,
    Box,
    Candidate,
    Identity,
    Verification,
    decide_identity,
    decide_verification,
    pick_subject,
)
from faces.gallery import Gallery, Matrix
from faces.imaging import Image, scale, to_rgb
from faces.models import FaceModels


@dataclass(frozen=True, slots=True, eq=False)
class FaceMatch:
    """One face of a frame. ``encoding`` stays in memory: it is never stored or sent."""

    box: Box  # in the frame's own pixels
    identity: Identity
    second: Candidate | None  # the runner-up person, for tuning the margin
    encoding: Matrix = field(repr=False)

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

    @classmethod
    def from_config(cls, config: FaceConfig, gallery: Gallery) -> FacePipeline:
        return cls(
            FaceModels(config.model),
            gallery,
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

    def process(self, bgr: Image) -> list[FaceMatch]:
        """Every face of a BGR frame (as OpenCV delivers it), identified 1:N."""
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
        return matches

    def subject(self, matches: Sequence[FaceMatch]) -> FaceMatch | None:
        """The face at the gate: the largest one at least ``min_face_px`` wide."""
        index = pick_subject([m.box for m in matches], min_width=self.min_face_px)
        return None if index is None else matches[index]

    def verify(self, person: str, matches: Sequence[FaceMatch]) -> Verification:
        """1:1 for a card tap: the subject's face against ``person``'s encodings only."""
        gallery = self.gallery
        subject = self.subject(matches)
        distance: float | None = None
        if subject is not None:
            distances = gallery.distance_to(person, subject.encoding)
            distance = distances[0] if distances else None
        return decide_verification(
            person, distance, enrolled=person in gallery, tolerance=self.tolerance
        )

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
        return decide_verification(
            person, distance, enrolled=person in gallery, tolerance=self.tolerance
        )


def crop(bgr: Image, box: Box, *, margin: float = 0.25) -> Image:
    """The face with ``margin`` of its size around it, clipped to the frame."""
    pad_y, pad_x = round(box.height * margin), round(box.width * margin)
    height, width = bgr.shape[:2]
    top, bottom = max(box.top - pad_y, 0), min(box.bottom + pad_y, height)
    left, right = max(box.left - pad_x, 0), min(box.right + pad_x, width)
    return np.ascontiguousarray(bgr[top:bottom, left:right])
