"""The face thread's loop, shared by a face gate and a classroom door with a camera: the
camera's newest frame, one after another, into the caller's pipeline step."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # no cv2 for whoever only imports this module
    from edge.face.camera import Camera, Frame

log = logging.getLogger(__name__)

# How long the face thread waits for a frame before checking whether to stop.
FRAME_WAIT_S = 0.5


def follow_frames(camera: Camera, stop: threading.Event, step: Callable[[Frame], object], *,
                  device: str, done: threading.Event) -> None:
    """Run ``step`` on each newest frame until ``stop`` is set or a finite source ended;
    then set ``done`` (a simulation or a test waits on it for the last frame's decision).

    Frames that arrive while ``step`` runs are skipped, not queued (see edge.face.camera).
    """
    after = 0
    try:
        while not stop.is_set():
            frame = camera.latest(after=after, timeout=FRAME_WAIT_S)
            if frame is None:
                if camera.ended:
                    return
                continue
            after = frame.seq
            try:
                step(frame)
            except Exception:
                # One bad frame (a decoder glitch) must not stop the camera.
                log.exception("%s: face pipeline failed on frame %d", device, frame.seq)
    finally:
        done.set()
