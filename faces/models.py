"""The dlib models behind face_recognition, loaded directly and only the ones used.

These are the calls face_recognition makes (same model files from
face_recognition_models, same detector, 5-point landmarks and ResNet encoder;
the tests check the encodings are equal), without ``import face_recognition``,
which loads all four models at import: on this machine 194 MB resident against
68 MB for the three a gate uses. The fourth, the 68-point landmark model, is
also licensed for non-commercial use only, so a school deployment must not need it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from faces.decision import Box
from faces.gallery import Matrix
from faces.imaging import Image
from protocol.sync import ENCODING_DIM

DetectorModel = Literal["hog", "cnn"]


@dataclass(frozen=True, slots=True)
class BuildInfo:
    """Which dlib is running: the encoder is 8x faster against BLAS."""

    version: str
    blas: bool
    distribution: str  # "dlib-bin", "dlib" (source build) or "unknown"

    def as_dict(self) -> dict[str, object]:
        return {"dlib": self.version, "blas": self.blas, "distribution": self.distribution}


# dlib built against the system OpenBLAS and numpy's bundled OpenBLAS each start a
# thread per core; on a 2-core gate they fight and one encoding takes twice as long.
# One thread each: a gate encodes one face at a time anyway. Read when dlib loads.
BLAS_THREADS = "1"


def _import_dlib() -> Any:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", BLAS_THREADS)
    import dlib

    return dlib


def dlib_build() -> BuildInfo:
    from importlib import metadata
    from pathlib import Path

    dlib = _import_dlib()
    here = Path(dlib.__file__).resolve()
    owner = "unknown"
    for dist in ("dlib-bin", "dlib"):
        try:
            files = metadata.distribution(dist).files or []
        except metadata.PackageNotFoundError:
            continue
        if any(Path(str(f.locate())).resolve() == here for f in files):
            owner = dist
    return BuildInfo(str(dlib.__version__), bool(getattr(dlib, "DLIB_USE_BLAS", False)), owner)


class FaceModels:
    """Detector, landmarks and encoder, loaded on first use.

    dlib releases the GIL in these calls but its models are not documented as
    thread-safe, so one lock serialises them; a gate runs one pipeline thread.
    """

    def __init__(self, detector: DetectorModel = "hog") -> None:
        if detector not in ("hog", "cnn"):
            raise ValueError(f"detector model is 'hog' or 'cnn', got {detector!r}")
        self.detector_model: DetectorModel = detector
        self._lock = threading.Lock()
        self._detector: Any = None
        self._landmarks: Any = None
        self._encoder: Any = None
        self._landmarks68: Any = None  # only for liveness: blink, an explicit opt-in

    def load(self) -> FaceModels:
        """Load now rather than on the first frame (about 0.6 s)."""
        with self._lock:
            self._load()
        return self

    def _load(self) -> None:
        if self._encoder is not None:
            return
        import importlib

        dlib = _import_dlib()
        # Untyped, and not in pyproject's mypy overrides: imported as a plain module.
        files: Any = importlib.import_module("face_recognition_models")
        if self.detector_model == "cnn":
            self._detector = dlib.cnn_face_detection_model_v1(
                files.cnn_face_detector_model_location()
            )
        else:
            self._detector = dlib.get_frontal_face_detector()
        self._landmarks = dlib.shape_predictor(files.pose_predictor_five_point_model_location())
        self._encoder = dlib.face_recognition_model_v1(files.face_recognition_model_location())

    def detect(self, rgb: Image, *, upsample: int = 0) -> list[Box]:
        """Face boxes in ``rgb`` (H, W, 3 uint8, RGB order), clipped to the image.

        ``upsample`` doubles the image that many times first: it finds smaller faces
        at about 4x the cost each time. A gate camera sees faces large; 0 suffices.
        """
        with self._lock:
            self._load()
            found = self._detector(rgb, upsample)
        height, width = rgb.shape[:2]
        boxes = []
        for item in found:
            rect = item.rect if self.detector_model == "cnn" else item
            boxes.append(
                Box(
                    max(rect.top(), 0),
                    min(rect.right(), width),
                    min(rect.bottom(), height),
                    max(rect.left(), 0),
                )
            )
        return boxes

    def encode(self, rgb: Image, boxes: Sequence[Box], *, jitters: int = 0) -> Matrix:
        """(len(boxes), 128) float32 encodings of the faces at ``boxes`` in ``rgb``.

        ``jitters`` > 0 averages that many perturbed crops: steadier encodings at
        that many times the cost; worth it for enrollment photos, not for frames.
        """
        if not boxes:
            return np.empty((0, ENCODING_DIM), dtype=np.float32)
        dlib = _import_dlib()
        with self._lock:
            self._load()
            shapes = dlib.full_object_detections()
            for box in boxes:
                shapes.append(
                    self._landmarks(rgb, dlib.rectangle(box.left, box.top, box.right, box.bottom))
                )
            # One call for all faces of the frame: dlib batches them through the network.
            vectors = self._encoder.compute_face_descriptor(rgb, shapes, jitters)
        return np.ascontiguousarray(np.array(vectors, dtype=np.float32))

    def landmarks(self, rgb: Image, box: Box, *, points: Literal[5, 68] = 5) -> list[
            tuple[float, float]]:
        """The face's landmarks at ``box``: dlib's 5 points (eye corners, nose base), or
        its 68, whose model is licensed for non-commercial use only and is loaded only
        when asked for (liveness ``blink``)."""
        dlib = _import_dlib()
        rect = dlib.rectangle(box.left, box.top, box.right, box.bottom)
        with self._lock:
            self._load()
            if points == 68:
                if self._landmarks68 is None:
                    import importlib

                    files: Any = importlib.import_module("face_recognition_models")
                    self._landmarks68 = dlib.shape_predictor(
                        files.pose_predictor_model_location())
                shape = self._landmarks68(rgb, rect)
            else:
                shape = self._landmarks(rgb, rect)
        return [(float(p.x), float(p.y)) for p in shape.parts()]
