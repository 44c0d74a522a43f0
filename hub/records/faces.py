"""Face enrollment on the hub: uploaded photos -> encodings in face_enrollments.

The photos live for the length of the request and are never stored; only the 128 float32
values per face are. (Starlette spools an upload larger than 1 MiB to a temporary file that
it deletes when the request ends; a deployment that must avoid even that puts the hub's
temporary directory on tmpfs.) All or nothing: a batch with any photo
that does not hold exactly one face stores nothing, so the clerk fixes the batch rather
than wondering which half went in.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final

import numpy as np

from faces.enroll import CrossMatch, Refusal, RefusedPhoto, enroll
from faces.gallery import Gallery, GalleryEntry
from faces.imaging import MAX_SIDE, Image, fit
from faces.models import FaceModels
from hub.db import Conn
from hub.records.consent import (
    Person,
    active_consents,
    bump_gallery,
    consent_refusal,
    find_person,
    person_sql,
)
from protocol.sync import ENCODING_BYTES

# Encodings stored as little-endian float32 whatever the hub's CPU, so a gallery built
# on another machine reads them the same.
ENCODING_DTYPE: Final = np.dtype("<f4")
# A photo is refused from its header above this: phone cameras take 12 to 50 MP.
MAX_PIXELS: Final = 64_000_000

_models: FaceModels | None = None
_models_lock = threading.Lock()


def shared_models() -> FaceModels:
    """One set of dlib models per process, loaded on the first enrollment (about 0.6 s)."""
    global _models  # noqa: PLW0603 - a process-wide cache of heavy, read-only models
    with _models_lock:
        if _models is None:
            _models = FaceModels()
        return _models


class ConsentMissing(Exception):
    """Enrollment refused: the consents the law asks for are not all recorded."""


@dataclass(frozen=True, slots=True)
class EnrollOutcome:
    person: str
    stored: int  # encodings written; 0 when any photo was refused
    refused: list[RefusedPhoto] = field(default_factory=list)
    warnings: list[CrossMatch] = field(default_factory=list)
    gallery_version: int | None = None


class PhotoTooLarge(ValueError):
    """The photo's header declares more than MAX_PIXELS pixels."""


def header_pixels(data: bytes) -> int | None:
    """Width x height from the image's header; None if it is not an image Pillow knows.
    Raises PhotoTooLarge when Pillow itself finds the size absurd.

    Pillow's ``Image.open`` reads only the header: nothing is decoded here.
    """
    import warnings

    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow's own bomb guard warns (or raises, far above our cap): the size is
            # what we want to know, and MAX_PIXELS decides.
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as image:
                width, height = image.size
    except PILImage.DecompressionBombError as exc:  # far above MAX_PIXELS
        raise PhotoTooLarge(f"{exc}; the limit is {MAX_PIXELS} pixels") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    return width * height


def decode_photo(data: bytes, max_side: int = MAX_SIDE) -> Image | None:
    """The photo as an image fitted to ``max_side``; None if it is not an image.

    Raises PhotoTooLarge, from the header alone, over MAX_PIXELS: a PNG of a few kB can
    declare 2^30 pixels, which OpenCV would try to allocate.
    """
    import cv2

    if not data:
        return None
    pixels = header_pixels(data)
    if pixels is None:
        return None
    if pixels > MAX_PIXELS:
        raise PhotoTooLarge(f"{pixels} pixels, the limit is {MAX_PIXELS} pixels")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None
    return fit(np.asarray(image, dtype=np.uint8), max_side)


def encoding_bytes(vector: np.typing.NDArray[np.float32]) -> bytes:
    return np.ascontiguousarray(vector, dtype=ENCODING_DTYPE).tobytes()


def encoding_from_bytes(data: bytes) -> np.typing.NDArray[np.float32]:
    if len(data) != ENCODING_BYTES:
        raise ValueError(f"an encoding is {ENCODING_BYTES} bytes, got {len(data)}")
    return np.frombuffer(data, dtype=ENCODING_DTYPE).astype(np.float32)


def school_gallery(conn: Conn, school: str, *, without: str | None = None) -> Gallery:
    """The enrolled encodings of a school, to warn when a new photo looks like someone else."""
    rows = conn.execute(
        """
        select coalesce(st.code, sf.code), e.encoding from face_enrollments e
        left join students st on st.id = e.student_id
        left join staff sf on sf.id = e.staff_id
        where coalesce(st.school_id, sf.school_id) = %s
        order by 1, e.id
        """,
        (school,),
    ).fetchall()
    grouped: dict[str, list[np.typing.NDArray[np.float32]]] = {}
    for code, data in rows:
        if code != without:
            grouped.setdefault(str(code), []).append(encoding_from_bytes(bytes(data)))
    return Gallery(
        GalleryEntry(code, "recorded", np.vstack(vectors)) for code, vectors in grouped.items()
    )


def _consent_check(conn: Conn, person: Person, today: date) -> list[int]:
    consents = active_consents(conn, person)
    refusal = consent_refusal(person.kind, person.birth_date, today,
                              (c.given_by_role for c in consents))
    if refusal is not None:
        raise ConsentMissing(f"{person.code}: {refusal}")
    return [c.id for c in consents]


def enroll_photos(conn: Conn, models: FaceModels, person: Person,
                  photos: Sequence[tuple[str, bytes]], *, today: date,
                  created_by: str) -> EnrollOutcome:
    # Checked before a single photo is decoded: without consent, no biometric processing
    # at all, not even a throw-away encoding.
    consent_ids = _consent_check(conn, person, today)
    refused: list[RefusedPhoto] = []
    decoded: list[tuple[str, Image]] = []
    for name, data in photos:
        try:
            image = decode_photo(data)
        except PhotoTooLarge:
            refused.append(RefusedPhoto(name, Refusal.TOO_MANY_PIXELS))
            continue
        if image is None:
            refused.append(RefusedPhoto(name, Refusal.UNREADABLE))
        else:
            decoded.append((name, image))
    others = school_gallery(conn, person.school_id, without=person.code)
    result = enroll(models, others, person.code, f"consents {consent_ids}", decoded)
    refused += result.refused
    if refused or result.entry is None:
        return EnrollOutcome(person.code, 0, refused, result.warnings)
    with conn.transaction():
        locked = find_person(conn, person.code, lock=True)
        if locked is None:
            raise ConsentMissing(f"{person.code}: the person was removed meanwhile")
        # Again under the row lock: a withdrawal may have landed while the photos encoded.
        consent_ids = _consent_check(conn, locked, today)
        with conn.cursor() as cur:
            cur.executemany(
                person_sql("insert into face_enrollments ({column}, encoding, created_by,"
                           " consent_ids) values (%s, %s, %s, %s)", locked),
                [(locked.id, encoding_bytes(v), created_by, consent_ids)
                 for v in result.entry.encodings],
            )
        version = bump_gallery(conn, locked.school_id, f"enrolled: {locked.code}")
    return EnrollOutcome(person.code, len(result.entry.encodings), [], result.warnings, version)


def enrolled_count(conn: Conn, person: Person) -> int:
    row = conn.execute(
        person_sql("select count(*) from face_enrollments where {column} = %s", person),
        (person.id,),
    ).fetchone()
    return int(row[0]) if row else 0


def delete_enrollment(conn: Conn, person: Person) -> int:
    with conn.transaction():
        deleted = conn.execute(
            person_sql("delete from face_enrollments where {column} = %s", person),
            (person.id,),
        ).rowcount
        if deleted:
            bump_gallery(conn, person.school_id, f"enrollment deleted: {person.code}")
    return deleted
