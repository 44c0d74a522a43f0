"""The face pipeline with the real models on the real photos of tests/fixtures/faces.

No mocks: dlib's detector and encoder run. Encodings are computed once per module
(about 0.1 s per face, 0.2-0.5 s per detection on a 1280 px photo).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edge.face.camera import FolderCamera
from edge.face.pipeline import FaceMatch, FacePipeline
from edge.face.snapshots import SnapshotStore
from faces.decision import FaceAgreement, Reason, Seen, observation
from faces.enroll import Enrollment, Refusal, enroll, enroll_folder
from faces.gallery import ConsentRequired, Gallery
from faces.imaging import letterbox, load_bgr
from faces.keys import KEY_ENV, new_key
from faces.models import FaceModels
from smartschool.cli.faces import app

# tests/fixtures/faces/README.md: the expected identities, left to right in the photo
EXPECTED = {
    "alex_lacamoire1.jpg": ["alex_lacamoire"],
    "johnsnow_test1.jpg": ["kit_harington"],
    "kit_with_rose.jpg": ["rose_leslie", "kit_harington"],
    "obama1.jpg": ["obama"],
    "obama_and_biden.jpg": ["biden", "obama", None],
    "obama_partial_face.jpg": ["obama"],
}
TOLERANCE = 0.5  # the gate default, stricter than face_recognition's 0.6


@pytest.fixture(scope="module")
def faces(faces_dir: Path) -> Path:
    if not (faces_dir / "train").is_dir():
        pytest.fail(f"the reference photos are missing: {faces_dir}")
    return faces_dir


@pytest.fixture(scope="module")
def models() -> FaceModels:
    return FaceModels().load()


@pytest.fixture(scope="module")
def enrolled(models: FaceModels, faces: Path) -> tuple[Gallery, list[Enrollment]]:
    return enroll_folder(models, faces / "train", consent="test-consent-2025")


@pytest.fixture(scope="module")
def gallery(enrolled: tuple[Gallery, list[Enrollment]]) -> Gallery:
    return enrolled[0]


@pytest.fixture(scope="module")
def photo_pipeline(models: FaceModels, gallery: Gallery) -> FacePipeline:
    # photos: detect at full size with one upsample, as face_recognition does by default
    return FacePipeline(models, gallery, tolerance=TOLERANCE, detect_scale=1.0, upsample=1)


@pytest.fixture(scope="module")
def probes(faces: Path, photo_pipeline: FacePipeline) -> dict[str, list[FaceMatch]]:
    results = {}
    for name in EXPECTED:
        matches = photo_pipeline.process(load_bgr(faces / "test" / name))
        results[name] = sorted(matches, key=lambda m: m.box.left)
    return results


def test_training_photos_all_enrolled_cleanly(enrolled: tuple[Gallery, list[Enrollment]]) -> None:
    gallery, results = enrolled
    assert gallery.persons == ["alex_lacamoire", "biden", "kit_harington", "obama", "rose_leslie"]
    assert gallery.rows == 9
    for result in results:
        assert result.clean, result
        assert not result.refused


@pytest.mark.parametrize("name", list(EXPECTED))
def test_probe_identified(name: str, probes: dict[str, list[FaceMatch]]) -> None:
    matches = probes[name]
    assert [m.person for m in matches] == EXPECTED[name]
    for match in matches:
        assert match.distance is not None
        if match.person is None:
            assert match.identity.reason is Reason.NO_MATCH
            assert match.distance > TOLERANCE
        else:
            assert match.distance <= TOLERANCE - 0.05  # with room to spare
            # the runner-up person is far: the margin rule is not what decided
            assert match.second is not None
            assert match.second.distance - match.distance > 0.25


def test_same_encodings_as_face_recognition(faces: Path, models: FaceModels) -> None:
    """Our direct dlib calls are exactly face_recognition's (same models, same steps)."""
    face_recognition = pytest.importorskip("face_recognition")
    from faces.imaging import to_rgb

    rgb = to_rgb(load_bgr(faces / "test" / "kit_with_rose.jpg"))
    boxes = models.detect(rgb, upsample=1)
    theirs = face_recognition.face_locations(rgb, number_of_times_to_upsample=1)
    assert [tuple(b.as_list()) for b in boxes] == theirs
    ours = models.encode(rgb, boxes)
    expected = np.array(face_recognition.face_encodings(rgb, theirs), dtype=np.float32)
    assert np.allclose(ours, expected, atol=1e-6)


def test_stricter_tolerance_leaves_the_stranger_out_but_0_6_does_too(
    probes: dict[str, list[FaceMatch]],
) -> None:
    stranger = probes["obama_and_biden.jpg"][2]
    assert stranger.person is None and stranger.distance is not None
    assert stranger.distance > 0.6  # rejected even at face_recognition's default


# -- 1:1 verification (card tap) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "card_holder", "ok", "reason"),
    [
        ("obama1.jpg", "obama", True, None),
        ("obama1.jpg", "biden", False, Reason.FACE_MISMATCH),  # someone else's card
        ("johnsnow_test1.jpg", "kit_harington", True, None),
        ("obama1.jpg", "not-enrolled-pupil", False, Reason.NOT_ENROLLED),
    ],
)
def test_verify_card_holder(
    name: str,
    card_holder: str,
    ok: bool,
    reason: Reason | None,
    probes: dict[str, list[FaceMatch]],
    photo_pipeline: FacePipeline,
) -> None:
    result = photo_pipeline.verify(card_holder, probes[name])
    assert (result.ok, result.reason) == (ok, reason)


def test_verify_with_no_face(photo_pipeline: FacePipeline) -> None:
    result = photo_pipeline.verify("obama", [])
    assert (result.ok, result.reason) == (False, Reason.NO_FACE)


def test_verify_takes_the_face_nearest_the_camera(
    probes: dict[str, list[FaceMatch]], photo_pipeline: FacePipeline
) -> None:
    # kit_with_rose: Kit's face is the larger one; with Rose's card the gate stays shut
    matches = probes["kit_with_rose.jpg"]
    assert photo_pipeline.verify("kit_harington", matches).ok
    assert not photo_pipeline.verify("rose_leslie", matches).ok


def test_verify_frame_encodes_only_the_subject(faces: Path, photo_pipeline: FacePipeline) -> None:
    frame = load_bgr(faces / "test" / "obama1.jpg")
    assert photo_pipeline.verify_frame("obama", frame).ok
    assert photo_pipeline.verify_frame("alex_lacamoire", frame).reason is Reason.FACE_MISMATCH


# -- enrollment refusals and warnings ------------------------------------------------------------


def test_enrollment_refuses_photos_without_exactly_one_face(
    models: FaceModels, gallery: Gallery, faces: Path
) -> None:
    blank = np.full((480, 640, 3), 128, dtype=np.uint8)
    result = enroll(
        models,
        gallery,
        "new-pupil",
        "consent-17",
        [("blank.jpg", blank), faces / "test" / "obama_and_biden.jpg", faces / "nope.jpg"],
    )
    assert result.entry is None and not result.clean
    assert [(r.reason, r.faces) for r in result.refused] == [
        (Refusal.NO_FACE, 0),
        (Refusal.SEVERAL_FACES, 3),
        (Refusal.UNREADABLE, 0),
    ]


def test_enrollment_flags_a_photo_of_someone_else(
    models: FaceModels, gallery: Gallery, faces: Path
) -> None:
    result = enroll(models, gallery, "biden2", "consent-18", [faces / "train/obama/obama.jpg"])
    assert result.entry is not None  # built, but a human must look first
    assert not result.clean
    [warning] = result.warnings
    assert warning.other == "obama" and warning.distance < 0.1


def test_re_enrolling_the_same_person_is_not_flagged(
    models: FaceModels, gallery: Gallery, faces: Path
) -> None:
    result = enroll(models, gallery, "obama", "consent-19", [faces / "test" / "obama1.jpg"])
    assert result.clean
    assert result.entry is not None
    updated = gallery.plus(result.entry)
    entry = updated.entry("obama")
    assert entry is not None and len(entry.encodings) == 1


def test_enrollment_without_consent_touches_no_photo(models: FaceModels, gallery: Gallery) -> None:
    with pytest.raises(ConsentRequired):
        enroll(models, gallery, "pupil", None, [Path("/does/not/matter.jpg")])
    with pytest.raises(ConsentRequired):
        enroll(models, gallery, "pupil", "  ", [Path("/does/not/matter.jpg")])


def test_enrolled_gallery_survives_encryption(gallery: Gallery, tmp_path: Path) -> None:
    key = new_key()
    gallery.save(tmp_path / "g.bin", key)
    loaded = Gallery.load(tmp_path / "g.bin", key)
    probe = gallery.entry("biden")
    assert probe is not None
    assert loaded.match(probe.encodings[0])[0] == gallery.match(probe.encodings[0])[0]


# -- a camera-sized run: the gate's settings, frames from a folder -----------------------------


def test_gate_frames_through_folder_camera(
    models: FaceModels, gallery: Gallery, faces: Path, tmp_path: Path
) -> None:
    """640x480 frames, detection at half scale, N-of-M agreement, snapshots on."""
    import cv2

    frames = tmp_path / "frames"
    frames.mkdir()
    for index, name in enumerate(["obama1.jpg", "alex_lacamoire1.jpg"]):
        frame = letterbox(load_bgr(faces / "test" / name), 640, 480)
        cv2.imwrite(str(frames / f"{index}.png"), frame)
    pipeline = FacePipeline(models, gallery, detect_scale=0.5, min_face_px=80)
    agreement = FaceAgreement(needed=3, window=5)
    snapshots = SnapshotStore(tmp_path / "snaps", enabled=True)
    decided = []
    for frame in FolderCamera(frames, hold=4).frames():
        matches = pipeline.process(frame)
        subject = pipeline.subject(matches)
        outcome = agreement.observe(observation(subject.identity if subject else None))
        if outcome is not None:
            decided.append(outcome)
        if outcome is Seen.UNKNOWN and subject is not None:
            snapshots.save(frame, subject.box, at=datetime.now(UTC))
    assert decided == ["obama", "alex_lacamoire"]
    assert snapshots.snapshots() == []  # nobody unknown, nothing kept


# -- the command line -----------------------------------------------------------------------------


def test_cli_identify(faces: Path, tmp_path: Path) -> None:
    # DIR/<person>/<photo>, one photo each of the four persons in the two probes: the
    # command enrolls them itself, so fewer photos keep the test short
    for person, photo in [
        ("obama", "obama.jpg"),
        ("biden", "biden.jpg"),
        ("kit_harington", "john1.jpeg"),
        ("rose_leslie", "img1.jpg"),
    ]:
        (tmp_path / person).mkdir()
        (tmp_path / person / photo).symlink_to(faces / "train" / person / photo)
    result = CliRunner().invoke(
        app,
        [
            "identify",
            "--gallery",
            str(tmp_path),
            str(faces / "test" / "obama_and_biden.jpg"),
            str(faces / "test" / "kit_with_rose.jpg"),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    found = {(r["image"].rsplit("/", 1)[1], r["person"]) for r in lines}
    assert found == {
        ("obama_and_biden.jpg", "obama"),
        ("obama_and_biden.jpg", "biden"),
        ("obama_and_biden.jpg", None),
        ("kit_with_rose.jpg", "kit_harington"),
        ("kit_with_rose.jpg", "rose_leslie"),
    }
    assert all(isinstance(r["distance"], float) for r in lines)


def test_cli_identify_with_an_encrypted_gallery(
    faces: Path, gallery: Gallery, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key()
    gallery.save(tmp_path / "g.bin", key)
    args = ["identify", "--gallery", str(tmp_path / "g.bin"), str(faces / "test" / "obama1.jpg")]
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2 and "no gallery key" in refused.output
    monkeypatch.setenv(KEY_ENV, key.decode())
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["person"] == "obama"
