"""``smartschool faces ...``: identify faces in photos, build and inspect encrypted galleries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from faces.decision import DEFAULT_MARGIN, DEFAULT_TOLERANCE
from faces.liveness import DEFAULT_BUDGET_S, DEFAULT_EYES, DEFAULT_NONRIGID, DEFAULT_PROMPT_S
from smartschool.cli.support import fail

app = typer.Typer(help="Face recognition tools for gates (identify, enroll, keygen, "
                       "liveness).",
                  no_args_is_help=True)

# Photo tools accept looser settings than a gate (up to face_recognition's 0.6 and
# beyond) so that an operator can see where a borderline face would fall.
TOLERANCE_MAX = 1.0


def _load_gallery(source: Path, models: object, upsample: int) -> object:
    from faces.enroll import enroll_folder
    from faces.gallery import Gallery, GalleryError
    from faces.keys import GalleryKeyError
    from faces.models import FaceModels

    if source.is_dir():
        assert isinstance(models, FaceModels)
        # Photos the operator points at on their own machine; the gallery lives in
        # memory for this run only and is never written.
        gallery, results = enroll_folder(
            models, source, consent=f"operator:{source}", upsample=max(upsample, 1)
        )
        for result in results:
            for refused in result.refused:
                typer.echo(f"gallery: {refused.photo}: refused ({refused.reason})", err=True)
            for warning in result.warnings:
                typer.echo(
                    f"gallery: {warning.photo}: looks like {warning.other} "
                    f"(distance {warning.distance:.3f})",
                    err=True,
                )
        return gallery
    try:
        return Gallery.load(source)
    except (GalleryError, GalleryKeyError) as exc:
        raise fail(str(exc)) from None


@app.command()
def identify(
    images: Annotated[list[Path], typer.Argument(help="Photos to identify", show_default=False)],
    gallery: Annotated[
        Path,
        typer.Option(
            "--gallery",
            "-g",
            help="DIR/<person>/<photo> to enroll on the fly, or an encrypted gallery file "
            "(key from SMARTSCHOOL_GALLERY_KEY)",
            show_default=False,
        ),
    ],
    tolerance: Annotated[
        float, typer.Option(min=0.0, max=TOLERANCE_MAX, help="Largest distance that matches")
    ] = DEFAULT_TOLERANCE,
    margin: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Best person must beat the second by this")
    ] = DEFAULT_MARGIN,
    model: Annotated[
        str, typer.Option(help="Face detector: hog or cnn (slow without a GPU)")
    ] = "hog",
    upsample: Annotated[
        int, typer.Option(min=0, max=3, help="Upsample photos this many times to find small faces")
    ] = 1,
    max_side: Annotated[
        int, typer.Option(min=160, max=8000, help="Scale photos down to this, as a camera would")
    ] = 1280,
) -> None:
    """Print one JSON line per face found: {"image", "person" (or null), "distance", "box"}."""
    from edge.face.pipeline import FacePipeline
    from faces.gallery import Gallery
    from faces.imaging import ImageError, load_bgr
    from faces.models import FaceModels

    if model not in ("hog", "cnn"):
        raise fail(f"--model is hog or cnn, not {model!r}")
    detector: Literal["hog", "cnn"] = "cnn" if model == "cnn" else "hog"
    if not gallery.exists():
        raise fail(f"no such gallery: {gallery}")
    models = FaceModels(detector).load()
    known = _load_gallery(gallery, models, upsample)
    assert isinstance(known, Gallery)
    if len(known) == 0:
        raise fail(f"the gallery {gallery} enrolls nobody")
    pipeline = FacePipeline(
        models, known, tolerance=tolerance, margin=margin, detect_scale=1.0, upsample=upsample
    )
    missing = 0
    for image in images:
        try:
            frame = load_bgr(image, max_side)
        except ImageError as exc:
            typer.echo(str(exc), err=True)
            missing += 1
            continue
        matches = pipeline.process(frame)
        if not matches:
            typer.echo(f"{image}: no face", err=True)
        for match in matches:
            distance = None if match.distance is None else round(match.distance, 4)
            record = {
                "image": str(image),
                "person": match.person,
                "distance": distance,
                "box": match.box.as_list(),
            }
            typer.echo(json.dumps(record, ensure_ascii=False))
    if missing:
        raise typer.Exit(1)


@app.command()
def enroll(
    photos: Annotated[
        Path, typer.Argument(help="DIR/<person>/<photo>: several photos per person",
                             show_default=False)
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Encrypted gallery file to write",
                           show_default=False)
    ],
    consent: Annotated[
        Path,
        typer.Option(
            help="CSV 'person,consent-reference' (one line per consented person); persons "
            "without a line are not enrolled",
            show_default=False,
        ),
    ],
    strict: Annotated[
        bool, typer.Option(help="Exit 1 when a photo looks like a different person")
    ] = True,
) -> None:
    """Build an encrypted gallery (key from SMARTSCHOOL_GALLERY_KEY) from photos."""
    import csv

    from faces.enroll import enroll as enroll_person
    from faces.gallery import Gallery
    from faces.imaging import image_files
    from faces.keys import GalleryKeyError, require_key
    from faces.models import FaceModels

    try:
        require_key()  # before any photo is read: no key, no biometric processing
    except GalleryKeyError as exc:
        raise fail(str(exc)) from None
    with consent.open(encoding="utf-8", newline="") as handle:
        consents = {
            row[0].strip(): row[1].strip()
            for row in csv.reader(handle)
            if len(row) >= 2 and row[0].strip() and row[1].strip()
        }
    models = FaceModels().load()
    gallery = Gallery()
    flagged = False
    for directory in sorted(p for p in photos.iterdir() if p.is_dir()):
        person = directory.name
        if person not in consents:
            typer.echo(f"{person}: no consent on record, not enrolled", err=True)
            continue
        result = enroll_person(models, gallery, person, consents[person], image_files(directory))
        for refused in result.refused:
            typer.echo(f"{person}: {refused.photo}: refused ({refused.reason})", err=True)
        for warning in result.warnings:
            flagged = True
            typer.echo(
                f"{person}: {warning.photo} looks like {warning.other} "
                f"(distance {warning.distance:.3f})",
                err=True,
            )
        if result.entry is not None:
            gallery = gallery.plus(result.entry)
            typer.echo(f"{person}: {len(result.accepted)} photo(s) enrolled")
    gallery.save(out)
    typer.echo(f"{out}: {len(gallery)} persons, {gallery.rows} encodings, encrypted")
    if flagged and strict:
        raise typer.Exit(1)


@app.command()
def keygen() -> None:
    """Print a new gallery key (store it as the systemd credential gallery_key)."""
    from faces.keys import new_key

    typer.echo(new_key().decode("ascii"))


@app.command()
def liveness(
    videos: Annotated[list[Path], typer.Argument(help="Video files (or a camera recording) "
                                                      "of approaches to the gate",
                                                 show_default=False)],
    mode: Annotated[str, typer.Option(help="motion (5-point landmarks and the eye regions' "
                                           "pixels) or blink (motion, or a blink from the "
                                           "68-point model: non-commercial licence, needs "
                                           "--accept-68-point-licence)")] = "motion",
    fps: Annotated[float, typer.Option(min=1.0, max=30.0, help="Frames analysed per second "
                                       "of video, as many as the gate manages")] = 5.0,
    budget: Annotated[float, typer.Option(min=0.5, max=5.0, help="Seconds an approach has to "
                                          "show it is live (face.liveness_budget_s)")] =
        DEFAULT_BUDGET_S,
    nonrigid: Annotated[float, typer.Option(min=0.01, max=0.5, help="Non-rigid motion that "
                                            "shows a live head (face.liveness_nonrigid)")] =
        DEFAULT_NONRIGID,
    eyes: Annotated[float, typer.Option(min=0.01, max=1.0, help="Eye-region change that shows "
                                        "a live face (face.liveness_eyes)")] = DEFAULT_EYES,
    prompt: Annotated[float, typer.Option(min=0.0, max=5.0, help="Seconds a face that showed "
                                          "nothing has, once asked, to turn its head; 0: off "
                                          "(face.liveness_prompt_s)")] = DEFAULT_PROMPT_S,
    detect_scale: Annotated[float, typer.Option(min=0.1, max=1.0, help="Detect on the frame "
                                                "scaled by this (face.detect_scale)")] = 1.0,
    upsample: Annotated[int, typer.Option(min=0, max=2, help="Upsample for detection (small "
                                          "faces, 4x the cost each)")] = 0,
    min_face_px: Annotated[int, typer.Option(min=0, max=2000, help="Ignore faces narrower "
                                             "than this (face.min_face_px)")] = 0,
    accept_68_point_licence: Annotated[bool, typer.Option(
        "--accept-68-point-licence", help="blink mode: this use of dlib's 68-point model, "
        "licensed for non-commercial use only, is allowed")] = False,
) -> None:
    """Print one JSON line per tracked face (approach): the verdict (live, failed, prompt
    while the face is asked to turn its head, or pending when the video ended first), why,
    the cues, when it was decided and prompted (seconds of video after the face appeared)
    and the milliseconds this machine spent on it."""
    from edge.face.liveness import LivenessWatch, watch_video
    from faces.liveness import Mode, Thresholds
    from faces.models import FaceModels

    if mode not in ("motion", "blink"):
        raise fail(f"--mode is motion or blink, not {mode!r}")
    if mode == "blink" and not accept_68_point_licence:
        raise fail("--mode blink uses dlib's 68-point landmark model, licensed for "
                   "non-commercial use only: add --accept-68-point-licence if this use may")
    missing = [str(v) for v in videos if not v.is_file()]
    if missing:
        raise fail(f"no such video: {', '.join(missing)}")
    watch = LivenessWatch(FaceModels().load(), Mode(mode),
                          Thresholds(nonrigid=nonrigid, budget_s=budget, eyes=eyes,
                                     prompt_s=prompt))
    unreadable = 0
    for video in videos:
        try:
            reports = watch_video(video, watch, fps=fps, detect_scale=detect_scale,
                                  upsample=upsample, min_face_px=min_face_px)
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            unreadable += 1
            continue
        if not reports:
            typer.echo(f"{video}: no face", err=True)
        for report in reports:
            typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    if unreadable:
        raise typer.Exit(1)
