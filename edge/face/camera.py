"""Frame sources: a real camera through OpenCV, or a folder / video file for simulation.

Each source reads on its own thread and keeps only the newest frame. A camera
does not wait for a slow consumer: frames queue in the driver and the gate would
decide on the past, seconds late. Keeping one slot means the pipeline always
works on "now" and simply skips the frames it had no time for (``Frame.seq``
shows the gaps).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from faces.imaging import IMAGE_SUFFIXES, MAX_SIDE, Image, fit, image_files, load_bgr

log = logging.getLogger(__name__)

# An RTSP stream that drops (camera reboot, PoE hiccup) is reopened after this.
RECONNECT_S = 2.0
# A USB/RTSP read that fails this many times in a row counts as a dropped stream.
MAX_FAILED_READS = 25


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    image: Image = field(repr=False)  # BGR, as OpenCV delivers
    seq: int  # 1, 2, 3... per source; a jump means frames were skipped
    at: float  # time.monotonic() when read


class Camera(Protocol):
    def start(self) -> None: ...

    def latest(self, *, after: int = 0, timeout: float = 1.0) -> Frame | None:
        """The newest frame with ``seq > after``, waiting up to ``timeout`` seconds.

        None on timeout, or once the source has ended (see ``ended``).
        """
        ...

    @property
    def ended(self) -> bool:
        """A finite source (folder, video file) has delivered its last frame."""
        ...

    def close(self) -> None: ...


class _ThreadedSource:
    """The reading thread and the one-frame slot; subclasses say how to grab."""

    name = "camera"

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._seq = 0
        self._ended = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def latest(self, *, after: int = 0, timeout: float = 1.0) -> Frame | None:
        def ready() -> bool:
            fresh = self._frame is not None and self._frame.seq > after
            return fresh or self._ended or self._stop.is_set()

        with self._cond:
            self._cond.wait_for(ready, timeout)
            frame = self._frame
        return frame if frame is not None and frame.seq > after else None

    @property
    def ended(self) -> bool:
        return self._ended

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._release()

    def _publish(self, image: Image) -> None:
        with self._cond:
            self._seq += 1
            self._frame = Frame(image, self._seq, time.monotonic())
            self._cond.notify_all()

    def _finish(self) -> None:
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def _run(self) -> None:
        try:
            self._loop()
        except Exception:
            log.exception("%s: the reading thread failed", self.name)
        finally:
            self._finish()

    def _loop(self) -> None:
        raise NotImplementedError

    def _release(self) -> None:
        return None


def _parse_source(source: str | int) -> str | int:
    if isinstance(source, int):
        return source
    return int(source) if re.fullmatch(r"\d+", source.strip()) else source


class OpenCvCamera(_ThreadedSource):
    """A USB camera (index), an RTSP/HTTP stream (URL), through cv2.VideoCapture.

    A live stream that stops delivering is reopened every ``RECONNECT_S`` until closed.
    """

    def __init__(
        self, source: str | int = 0, *, width: int = 640, height: int = 480, fps: float = 10.0
    ) -> None:
        super().__init__()
        self.source = _parse_source(source)
        self.width, self.height, self.fps = width, height, fps
        self.name = f"camera-{self.source}"
        self._capture: Any = None

    def _open(self) -> bool:
        self._release()
        capture = cv2.VideoCapture(self.source)
        if not capture.isOpened():
            capture.release()
            return False
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        capture.set(cv2.CAP_PROP_FPS, self.fps)
        # Backends that honour it (V4L2, FFmpeg) then hold one frame, not a backlog.
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._capture = capture
        return True

    def _loop(self) -> None:
        failed = 0
        while not self._stop.is_set():
            if self._capture is None and not self._open():
                log.warning("%s: cannot open; retrying in %.0fs", self.name, RECONNECT_S)
                self._stop.wait(RECONNECT_S)
                continue
            ok, image = self._capture.read()
            if ok and image is not None:
                failed = 0
                self._publish(image)
                continue
            failed += 1
            if failed >= MAX_FAILED_READS:
                log.warning("%s: stream lost; reopening", self.name)
                self._release()
                failed = 0
                self._stop.wait(RECONNECT_S)

    def _release(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class FolderCamera(_ThreadedSource):
    """Frames from a folder of images (name order), one photo, or a video file, paced at
    ``fps``.

    Drives the same pipeline as a camera for ``smartschool edge simulate`` and for
    tests. ``hold`` shows each image for that many frames, like a pupil standing in
    front of the camera for a moment; a single photo held is a photo held up to the
    camera (the liveness attack). ``noise`` adds that much sensor noise (grey levels,
    standard deviation) to every frame: a real camera never delivers the same frame
    twice, and a test of a still photo must not be easier than the real thing.
    Images are scaled to ``max_side`` at most.
    """

    def __init__(
        self,
        path: Path,
        *,
        fps: float = 10.0,
        hold: int = 1,
        loop: bool = False,
        max_side: int = MAX_SIDE,
        noise: float = 0.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if fps <= 0 or hold < 1 or noise < 0:
            raise ValueError("a folder camera needs fps > 0, hold >= 1 and noise >= 0")
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"no such folder, photo or video: {self.path}")
        self.fps, self.hold, self.loop, self.max_side = fps, hold, loop, max_side
        self.noise = noise
        self._rng = np.random.default_rng(seed)
        self.name = f"camera-{self.path.name}"

    def frames(self) -> Iterator[Image]:
        """Every frame once per pass, unpaced: for tests and batch runs."""
        while True:
            for frame in self._one_pass():
                yield self._grain(frame) if self.noise > 0 else frame
            if not self.loop:
                return

    def _grain(self, frame: Image) -> Image:
        grain = self._rng.normal(0.0, self.noise, frame.shape)
        return np.clip(frame + grain, 0, 255).astype(np.uint8)

    def _one_pass(self) -> Iterator[Image]:
        if self.path.is_file() and self.path.suffix.lower() in IMAGE_SUFFIXES:
            image = load_bgr(self.path, self.max_side)
            for _ in range(self.hold):
                yield image
            return
        if self.path.is_dir():
            for photo in image_files(self.path):
                image = load_bgr(photo, self.max_side)
                for _ in range(self.hold):
                    yield image
            return
        capture = cv2.VideoCapture(str(self.path))
        try:
            if not capture.isOpened():
                raise ValueError(f"{self.path}: not a readable video")
            while True:
                ok, raw = capture.read()
                if not ok or raw is None:
                    return
                frame = fit(np.asarray(raw, dtype=np.uint8), self.max_side)
                for _ in range(self.hold):
                    yield frame
        finally:
            capture.release()

    def _loop(self) -> None:
        period = 1.0 / self.fps
        due = time.monotonic()
        for image in self.frames():
            if self._stop.is_set():
                return
            self._publish(image)
            due += period
            # Sleep to the schedule, not for a fixed period: reading an image takes
            # time too, and a simulated camera should keep its rate like a real one.
            self._stop.wait(max(due - time.monotonic(), 0.0))


def open_camera(
    source: str | int,
    *,
    width: int = 640,
    height: int = 480,
    fps: float = 10.0,
    hold: int = 1,
) -> Camera:
    """The right source for ``source``: a folder or a local video file is simulated,
    an index or a URL is a real camera."""
    parsed = _parse_source(source)
    if isinstance(parsed, str) and "://" not in parsed:
        path = Path(parsed).expanduser()
        if path.is_dir() or (path.is_file() and path.suffix.lower() not in IMAGE_SUFFIXES):
            return FolderCamera(path, fps=fps, hold=hold)
        if not path.exists():
            raise FileNotFoundError(f"camera source {source!r}: no such device, folder or file")
    return OpenCvCamera(parsed, width=width, height=height, fps=fps)
