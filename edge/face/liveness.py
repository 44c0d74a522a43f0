"""Liveness beside the face pipeline: landmarks of the subject's face, frame by frame,
into :class:`faces.liveness.LivenessTracker`.

Only the subject (the face at the gate) is watched: one shape-predictor call per
frame, about a millisecond, and the eye cue's pixels (the face warped to 96x96, a
homography fitted to the approach's first face by ECC, two region means), a few
milliseconds, next to the hundreds of milliseconds of detection and encoding.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faces.decision import Box
from faces.imaging import Image
from faces.liveness import (
    DEFAULT_GAP_S,
    Cues,
    LivenessTracker,
    Mode,
    Thresholds,
    Verdict,
    both_eyes_ratio,
)
from faces.models import FaceModels

# The canonical face the eye cue compares: eye centres at (0.32, 0.38) and (0.68, 0.38)
# of a 96-pixel square (the eyes about 35 px apart: the set's faces, a gate's are larger).
CANON = 96
_FACE = (slice(19, 88), slice(15, 80))  # rows, columns: brow to chin, cheek to cheek
_EYES = ((slice(29, 43), slice(21, 40)), (slice(29, 43), slice(55, 74)))
# ECC coarse then fine, few iterations: 3 ms a frame here. Aligning at half size was
# cheaper still but let photos reach 0.07-0.12 (bench/liveness.py), above live eyes.
SIGMAS, ITER, EPS = (3.0, 1.5), 20, 1e-3


def canonical_face(rgb: Image, five: Sequence[tuple[float, float]]) -> Any:
    """The face in grey, scaled, turned and shifted so that its eye centres land on the
    canonical ones (float32, CANON x CANON)."""
    import cv2
    import numpy as np

    a = complex(*np.mean(five[0:2], axis=0))
    b = complex(*np.mean(five[2:4], axis=0))
    left, right = (a, b) if a.real < b.real else (b, a)
    target_left, target_right = complex(0.32 * CANON, 0.38 * CANON), complex(
        0.68 * CANON, 0.38 * CANON)
    k = (target_right - target_left) / (right - left) if right != left else 1.0
    shift = target_left - k * left
    matrix = np.array([[k.real, -k.imag, shift.real], [k.imag, k.real, shift.imag]])
    face = cv2.warpAffine(rgb, matrix, (CANON, CANON), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    return cv2.cvtColor(face, cv2.COLOR_RGB2GRAY).astype(np.float32)


def align_to(reference: Any, face: Any) -> Any:
    """``face`` warped onto ``reference`` by the homography that fits them best (ECC,
    coarse then fine): a flat picture moved or tilted is one homography, so what it
    leaves is noise and blur; a live face's eyes and brows are not on that plane's map."""
    import contextlib

    import cv2
    import numpy as np

    mask = np.zeros(reference.shape, np.uint8)
    mask[_FACE] = 1
    warp: Any = np.eye(3, dtype=np.float32)
    for sigma in SIGMAS:
        # No convergence (a badly placed crop) keeps the last warp: the level then
        # jumps for that frame, and the cue ignores its largest frame.
        with contextlib.suppress(cv2.error):
            _, warp = cv2.findTransformECC(
                cv2.GaussianBlur(reference, (0, 0), sigma), cv2.GaussianBlur(face, (0, 0), sigma),
                warp, cv2.MOTION_HOMOGRAPHY,
                (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, ITER, EPS), mask, 1)
    return cv2.warpPerspective(face, warp, (CANON, CANON),
                               flags=cv2.INTER_LINEAR + cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REPLICATE)


def eye_levels(aligned: Any) -> tuple[float, float]:
    """Mean brightness of the left and right eye regions in the face's own contrast
    units (z-scores over the face): exposure drift and a picture's paler print cancel."""
    import cv2

    smooth = cv2.GaussianBlur(aligned, (0, 0), 1.0)
    face = smooth[_FACE]
    spread = float(face.std()) or 1.0
    mean = float(face.mean())
    left, right = (float(smooth[eye].mean()) for eye in _EYES)
    return (left - mean) / spread, (right - mean) / spread


@dataclass(frozen=True, slots=True)
class Liveness:
    """The subject's liveness after one frame: the verdict so far and its cues."""

    verdict: Verdict
    cues: Cues
    started: float  # when this approach's first frame was seen (the caller's clock)
    decided_at: float | None  # when the verdict was reached, None while pending
    prompted_at: float | None = None  # when the turn prompt was asked for, if it was

    def as_dict(self) -> dict[str, object]:
        return {
            "verdict": self.verdict.state.value,
            "why": None if self.verdict.why is None else self.verdict.why.value,
            "cues": self.cues.as_dict(),
            "decided_after_s": None if self.decided_at is None
            else round(self.decided_at - self.started, 3),
            "prompted_after_s": None if self.prompted_at is None
            else round(self.prompted_at - self.started, 3),
        }


class LivenessWatch:
    def __init__(self, models: FaceModels, mode: Mode, limits: Thresholds | None = None, *,
                 gap_s: float = DEFAULT_GAP_S) -> None:
        if mode is Mode.OFF:
            raise ValueError("a liveness watch with mode off has nothing to watch")
        self.models = models
        self.mode = mode
        self.tracker = LivenessTracker(mode, limits or Thresholds(), gap_s=gap_s)
        self._reference: Any = None  # the approach's first canonical face (eye cue)

    def observe(self, rgb: Image, box: Box, at: float, *, person: str | None = None) -> Liveness:
        """One frame of the subject at ``box`` in ``rgb`` (full-resolution pixels)."""
        five = self.models.landmarks(rgb, box)
        ear = None
        if self.mode is Mode.BLINK:
            ear = both_eyes_ratio(self.models.landmarks(rgb, box, points=68))
        centre = ((box.left + box.right) / 2.0, (box.top + box.bottom) / 2.0, float(box.width))
        face = canonical_face(rgb, five)
        if self._reference is None or not self.tracker.continues(at, centre, person):
            self._reference = face  # the tracker starts a new approach with this frame
            eyes = eye_levels(face)
        else:
            eyes = eye_levels(align_to(self._reference, face))
        verdict = self.tracker.observe(at, centre, five, person=person, ear=ear, eyes=eyes)
        approach = self.tracker.current
        assert approach is not None
        return Liveness(verdict, approach.cues(), approach.started, approach.decided_at,
                        approach.prompted_at)

    def reset(self) -> None:
        self.tracker.reset()
        self._reference = None


@dataclass(frozen=True, slots=True)
class ApproachReport:
    """One tracked face of a video, as ``smartschool faces liveness`` prints it."""

    video: str
    first_s: float  # video time of the approach's first analysed frame
    last_s: float
    liveness: Liveness
    watch_ms: float  # landmarks + cues over the approach: what liveness adds to the frames
    frame_ms: float  # detection + landmarks over the approach (no encoding: no gallery here)

    def as_dict(self) -> dict[str, object]:
        return {
            "video": self.video,
            "first_s": round(self.first_s, 3),
            "last_s": round(self.last_s, 3),
            **self.liveness.as_dict(),
            "watch_ms": round(self.watch_ms, 2),
            "frame_ms": round(self.frame_ms, 2),
        }


def watch_video(path: Path, watch: LivenessWatch, *, fps: float = 5.0,
                detect_scale: float = 1.0, upsample: int = 0,
                min_face_px: int = 0) -> list[ApproachReport]:
    """Every approach in a video file, analysed at ``fps`` frames per second of video
    time (a gate analyses the newest frame it has time for, not every frame).

    Times are the video's, so the verdicts do not depend on this machine's speed.
    """
    import cv2
    import numpy as np

    from faces.decision import pick_subject
    from faces.imaging import fit, scale, to_rgb

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"{path}: not a readable video")
    rate = capture.get(cv2.CAP_PROP_FPS) or 30.0
    watch.reset()
    reports: dict[int, ApproachReport] = {}
    alive: list[object] = []  # holds every approach so that no id() is reused
    index, due = 0, 0.0
    try:
        while True:
            ok, raw = capture.read()
            if not ok or raw is None:
                break
            at = index / rate
            index += 1
            if at + 1e-9 < due:
                continue
            due += 1.0 / fps
            begun = time.perf_counter()
            rgb = to_rgb(fit(np.asarray(raw, dtype=np.uint8)))
            boxes = watch.models.detect(scale(rgb, detect_scale), upsample=upsample)
            if detect_scale != 1.0:
                boxes = [b.scaled(1.0 / detect_scale, shape=rgb.shape) for b in boxes]
            subject = pick_subject(boxes, min_width=min_face_px)
            if subject is None:
                continue
            watched = time.perf_counter()
            seen = watch.observe(rgb, boxes[subject], at)
            done = time.perf_counter()
            approach = watch.tracker.current
            assert approach is not None
            key = id(approach)
            if key not in reports:
                alive.append(approach)
            before = reports.get(key)
            reports[key] = ApproachReport(
                str(path), before.first_s if before else at, at, seen,
                (before.watch_ms if before else 0.0) + (done - watched) * 1000,
                (before.frame_ms if before else 0.0) + (done - begun) * 1000,
            )
    finally:
        capture.release()
    return sorted(reports.values(), key=lambda r: r.first_s)
