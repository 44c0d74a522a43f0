"""Card readers: where UIDs come from. Every reader yields normalised UIDs."""

from __future__ import annotations

import logging
import queue
import sys
import threading
from typing import Protocol, TextIO

from protocol.ids import InvalidUid, normalise_uid

log = logging.getLogger(__name__)


class CardReader(Protocol):
    def read(self, timeout: float) -> str | None:
        """The next normalised UID, or None when nothing was tapped within ``timeout`` s."""
        ...

    def close(self) -> None: ...


class _QueuedReader:
    def __init__(self) -> None:
        self._taps: queue.Queue[str] = queue.Queue()

    def _offer(self, raw: str) -> None:
        try:
            self._taps.put(normalise_uid(raw))
        except InvalidUid as exc:
            # A mis-read is the reader's noise, not an event: log it and wait for the next tap.
            log.warning("ignored card read: %s", exc)

    def read(self, timeout: float) -> str | None:
        try:
            return self._taps.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        return None


class SimulatedCardReader(_QueuedReader):
    """Taps come from code (tests, the simulator): ``reader.tap("04A1B2C3")``."""

    def tap(self, uid: str) -> None:
        self._offer(uid)


class KeyboardWedgeReader(_QueuedReader):
    """A USB reader that types the UID and Enter, as most cheap 13.56 MHz readers do.

    Reads lines from ``stream`` (stdin by default) on a daemon thread, since a
    blocking readline cannot share the agent's loop.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self._stream = stream if stream is not None else sys.stdin
        self._thread = threading.Thread(target=self._pump, name="card-reader", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        for line in self._stream:
            if line.strip():
                self._offer(line)
