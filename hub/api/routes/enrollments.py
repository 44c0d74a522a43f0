"""Face enrollment by photo upload: encodings computed here on the hub, photos discarded.

The face libraries (dlib, OpenCV) are imported on the first request, so a hub installed
without the `face` extra still serves every other route.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, File, HTTPException, UploadFile, status

from hub.api.deps import ConnDep, ContextDep, CurrentUser
from hub.api.responses import AUTHED, CONFLICT, FORBIDDEN, NOT_FOUND, TOO_LARGE
from hub.api.routes.records import CodePath, person_for
from hub.models import ApiModel

router = APIRouter(prefix="/api/v1", tags=["enrollments"],
                   responses=AUTHED | FORBIDDEN | NOT_FOUND)

MAX_PHOTOS: Final = 10
MAX_PHOTO_BYTES: Final = 10 * 1024 * 1024


def get_face_models() -> Any:
    from hub.records.faces import shared_models

    return shared_models()


FaceModelsDep = Annotated[Any, Depends(get_face_models)]


class CrossMatchPublic(ApiModel):
    photo: str
    looks_like: str
    distance: float


class EnrollmentPublic(ApiModel):
    person: str
    stored: int  # encodings added by this upload
    encodings: int  # encodings the person now has
    gallery_version: int | None
    warnings: list[CrossMatchPublic]


class FaceStatusPublic(ApiModel):
    person: str
    encodings: int


@router.post("/students/{code}/face", response_model=EnrollmentPublic,
             status_code=status.HTTP_201_CREATED, responses=CONFLICT | TOO_LARGE)
def enroll_face(conn: ConnDep, ctx: ContextDep, user: CurrentUser, models: FaceModelsDep,
                code: CodePath,
                photos: Annotated[list[UploadFile], File(description="Photos, one face each")],
                ) -> EnrollmentPublic:
    """Enroll from photos. 409 without the recorded consents; 422 naming each photo that
    does not hold exactly one face, and then nothing is stored."""
    from faces.enroll import Refusal
    from hub.records.faces import MAX_PIXELS, ConsentMissing, enroll_photos, enrolled_count

    person = person_for(conn, user, code)
    if not 1 <= len(photos) <= MAX_PHOTOS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"send 1 to {MAX_PHOTOS} photos")
    uploads = []
    for number, photo in enumerate(photos, 1):
        data = photo.file.read(MAX_PHOTO_BYTES + 1)
        if len(data) > MAX_PHOTO_BYTES:
            raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                                f"photo {number}: at most {MAX_PHOTO_BYTES // 2**20} MiB")
        uploads.append((photo.filename or f"photo {number}", data))
    try:
        outcome = enroll_photos(conn, models, person, uploads,
                                today=dt.datetime.now(ctx.tz).date(),
                                created_by=user.username)
    except ConsentMissing as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    if outcome.refused:
        message = "every photo must show exactly one face; nothing was stored"
        if any(r.reason == Refusal.TOO_MANY_PIXELS for r in outcome.refused):
            message += f" (and have at most {MAX_PIXELS} pixels)"
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {
            "message": message,
            "refused": [{"photo": r.photo, "reason": str(r.reason), "faces": r.faces}
                        for r in outcome.refused],
        })
    return EnrollmentPublic(
        person=person.code, stored=outcome.stored, encodings=enrolled_count(conn, person),
        gallery_version=outcome.gallery_version,
        warnings=[CrossMatchPublic(photo=w.photo, looks_like=w.other, distance=w.distance)
                  for w in outcome.warnings],
    )


@router.get("/students/{code}/face", response_model=FaceStatusPublic)
def read_face(conn: ConnDep, user: CurrentUser, code: CodePath) -> FaceStatusPublic:
    from hub.records.faces import enrolled_count

    person = person_for(conn, user, code)
    return FaceStatusPublic(person=person.code, encodings=enrolled_count(conn, person))


@router.delete("/students/{code}/face", response_model=FaceStatusPublic)
def delete_face(conn: ConnDep, user: CurrentUser, code: CodePath) -> FaceStatusPublic:
    """Delete the pupil's encodings (consent stays recorded); the gates resync."""
    from hub.records.faces import delete_enrollment

    person = person_for(conn, user, code)
    delete_enrollment(conn, person)
    return FaceStatusPublic(person=person.code, encodings=0)
