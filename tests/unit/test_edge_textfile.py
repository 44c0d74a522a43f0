"""The agent's textfile for node_exporter (issue #16): valid Prometheus text, written
whole, and a write failure that never stops the agent."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from edge.textfile import EdgeFigures, TextfileExporter, render, write_atomically

BASE = EdgeFigures(device="th-test-gate-1", role="gate", outbox_rows=12, outbox_unsent=3,
                   puback_age_s=4.25, connected=True, connects=2, resent=7)


def samples(text: str) -> dict[str, tuple[dict[str, str], float]]:
    return {s.name: (s.labels, s.value)
            for fam in text_string_to_metric_families(text) for s in fam.samples}


@pytest.mark.parametrize(("figures", "expected"), [
    (BASE, {"smartschool_edge_outbox_rows": 12, "smartschool_edge_outbox_unsent": 3,
            "smartschool_edge_last_puback_age_seconds": 4.25,
            "smartschool_edge_broker_connected": 1, "smartschool_edge_broker_connects_total": 2,
            "smartschool_edge_resent_total": 7}),
    # no PUBACK since start: no sample rather than a false "just now"
    (EdgeFigures("th-test-room-1", "classroom", 0, 0, None, False, 0, 0),
     {"smartschool_edge_outbox_rows": 0, "smartschool_edge_outbox_unsent": 0,
      "smartschool_edge_broker_connected": 0, "smartschool_edge_broker_connects_total": 0,
      "smartschool_edge_resent_total": 0}),
    (EdgeFigures('odd"name\\', "gate", 200_000, 200_000, 86_400.5, False, 1, 0),
     {"smartschool_edge_outbox_rows": 200_000, "smartschool_edge_outbox_unsent": 200_000,
      "smartschool_edge_last_puback_age_seconds": 86_400.5,
      "smartschool_edge_broker_connected": 0, "smartschool_edge_broker_connects_total": 1,
      "smartschool_edge_resent_total": 0}),
])
def test_render_parses_back(figures: EdgeFigures, expected: dict[str, float]) -> None:
    parsed = samples(render(figures))
    assert {name: value for name, (_l, value) in parsed.items()} == expected
    assert all(labels == {"device": figures.device, "role": figures.role}
               for labels, _v in parsed.values())


def test_written_whole_and_readable(tmp_path: Path) -> None:
    path = tmp_path / "metrics" / "gate.prom"
    write_atomically(path, render(BASE))
    write_atomically(path, render(BASE))
    assert samples(path.read_text())["smartschool_edge_outbox_rows"][1] == 12
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    assert [p.name for p in path.parent.iterdir()] == ["gate.prom"]  # no temporary left


def test_a_failed_write_is_logged_once_and_not_raised(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    exporter = TextfileExporter(blocker / "gate.prom", every_s=0.0)
    with caplog.at_level(logging.WARNING):
        exporter.write(BASE)
        exporter.write(BASE)
    assert len([r for r in caplog.records if "cannot write metrics" in r.message]) == 1


def test_due_on_time_and_on_a_connection_change(tmp_path: Path) -> None:
    exporter = TextfileExporter(tmp_path / "gate.prom", every_s=3600.0)
    assert exporter.due(connected=False)  # never written
    exporter.write(BASE)  # connected
    assert not exporter.due(connected=True)
    assert exporter.due(connected=False)  # the broker went: say so now, not in an hour
    assert os.path.exists(tmp_path / "gate.prom")
