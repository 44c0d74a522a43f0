"""bench/capacity.py --quick end to end: its final JSON line keeps its shape and its
figures hang together.

Three short steps (24, 250 and 1,000 schools, 3 s each) through the real broker, hub
worker process and database. A run this short and small decides nothing about capacity
(the target of 1,000 schools may be missed on a loaded machine, so exit 1 is accepted);
what is checked is what the README's sizing table reads: every key, rates that follow
the load model, CPU per message measured in the hub and in PostgreSQL, latencies in
order, and nothing lost.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

STEP_KEYS = {"schools", "seconds", "offered_msg_s", "published_msg_s", "committed_msg_s",
             "per_worker_msg_s", "published", "acked_by_broker", "backlog_at_end",
             "backlog_growth", "drain_s",
             "undrained", "p50_ms", "p99_ms", "max_ms", "slow_slices", "judged_slices",
             "cpu_wait_share", "starved", "hub_cpu_us_per_msg", "hub_cores",
             "pg_cpu_us_per_msg", "pg_cores", "broker_cpu_us_per_msg",
             "publisher_cpu_us_per_msg", "publisher_short", "behind"}


def test_capacity_bench_quick() -> None:
    began = time.monotonic()
    proc = subprocess.run([sys.executable, "bench/capacity.py", "--quick"], cwd=ROOT,
                          check=False, capture_output=True, text=True, timeout=170)
    took = time.monotonic() - began
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    print(proc.stdout[-6000:])  # shown when an assertion below fails
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (proc.returncode == 0) is r["targets_met"]
    # --quick is the one-minute run (the bound is loose for a loaded CI machine)
    assert took < 90, took
    for key in ("cores", "load_avg_at_start", "workers", "publishers", "step_seconds",
                "model", "bounds",
                "ceiling_msg_s", "steps", "capacity_schools", "capacity_msg_s",
                "capacity_per_worker_msg_s", "capacity_p99_ms", "fell_behind_at",
                "publisher_limited_at", "saturated_msg_s", "saturated_per_worker_msg_s",
                "ratio", "hub_cpu_us_per_msg_median", "pg_cpu_us_per_msg_median",
                "published", "stored", "lost", "dead_letters", "storage", "targets",
                "targets_met"):
        assert key in r, key
    model = r["model"]
    assert model["per_school_peak_minute"] == {"gate": 19, "beat": 22, "reading": 20,
                                               "total": 61}
    assert r["workers"] == 1 and r["quick"] is True
    assert r["ceiling_msg_s"] > 0
    steps = r["steps"]
    assert [s["schools"] for s in steps] == [24, 250, 1000][:len(steps)]
    assert len(steps) >= 2  # a first step that fell behind would mean a broken hub
    for s in steps:
        assert set(s) == STEP_KEYS
        assert s["offered_msg_s"] == pytest.approx(s["schools"] * 61 / 60, rel=0.01)
        # each publisher sends a whole number of messages of its share
        assert abs(s["published"] - s["offered_msg_s"] * r["step_seconds"]) <= (
            r["publishers"] + 1)
        assert s["acked_by_broker"] == s["published"]
        assert 0 < s["committed_msg_s"] <= s["published_msg_s"] * 1.05
        assert 0 <= s["p50_ms"] <= s["p99_ms"] <= s["max_ms"] < 60_000
        assert s["hub_cpu_us_per_msg"] > 0 and s["pg_cpu_us_per_msg"] > 0
        assert s["broker_cpu_us_per_msg"] >= 0
        assert s["undrained"] == 0
        assert 0 <= s["slow_slices"] <= s["judged_slices"] <= 3
        assert (not s["behind"]) or s is steps[-1]
    assert r["lost"] == 0 and r["dead_letters"] == 0
    rows = r["storage"]
    assert rows["gate_events_rows"] > 0 and rows["telemetry_rows"] > rows["gate_events_rows"]
    assert 50 < rows["telemetry_bytes_per_row"] < 5_000
    assert r["stored"] == r["published"] == sum(s["published"] for s in steps)
    if r["fell_behind_at"] is None:
        assert r["capacity_schools"] == steps[-1]["schools"]
        assert r["saturated_msg_s"] is None
    else:
        assert r["capacity_schools"] < r["fell_behind_at"]["schools"]
        assert r["fell_behind_at"]["reasons"]
