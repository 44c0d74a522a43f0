"""Frame sources, snapshot retention and the face config, without the face models."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from edge.config.face import FaceConfig
from edge.face.camera import FolderCamera, OpenCvCamera, open_camera
from edge.face.snapshots import SnapshotStore
from faces.decision import Box
from faces.imaging import fit, letterbox

T0 = datetime(2025, 9, 5, 7, 0, tzinfo=UTC)


def solid(value: int, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    return np.full((*size, 3), value, dtype=np.uint8)


@pytest.fixture
def frames_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    for index, value in enumerate((10, 120, 240)):
        cv2.imwrite(str(folder / f"{index:02d}.png"), solid(value))
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.fixture
def video_file(tmp_path: Path) -> Path:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (64, 48))
    assert writer.isOpened()
    for value in range(0, 250, 25):
        writer.write(solid(value))
    writer.release()
    return path


# -- cameras ------------------------------------------------------------------------------


def test_folder_camera_frames_in_order_with_hold(frames_dir: Path) -> None:
    camera = FolderCamera(frames_dir, hold=2)
    means = [int(frame.mean()) for frame in camera.frames()]
    assert means == [10, 10, 120, 120, 240, 240]


def test_folder_camera_thread_keeps_the_newest_frame(frames_dir: Path) -> None:
    camera = FolderCamera(frames_dir, fps=200.0)
    camera.start()
    try:
        deadline = time.monotonic() + 5
        while not camera.ended and time.monotonic() < deadline:
            time.sleep(0.01)
        assert camera.ended
        # a consumer that was too slow for every frame sees only the last one
        last = camera.latest(after=0, timeout=0.1)
        assert last is not None and last.seq == 3 and int(last.image.mean()) == 240
        assert camera.latest(after=last.seq, timeout=0.05) is None
    finally:
        camera.close()


def test_folder_camera_paces_like_a_camera(frames_dir: Path) -> None:
    camera = FolderCamera(frames_dir, fps=20.0, hold=4)  # 12 frames, about 0.6 s
    camera.start()
    seen: list[int] = []
    started = time.monotonic()
    try:
        after = 0
        while (frame := camera.latest(after=after, timeout=2.0)) is not None:
            seen.append(frame.seq)
            after = frame.seq
    finally:
        camera.close()
    elapsed = time.monotonic() - started
    assert seen == sorted(seen) and seen[-1] == 12
    # paced, not dumped at once: 12 frames at 20 fps take 0.55 s at least. No upper
    # bound: a busy machine only makes it slower, and speed is not this test's business.
    assert elapsed > 0.4


def test_video_file_through_folder_camera(video_file: Path) -> None:
    means = [int(frame.mean()) for frame in FolderCamera(video_file).frames()]
    assert len(means) == 10
    assert means == sorted(means)  # MJPG is lossy: only the order is certain


def test_opencv_camera_reads_on_its_own_thread(video_file: Path) -> None:
    camera = OpenCvCamera(str(video_file), width=64, height=48)
    camera.start()
    try:
        first = camera.latest(timeout=5)
        assert first is not None and first.image.shape == (48, 64, 3)
        second = camera.latest(after=first.seq, timeout=5)
        assert second is not None and second.seq > first.seq
    finally:
        camera.close()


def test_open_camera_picks_the_source(frames_dir: Path, video_file: Path) -> None:
    assert isinstance(open_camera(str(frames_dir)), FolderCamera)
    assert isinstance(open_camera(str(video_file)), FolderCamera)
    assert isinstance(open_camera("0"), OpenCvCamera)
    assert isinstance(open_camera("rtsp://10.0.0.5/stream1"), OpenCvCamera)
    with pytest.raises(FileNotFoundError):
        open_camera("/no/such/camera.mp4")


def test_open_camera_that_does_not_exist_keeps_retrying() -> None:
    camera = OpenCvCamera("rtsp://127.0.0.1:9/nothing")
    camera.start()
    try:
        assert camera.latest(timeout=0.2) is None
        assert not camera.ended
    finally:
        camera.close()


# -- imaging --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "max_side", "expected"),
    [((2000, 1000, 3), 1280, (1280, 640, 3)), ((400, 300, 3), 1280, (400, 300, 3))],
)
def test_fit(shape: tuple[int, int, int], max_side: int, expected: tuple[int, int, int]) -> None:
    assert fit(np.zeros(shape, dtype=np.uint8), max_side).shape == expected


def test_letterbox_keeps_everything() -> None:
    portrait = np.full((1000, 500, 3), 200, dtype=np.uint8)
    framed = letterbox(portrait, 640, 480)
    assert framed.shape == (480, 640, 3)
    assert framed[:, 320].min() == 200  # full height used
    assert framed[:, 0].max() == 0  # padded at the sides


# -- snapshots --------------------------------------------------------------------------------


def test_snapshots_are_off_by_default(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "snaps")
    assert store.save(solid(99), Box(5, 40, 40, 5), at=T0) is None
    assert not (tmp_path / "snaps").exists()


def test_snapshot_is_a_private_face_crop(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "snaps", enabled=True)
    frame = np.zeros((480, 640, 3), dtype=np.uint8)
    path = store.save(frame, Box(100, 300, 300, 100), at=T0)
    assert path is not None and path.stat().st_mode & 0o777 == 0o600
    crop = cv2.imread(str(path))
    # the face plus a quarter of it each side, not the frame
    assert crop is not None and crop.shape == (300, 300, 3)


def test_snapshot_retention_by_age_and_count(tmp_path: Path) -> None:
    store = SnapshotStore(
        tmp_path, enabled=True, max_age=timedelta(hours=1), max_count=3
    )
    foreign = tmp_path / "keep-me.jpg"
    foreign.write_bytes(b"not ours")
    box = Box(0, 10, 10, 0)
    for minutes in (0, 10, 20, 30, 40):
        store.save(solid(1), box, at=T0 + timedelta(minutes=minutes))
    assert [taken for taken, _ in store.snapshots()] == [
        T0 + timedelta(minutes=m) for m in (20, 30, 40)
    ]
    # an hour after the 30-minute crop, only the 40-minute one is young enough
    assert store.prune(T0 + timedelta(minutes=95)) == 2
    assert [taken for taken, _ in store.snapshots()] == [T0 + timedelta(minutes=40)]
    # disabled later: old crops still go
    store.enabled = False
    store.prune(T0 + timedelta(hours=3))
    assert store.snapshots() == []
    assert foreign.exists()


def test_snapshot_tag_is_checked(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, enabled=True)
    with pytest.raises(ValueError, match="tag"):
        store.save(solid(1), Box(0, 10, 10, 0), at=T0, tag="../../etc")


def test_enabled_store_needs_a_directory() -> None:
    with pytest.raises(ValueError, match="directory"):
        SnapshotStore(None, enabled=True)


# -- config ------------------------------------------------------------------------------------


def test_face_config_defaults_are_private_and_strict() -> None:
    config = FaceConfig()
    assert config.snapshots.enabled is False
    assert config.tolerance == 0.5 and config.tolerance < 0.6
    assert config.agree <= config.window


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"agree": 6, "window": 5}, "cannot exceed"),
        ({"snapshots": {"enabled": True}}, "needs snapshots.directory"),
        ({"tolerance": 0.7}, "less than or equal to 0.6"),
        ({"model": "yolo"}, "hog"),
        ({"tolerence": 0.5}, "Extra inputs"),
    ],
)
def test_face_config_rejects(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FaceConfig.model_validate(data)


def test_face_config_paths_are_relative_to_the_yaml(tmp_path: Path) -> None:
    config = FaceConfig.model_validate(
        {"gallery_file": "gallery.bin", "snapshots": {"enabled": True, "directory": "snaps"}},
        context={"base_dir": tmp_path},
    )
    assert config.gallery_file == tmp_path / "gallery.bin"
    assert config.snapshots.directory == tmp_path / "snaps"
