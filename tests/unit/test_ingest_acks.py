"""Which devices the hub tells how far their messages are stored (hub/ingest/acks.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from hub.ingest.acks import AckTracker, Due
from hub.ingest.routing import Incoming, Registered, Store, route

NOW = datetime(2026, 11, 30, tzinfo=UTC)
REGISTRY = {d: Registered("s1", "gate") for d in ("g1", "g2")}


def message(kind: str, device: str, seq: int, inc: str | None = None,
            school: str = "s1") -> Store:
    body: dict[str, Any] = {"v": 1, "device": device, "seq": seq,
                            "ts": "2026-11-30T07:00:00+07:00"}
    if inc is not None:
        body["inc"] = inc
    channel = {"gate": "event", "telemetry": "telemetry", "status": "status"}[kind]
    if kind == "gate":
        body |= {"type": "gate", "direction": "in", "method": "card", "decision": "granted"}
    elif kind == "telemetry":
        body |= {"type": "telemetry", "metrics": {"cpu.temp_c": 50}}
    else:
        body |= {"type": "status", "state": "online", "fw": "1", "role": "gate",
                 "boot": "2026-11-30T06:00:00+07:00"}
    routed = route(Incoming(f"ss/v1/{school}/{device}/{channel}", json.dumps(body).encode(),
                            NOW), REGISTRY)
    assert isinstance(routed, Store), routed
    return routed


INC_A = "a" * 16
INC_B = "b" * 16


@pytest.mark.parametrize(
    ("batches", "expected"),
    [
        # the highest committed seq, one acknowledgement per device
        ([[("gate", "g1", 3), ("gate", "g1", 1), ("telemetry", "g1", 2)]],
         [Due("s1", "g1", None, 3)]),
        # status seqs are reserved outside the outbox: they say nothing about it
        ([[("gate", "g1", 3), ("status", "g1", 9)]], [Due("s1", "g1", None, 3)]),
        ([[("status", "g1", 9)]], []),
        # a redelivered old message does not move upto back
        ([[("gate", "g1", 7)], [("gate", "g1", 2)]], [Due("s1", "g1", None, 7)]),
        # two devices, each its own
        ([[("gate", "g1", 1), ("gate", "g2", 5)]],
         [Due("s1", "g1", None, 1), Due("s1", "g2", None, 5)]),
    ],
)
def test_due_acknowledgements(batches, expected):
    tracker = AckTracker(interval_s=1.0)
    for batch in batches:
        tracker.note(message(*m) for m in batch)
    assert sorted(tracker.due(100.0), key=lambda d: d.device) == expected
    assert tracker.due(200.0) == []  # nothing committed since: nothing to say


def test_a_resent_duplicate_is_acknowledged_again_though_upto_did_not_move():
    tracker = AckTracker(interval_s=1.0)
    tracker.note([message("gate", "g1", 5)])
    assert tracker.due(10.0) == [Due("s1", "g1", None, 5)]
    tracker.note([message("gate", "g1", 4)])  # the device waits for word on it
    assert tracker.due(11.0) == [Due("s1", "g1", None, 5)]


def test_a_new_incarnation_is_acknowledged_from_its_own_start():
    tracker = AckTracker(interval_s=1.0)
    tracker.note([message("gate", "g1", 500, INC_A)])
    assert tracker.due(10.0) == [Due("s1", "g1", INC_A, 500)]
    tracker.note([message("gate", "g1", 0, INC_B)])  # the SD card was replaced
    assert tracker.due(20.0) == [Due("s1", "g1", INC_B, 0)]


def test_rate_limited_per_device_and_resent_after_a_reconnect():
    tracker = AckTracker(interval_s=1.0)
    tracker.note([message("gate", "g1", 1)])
    assert tracker.due(10.0) == [Due("s1", "g1", None, 1)]
    tracker.note([message("gate", "g1", 2)])
    assert tracker.due(10.5) == []  # too soon: it waits, it is not forgotten
    tracker.note([message("gate", "g1", 3)])
    assert tracker.due(11.0) == [Due("s1", "g1", None, 3)]
    tracker.resend_all()  # the broker may have lost the retained copy
    assert tracker.due(12.0) == [Due("s1", "g1", None, 3)]
