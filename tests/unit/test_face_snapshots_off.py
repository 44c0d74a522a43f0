"""Face crops kept while snapshots were on are deleted when a gate starts with them off
(issue #12): before, pruning ran only after a new crop was saved, which a gate with
snapshots off never does, so the old crops stayed forever."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np

from edge.clock import ManualClock
from edge.face.snapshots import SnapshotStore
from faces.decision import Box
from tests.unit.test_edge_gate import MONDAY_7, make


def crops(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_a_gate_started_with_snapshots_off_deletes_the_crops_it_kept(tmp_path: Path) -> None:
    snaps = tmp_path / "snaps"
    kept = SnapshotStore(snaps, enabled=True, max_age=timedelta(hours=72))
    frame = np.zeros((120, 120, 3), dtype=np.uint8)
    for minutes in (0, 5):  # young crops: within the 72 h an enabled store would keep
        kept.save(frame, Box(10, 60, 60, 10), at=MONDAY_7 + timedelta(minutes=minutes))
    (snaps / "operator-notes.txt").write_text("not a crop")
    assert len(crops(snaps)) == 3

    agent = make(tmp_path, ManualClock(MONDAY_7 + timedelta(hours=1)))
    agent.snapshots = SnapshotStore(snaps, enabled=False)  # as face_parts builds it
    try:
        agent.start()
        assert crops(snaps) == ["operator-notes.txt"]  # ours gone, nothing else touched
    finally:
        agent.stop()


def test_a_gate_started_with_snapshots_on_keeps_young_crops_and_drops_old(
    tmp_path: Path,
) -> None:
    snaps = tmp_path / "snaps"
    store = SnapshotStore(snaps, enabled=True, max_age=timedelta(hours=72))
    frame = np.zeros((120, 120, 3), dtype=np.uint8)
    old = store.save(frame, Box(10, 60, 60, 10), at=MONDAY_7 - timedelta(days=4))
    young = store.save(frame, Box(10, 60, 60, 10), at=MONDAY_7 - timedelta(hours=1))
    assert old is not None and young is not None
    agent = make(tmp_path, ManualClock(MONDAY_7))
    agent.snapshots = store
    try:
        agent.start()
        assert crops(snaps) == [young.name]
    finally:
        agent.stop()
