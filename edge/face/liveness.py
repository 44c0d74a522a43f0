"""Liveness beside the face pipeline: landmarks of the subject's face, frame by frame,
into :class:`faces.liveness.LivenessTracker`.

Only the subject (the face at the gate) is watched: one shape-predictor call per
frame, about a millisecond, next to the tens of milliseconds of detection and
encoding the frame costs anyway.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True, slots=True)
class Liveness:
    """The subject's liveness after one frame: the verdict so far and its cues."""

    verdict: Verdict
    cues: Cues
    started: float  # when this approach's first frame was seen (the caller's clock)
    decided_at: float | None  # when the verdict was reached, None while pending

    def as_dict(self) -> dict[str, object]:
        return {
            "verdict": self.verdict.state.value,
            "why": None if self.verdict.why is None else self.verdict.why.value,
            "cues": self.cues.as_dict(),
            "decided_after_s": None if self.decided_at is None
            else round(self.decided_at - self.started, 3),
        }


class LivenessWatch:
    def __init__(self, models: FaceModels, mode: Mode, limits: Thresholds | None = None, *,
                 gap_s: float = DEFAULT_GAP_S) -> None:
        if mode is Mode.OFF:
            raise ValueError("a liveness watch with mode off has nothing to watch")
        self.models = models
        self.mode = mode
        self.tracker = LivenessTracker(mode, limits or Thresholds(), gap_s=gap_s)

    def observe(self, rgb: Image, box: Box, at: float, *, person: str | None = None) -> Liveness:
        """One frame of the subject at ``box`` in ``rgb`` (full-resolution pixels)."""
        five = self.models.landmarks(rgb, box)
        ear = None
        if self.mode is Mode.BLINK:
            ear = both_eyes_ratio(self.models.landmarks(rgb, box, points=68))
        centre = ((box.left + box.right) / 2.0, (box.top + box.bottom) / 2.0, float(box.width))
        verdict = self.tracker.observe(at, centre, five, person=person, ear=ear)
        approach = self.tracker.current
        assert approach is not None
        return Liveness(verdict, approach.cues(), approach.started, approach.decided_at)

    def reset(self) -> None:
        self.tracker.reset()


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
