"""The example Grafana dashboard (deploy/grafana/smartschool.json, issue #16) asks only for
series the hub's /metrics or an agent's textfile really export: a renamed metric fails
here, not as an empty panel in a district's control room."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from edge.textfile import EdgeFigures, render
from hub.ingest.worker import IngestStats
from hub.metrics import DbFigures, HubCollector

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "smartschool.json"
METRIC = re.compile(r"\bsmartschool_[a-z0-9_]+\b")


class _Figures:
    """The database cache, answering without a database."""

    def get(self) -> DbFigures:
        return DbFigures([("gate", "online", 1)], [("major", 1)], [("pending", 2)])


class _Ingest:
    def __init__(self) -> None:
        self.stats = IngestStats()
        self.stats.last_commit = datetime.now(UTC)
        self.stats.add_dead_letters(["not-json"])
        self.stats.batch_seconds.observe(0.01)
        self.stats.commit_delay_seconds.observe(0.02)

    @property
    def backlog(self) -> int:
        return 0


def exported() -> set[str]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector(_Figures(), _Ingest()))  # type: ignore[arg-type]
    hub = generate_latest(registry).decode()
    edge = render(EdgeFigures("g", "gate", 1, 1, 1.0, True, 1, 0))
    return {s.name for text in (hub, edge)
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def expressions(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for v in node.values() for e in expressions(v)]
    if isinstance(node, list):
        return [e for v in node for e in expressions(v)]
    return []


def test_every_expression_names_exported_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = expressions(dashboard)
    assert len(exprs) >= 15
    names = exported()
    unknown = {m for e in exprs for m in METRIC.findall(e)} - names
    assert not unknown, f"the dashboard asks for series nobody exports: {sorted(unknown)}"
    assert all(METRIC.search(e) for e in exprs)  # each panel plots one of ours


def test_every_hub_metric_has_a_panel() -> None:
    used = {m for e in expressions(json.loads(DASHBOARD.read_text(encoding="utf-8")))
            for m in METRIC.findall(e)}
    # a histogram is drawn from its buckets; the info series is a label, not a figure
    families = {re.sub(r"_(bucket|sum|count)$", "", n) for n in exported()}
    drawn = {re.sub(r"_(bucket|sum|count)$", "", n) for n in used}
    assert families - drawn == {"smartschool_hub_info"}


def test_panels_use_the_datasource_variable_and_do_not_overlap() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["templating"]["list"][0]["name"] == "datasource"
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}"
        g = panel["gridPos"]
        assert g["x"] + g["w"] <= 24
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"])
                for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & mine, panel["title"]
        cells |= mine
