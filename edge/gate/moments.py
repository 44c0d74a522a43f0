"""When each key (a card UID, a person) was last seen, for "again within N seconds" rules.

A gate and a classroom door keep two of these: card reads, so that a card held on the
reader counts as one tap (the debounce), and grants, so that a pupil who tapped and
then faces the camera is one passage, not a second one. Times are the caller's
monotonic seconds: the rules are about the reader's and the camera's behaviour, not the
school day's, and passing them in keeps this free of clocks.
"""

from __future__ import annotations

import threading

# Entries are dropped (the old ones only) once there are more than this: enough for a
# school's morning rush between two ticks, small enough never to matter in memory.
KEEP = 1000


class RecentMoments:
    def __init__(self, within_s: float, *, keep: int = KEEP) -> None:
        self.within_s = within_s
        self.keep = keep
        self._at: dict[str, float] = {}
        # The owner's loop prunes while the face thread notes: a rebuild must not see
        # the dict change under it.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._at)

    def note(self, key: str, at: float) -> None:
        with self._lock:
            self._at[key] = at

    def recent(self, key: str, at: float) -> bool:
        """Whether ``key`` was noted less than ``within_s`` before ``at``."""
        last = self._at.get(key)
        return last is not None and at - last < self.within_s

    def repeat(self, key: str, at: float) -> bool:
        """Note ``key`` at ``at``; whether that repeats a moment less than ``within_s``
        before (a repeat still counts as the latest moment: a card held on the reader
        stays one tap however long it is held)."""
        with self._lock:
            last = self._at.get(key)
            self._at[key] = at
        return last is not None and at - last < self.within_s

    def prune(self, at: float) -> None:
        """Past ``keep`` entries, forget the ones that can no longer be recent at ``at``."""
        if len(self._at) <= self.keep:
            return
        horizon = at - self.within_s
        with self._lock:
            self._at = {key: t for key, t in self._at.items() if t >= horizon}
