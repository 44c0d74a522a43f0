"""The /kpi page's pure parts (issue #13): which units hold the plan back, in what order,
and how a unit is named."""

from __future__ import annotations

import pytest

from dashboard.builders.kpi import holdback_order, unit_label, unmet_count
from hub.kpi.indicators import INDICATORS, Ratio
from hub.kpi.read import ScopeKpi

FULL = {i.id: Ratio(10, 10) for i in INDICATORS}


def unit(scope: str, name: str, **ratios: Ratio) -> ScopeKpi:
    return ScopeKpi(scope, name, name, {**FULL, **ratios})  # type: ignore[arg-type]


@pytest.mark.parametrize(("ratios", "unmet"), [
    ({}, 0),
    ({"learners_e_records": Ratio(9, 10)}, 1),
    ({"equipment_e_records": Ratio(8, 10)}, 0),          # 80 % is the target
    ({"equipment_e_records": Ratio(7, 10), "parents_reachable": Ratio(0, 4)}, 2),
    ({"classrooms_ready": Ratio(0, 0)}, 0),              # nothing to count is no miss
])
def test_unmet_count(ratios, unmet):
    assert unmet_count(unit("school", "s", **ratios)) == unmet


def test_holdback_puts_the_most_targets_missed_first_then_wards_then_the_gap():
    a = unit("school", "Trường A", learners_e_records=Ratio(1, 10))
    b = unit("school", "Trường B", learners_e_records=Ratio(9, 10))
    w = unit("ward", "Phường 1", learners_e_records=Ratio(9, 10))
    c = unit("school", "Trường C", learners_e_records=Ratio(9, 10),
             parents_reachable=Ratio(9, 10))
    fine = unit("school", "Trường D")
    assert [u.name for u in holdback_order([fine, b, a, w, c])] == [
        "Trường C", "Phường 1", "Trường A", "Trường B"]


@pytest.mark.parametrize(("scope", "name", "lang", "label"), [
    ("ward", "Phường Hòa Nghĩa", "vi", "Phường Hòa Nghĩa"),
    ("ward", "Hòa Nghĩa", "vi", "Phường Hòa Nghĩa"),
    ("ward", "Hòa Nghĩa", "en", "Ward Hòa Nghĩa"),
    ("school", "Trường THCS A", "vi", "Trường THCS A"),
    ("school", "Trường THCS A", "en", "Trường THCS A"),
    ("ward", "Phường Hòa Nghĩa", "en", "Phường Hòa Nghĩa"),
])
def test_unit_label(scope, name, lang, label):
    assert unit_label(ScopeKpi(scope, name, name, FULL), lang) == label
