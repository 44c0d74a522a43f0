"""The eye cue's pixels (edge.face.liveness): a flat picture moved or tilted keeps its
eye levels once aligned; eyes that change do not. Synthetic images, no dlib."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.face.liveness import CANON, align_to, canonical_face, eye_levels
from faces.liveness import DEFAULT_EYES

# dlib's 5 points on the synthetic face: eye corners (outer, inner) twice, nose base.
FIVE = [(60.0, 100.0), (90.0, 100.0), (150.0, 100.0), (120.0, 100.0), (105.0, 140.0)]


def face_image(seed: int = 1) -> np.ndarray:
    """A textured 'face': smooth blobs, darker eyes where the five points put them."""
    rng = np.random.default_rng(seed)
    grey = cv2.GaussianBlur(rng.uniform(60, 200, (240, 240)).astype(np.float32), (0, 0), 4)
    for x in (75, 135):
        cv2.ellipse(grey, (x, 100), (16, 7), 0, 0, 360, 40, -1)
    return np.dstack([grey] * 3).clip(0, 255).astype(np.uint8)


def tilt(image: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """The picture turned out of its plane about the vertical axis (perspective)."""
    h, w = image.shape[:2]
    a, f = np.radians(degrees), 1.5 * w
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    centred = np.c_[corners - (w / 2, h / 2), np.zeros(4)]
    turned = centred @ np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0],
                                 [-np.sin(a), 0, np.cos(a)]]).T
    turned[:, 2] += f
    target = (turned[:, :2] / turned[:, 2:3] * f + (w / 2 + 6, h / 2 - 4)).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(corners, target)
    return cv2.warpPerspective(image, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE), matrix


def moved_points(matrix: np.ndarray, jitter: float) -> list[tuple[float, float]]:
    points = cv2.perspectiveTransform(np.float32([FIVE]), matrix)[0]
    # a landmark model places the points a pixel or so off: the ECC fit must absorb it
    points += np.float32([[jitter, -jitter]] * 5)
    return [(float(x), float(y)) for x, y in points]


def test_canonical_face_puts_the_eyes_in_place() -> None:
    face = canonical_face(face_image(), FIVE)
    assert face.shape == (CANON, CANON) and face.dtype == np.float32
    # the dark eye ellipses land on the canonical eye rows, the cheeks below stay light
    assert face[36, 31] < 80 and face[36, 65] < 80 and face[60, 48] > 80


@pytest.mark.parametrize(("degrees", "jitter"), [(0.0, 1.0), (12.0, 0.0), (20.0, 1.5)])
def test_a_tilted_picture_keeps_its_eye_levels(degrees: float, jitter: float) -> None:
    image = face_image()
    reference = canonical_face(image, FIVE)
    turned, matrix = tilt(image, degrees)
    current = canonical_face(turned, moved_points(matrix, jitter))
    before, after = eye_levels(reference), eye_levels(align_to(reference, current))
    unaligned = eye_levels(current)
    # the cue takes the smaller of the two eyes' changes: it stays under the line
    assert min(abs(a - b) for a, b in zip(before, after, strict=True)) < DEFAULT_EYES / 1.5
    if degrees:  # and the homography is what keeps it there
        assert max(abs(a - b) for a, b in zip(before, unaligned, strict=True)) > DEFAULT_EYES


def test_eyes_that_change_change_the_levels() -> None:
    image = face_image()
    reference = canonical_face(image, FIVE)
    shut = image.copy()
    for x in (75, 135):  # lids over both eyes: skin where the dark eye was
        cv2.ellipse(shut, (x, 100), (16, 7), 0, 0, 360, (150, 150, 150), -1)
    turned, matrix = tilt(shut, 8.0)
    after = eye_levels(align_to(reference, canonical_face(turned, moved_points(matrix, 0.5))))
    before = eye_levels(reference)
    assert min(b - a for a, b in zip(before, after, strict=True)) > 0.3
