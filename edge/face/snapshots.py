"""Unknown-face crops for review, only where a gate opts in, and never kept for long.

A crop of the face (not the whole frame: the people behind it have nothing to do
with the review) is written with mode 0600 and deleted past ``max_age`` or beyond
the newest ``max_count``. The time comes from the caller's clock, and the age is
read from the file name, not the file's mtime, so a clock step or a copied
directory cannot make a crop live longer than its time.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2

from edge.face.pipeline import crop
from faces.decision import Box
from faces.imaging import Image

_NAME = re.compile(r"^(\d{8}T\d{6}\d{6}Z)-[a-z0-9-]{1,32}\.jpg$")
_STAMP = "%Y%m%dT%H%M%S%fZ"
JPEG_QUALITY = 85


class SnapshotStore:
    def __init__(
        self,
        directory: Path | None,
        *,
        enabled: bool = False,
        max_age: timedelta = timedelta(hours=72),
        max_count: int = 500,
    ) -> None:
        if enabled and directory is None:
            raise ValueError("an enabled snapshot store needs a directory")
        if max_count < 1 or max_age <= timedelta(0):
            raise ValueError("snapshot retention needs max_count >= 1 and a positive max_age")
        self.directory = directory
        self.enabled = enabled
        self.max_age = max_age
        self.max_count = max_count

    def save(self, bgr: Image, box: Box, *, at: datetime, tag: str = "unknown") -> Path | None:
        """Keep the face at ``box``; returns its path, or None when snapshots are off."""
        if not self.enabled or self.directory is None:
            return None
        if not re.fullmatch(r"[a-z0-9-]{1,32}", tag):
            raise ValueError(f"snapshot tag must be [a-z0-9-]{{1,32}}, got {tag!r}")
        ok, data = cv2.imencode(".jpg", crop(bgr, box), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            return None
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / f"{at.astimezone(UTC).strftime(_STAMP)}-{tag}.jpg"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.tobytes())
        self.prune(at)
        return path

    def snapshots(self) -> list[tuple[datetime, Path]]:
        """Our crops, oldest first. Files we did not name are never touched."""
        if self.directory is None or not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.iterdir():
            matched = _NAME.match(path.name)
            if matched:
                taken = datetime.strptime(matched.group(1), _STAMP).replace(tzinfo=UTC)
                found.append((taken, path))
        return sorted(found)

    def prune(self, now: datetime) -> int:
        """Delete crops past the age limit, then the oldest beyond the count; the gate
        runs it at every start. Disabled, every crop goes: with snapshots turned off the
        review they were kept for is over, and nothing else would ever delete them."""
        found = self.snapshots()
        if not self.enabled:
            for _, path in found:
                path.unlink(missing_ok=True)
            return len(found)
        cutoff = now - self.max_age
        doomed = [path for taken, path in found if taken < cutoff]
        kept = [path for taken, path in found if taken >= cutoff]
        if len(kept) > self.max_count:
            doomed += kept[: len(kept) - self.max_count]
        for path in doomed:
            path.unlink(missing_ok=True)
        return len(doomed)
