"""Enrollment: photos of one consented person -> a gallery entry, with refusals and warnings.

Runs on the hub (or the `faces` tool); the gate only ever receives the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np

from faces.decision import DEFAULT_MARGIN, DEFAULT_TOLERANCE, Box
from faces.gallery import ConsentRequired, Gallery, GalleryEntry, Matrix
from faces.imaging import MAX_SIDE, Image, ImageError, load_bgr, to_rgb
from faces.models import FaceModels

# Photos are not frames: find small faces too, an extra face in the background
# must be seen so that the photo is refused rather than the wrong face enrolled.
ENROLL_UPSAMPLE = 1


class Refusal(StrEnum):
    NO_FACE = "no-face"
    SEVERAL_FACES = "several-faces"
    UNREADABLE = "unreadable"
    # The header declares more pixels than the hub decodes (hub.records.faces.MAX_PIXELS).
    TOO_MANY_PIXELS = "too-many-pixels"


@dataclass(frozen=True, slots=True)
class RefusedPhoto:
    photo: str
    reason: Refusal
    faces: int = 0


@dataclass(frozen=True, slots=True)
class CrossMatch:
    """A photo of ``person`` that is as close to another enrolled person as a match."""

    photo: str
    other: str
    distance: float


@dataclass(frozen=True, slots=True, eq=False)
class Enrollment:
    person: str
    entry: GalleryEntry | None  # None when every photo was refused
    accepted: list[str] = field(default_factory=list)
    refused: list[RefusedPhoto] = field(default_factory=list)
    warnings: list[CrossMatch] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Something to enroll and nothing that needs a human look."""
        return self.entry is not None and not self.warnings


Photo = Path | tuple[str, Image]  # a file, or (name, BGR image) already in memory


def enroll(
    models: FaceModels,
    gallery: Gallery,
    person: str,
    consent: str | None,
    photos: Sequence[Photo],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    margin: float = DEFAULT_MARGIN,
    upsample: int = ENROLL_UPSAMPLE,
    jitters: int = 0,
    max_side: int = MAX_SIDE,
) -> Enrollment:
    """Encode each photo that holds exactly one face; refuse the others with a reason.

    An accepted photo closer than ``tolerance + margin`` to a *different* enrolled
    person is returned as a warning: enrolled as is, it would make both persons
    ambiguous or, worse, identify one as the other (a mix-up of names or photos).
    Whether to go ahead is a human's call; the entry is built either way.
    """
    # Checked before a single photo is decoded: without consent, no biometric
    # processing at all, not even a throw-away encoding.
    if consent is None or not consent.strip():
        raise ConsentRequired(
            f"{person}: no consent reference; enrollment needs the recorded consent of the "
            "person (or guardian)"
        )
    accepted: list[str] = []
    refused: list[RefusedPhoto] = []
    warnings: list[CrossMatch] = []
    encodings: list[Matrix] = []
    others = gallery.without(person) if person in gallery else gallery
    for photo in photos:
        if isinstance(photo, Path):
            name = str(photo)
            try:
                bgr = load_bgr(photo, max_side)
            except ImageError:
                refused.append(RefusedPhoto(name, Refusal.UNREADABLE))
                continue
        else:
            name, bgr = photo
        rgb = to_rgb(bgr)
        boxes: list[Box] = models.detect(rgb, upsample=upsample)
        if len(boxes) != 1:
            reason = Refusal.NO_FACE if not boxes else Refusal.SEVERAL_FACES
            refused.append(RefusedPhoto(name, reason, len(boxes)))
            continue
        encoding = models.encode(rgb, boxes, jitters=jitters)
        best = others.match(encoding)[0].best
        if best is not None and best.distance <= tolerance + margin:
            warnings.append(CrossMatch(name, best.person, best.distance))
        accepted.append(name)
        encodings.append(encoding)
    entry = GalleryEntry(person, consent, np.vstack(encodings)) if encodings else None
    return Enrollment(person, entry, accepted, refused, warnings)


def enroll_folder(
    models: FaceModels,
    folder: Path,
    *,
    consent: str,
    tolerance: float = DEFAULT_TOLERANCE,
    margin: float = DEFAULT_MARGIN,
    upsample: int = ENROLL_UPSAMPLE,
) -> tuple[Gallery, list[Enrollment]]:
    """A gallery from ``folder/<person>/<photo>``, persons in name order.

    Each person is checked against those enrolled before them, so a photo filed
    under the wrong name is flagged (on the later of the two names).
    """
    from faces.imaging import image_files

    gallery = Gallery()
    results = []
    for directory in sorted(p for p in folder.iterdir() if p.is_dir()):
        result = enroll(
            models,
            gallery,
            directory.name,
            consent,
            image_files(directory),
            tolerance=tolerance,
            margin=margin,
            upsample=upsample,
        )
        results.append(result)
        if result.entry is not None:
            gallery = gallery.plus(result.entry)
    return gallery, results
