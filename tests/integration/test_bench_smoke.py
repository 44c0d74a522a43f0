"""Every benchmark, at a tiny size, end to end: its final JSON line keeps its shape.

The figures of a run this small mean nothing (and may miss the targets, so exit 1 is
accepted); what is checked is that each benchmark still runs against the product's
current code and reports every key the README and the lead read. The real runs, at
their default sizes, are in each bench's docstring.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def run_bench(script: str, *args: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, f"bench/{script}", *args], cwd=ROOT, check=False,
                          capture_output=True, text=True, timeout=280)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    result = json.loads(last)
    assert isinstance(result, dict)
    assert (proc.returncode == 0) is result["targets_met"]
    return result


def test_ingest_bench() -> None:
    r = run_bench("ingest.py", "--messages", "2000", "--rounds", "2", "--naive-messages",
                  "200", "--latency-seconds", "1")
    for key in ("messages", "cores", "rounds", "ceiling_msg_s", "hub_msg_s", "naive_msg_s",
                "ratio", "ratio_like_for_like", "ratio_stock_paho",
                "ceiling_consumer_client_msg_s", "hub_vs_naive", "lost", "duplicated",
                "redelivered", "latency_msg_s", "p50_ms", "p99_ms", "latency_lost",
                "mean_latency_ms", "targets", "targets_met"):
        assert key in r, key
    assert r["ratio"] == r["ratio_like_for_like"]
    assert len(r["hub_runs_msg_s"]) == len(r["ceiling_consumer_client_runs_msg_s"]) == 2
    assert r["lost"] == 0 and r["latency_lost"] == 0
    assert r["targets"]["ratio"] == 0.9


def test_face_bench() -> None:
    r = run_bench("face.py", "--quick", "--large-gallery", "3000")
    for key in ("dlib", "detect_ms", "faces_found", "encode_ms", "match_ms", "pipeline_ms",
                "pipeline", "card_ms", "probes_ok", "pipeline_frames_ok", "targets",
                "targets_met"):
        assert key in r, key
    assert set(r["match_ms"]) == {"2000", "3000"}
    for sizes in r["match_ms"].values():
        assert {"vectorised", "float64_norm", "loop", "ratio_vectorised_over_float64_norm",
                "ratio_vectorised_over_loop"} <= set(sizes)
    assert r["targets"]["pipeline_frames_ok"] == r["pipeline_frames_ok"]
    assert not r["targets"]["match_100k_met"]  # 3,000 persons cannot meet a 100k target
    assert not r["targets_met"]


def test_attendance_bench() -> None:
    r = run_bench("attendance.py", "--events", "10000", "--students", "600", "--runs", "3")
    for key in ("events", "students", "school_days", "generate_s", "district_generate_s",
                "day", "naive_index", "district_summary", "district_daily", "class_register",
                "naive_raw_count", "daily_summary_median_ms", "naive_over_api",
                "district_totals", "register_agrees", "targets_met"):
        assert key in r, key
    assert r["events"] > 0
    assert r["register_agrees"] is True
    # the rollup is the ingest's: somebody arrived on the measured day
    assert r["district_totals"]["present"] + r["district_totals"]["late"] > 0


def test_telemetry_bench() -> None:
    r = run_bench("telemetry.py", "--devices", "40", "--interval", "2", "--duration", "6",
                  "--offline-devices", "2", "--offline-after", "3", "--alarm-triggers", "3",
                  "--history-interval", "1800")
    for key in ("devices", "history_rows", "messages_published", "messages_stored",
                "evaluator", "alarm_delay_s", "offline_lag_s", "naive_index", "chart",
                "targets_met"):
        assert key in r, key
    assert r["messages_stored"] == r["messages_published"]
    assert r["chart"]["asset_week_points"] > 0
    assert set(r["chart"]) >= {"asset_week_rollup_ms", "asset_week_raw_ms",
                               "school_week_rollup_ms", "school_week_raw_ms"}
