"""Image loading and resizing, done the way a camera would deliver frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]

MAX_SIDE = 1280  # a 720p camera frame; larger photos only cost detection time
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})


class ImageError(Exception):
    pass


def fit(image: Image, max_side: int = MAX_SIDE) -> Image:
    """Scale down (never up) so the longer side is at most ``max_side``."""
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return image
    size = (max(round(width * scale), 1), max(round(height * scale), 1))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def letterbox(image: Image, width: int, height: int) -> Image:
    """Exactly ``width`` x ``height``: scaled to fit, padded with black.

    Padding rather than cropping keeps every face of a portrait photo in frame.
    """
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    size = (max(round(w * scale), 1), max(round(h * scale), 1))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, size, interpolation=interpolation)
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    top, left = (height - size[1]) // 2, (width - size[0]) // 2
    canvas[top : top + size[1], left : left + size[0]] = resized
    return canvas


def scale(image: Image, factor: float) -> Image:
    if factor == 1.0:
        return image
    height, width = image.shape[:2]
    size = (max(round(width * factor), 1), max(round(height * factor), 1))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(image, size, interpolation=interpolation), dtype=np.uint8)


def load_bgr(path: Path, max_side: int | None = MAX_SIDE) -> Image:
    """A photo as a BGR frame (OpenCV's order, as a camera delivers), at most ``max_side``."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageError(f"{path}: not a readable image")
    frame = np.asarray(image, dtype=np.uint8)
    return fit(frame, max_side) if max_side else frame


def to_rgb(bgr: Image) -> Image:
    """dlib wants RGB; OpenCV delivers BGR."""
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def image_files(directory: Path) -> list[Path]:
    return sorted(
        p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
