"""The plan's targets page (issue #13), pure: the district's indicators against their
targets, then the wards and schools that hold them back, worst first.

The page's words live here, Vietnamese first, so the plan's own wording stays beside the
layout that shows it; the indicator names come from hub/kpi/indicators.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from dash import html
from dash.development.base_component import Component

from dashboard.i18n import Lang
from hub.kpi.indicators import INDICATORS, Indicator, Ratio, met, percent, shortfall
from hub.kpi.read import ScopeKpi

WORDS: Final[dict[Lang, dict[str, str]]] = {
    "vi": {
        "title": "Chỉ tiêu kế hoạch chuyển đổi số",
        "subtitle": "Toàn quận so với mục tiêu; các phường, trường còn chưa đạt xếp trước",
        "district": "Toàn quận",
        "indicator": "Chỉ tiêu",
        "target": "Mục tiêu",
        "deadline": "Thời hạn",
        "every_year": "Hằng năm",
        "value": "Kết quả",
        "counts": "Tử số / mẫu số",
        "missing": "Còn thiếu",
        "met": "Đạt",
        "not_met": "Chưa đạt",
        "no_data": "Chưa có dữ liệu",
        "holdback": "Phường, trường chưa đạt",
        "unit": "Đơn vị",
        "ward": "Phường",
        "school": "Trường",
        "unmet": "Số chỉ tiêu chưa đạt",
        "all_met": "Mọi đơn vị đã đạt mọi chỉ tiêu.",
    },
    "en": {
        "title": "The plan's digital transformation targets",
        "subtitle": "The district against its targets; wards and schools still short first",
        "district": "Whole district",
        "indicator": "Indicator",
        "target": "Target",
        "deadline": "Deadline",
        "every_year": "Every year",
        "value": "Value",
        "counts": "Numerator / denominator",
        "missing": "Still missing",
        "met": "Met",
        "not_met": "Not met",
        "no_data": "No data yet",
        "holdback": "Wards and schools short of a target",
        "unit": "Unit",
        "ward": "Ward",
        "school": "School",
        "unmet": "Targets not met",
        "all_met": "Every unit meets every target.",
    },
}


def w(lang: Lang, key: str) -> str:
    return WORDS[lang].get(key) or WORDS["vi"][key]


def indicator_name(ind: Indicator, lang: Lang) -> str:
    return ind.name_vi if lang == "vi" else ind.name_en


def _verdict(ind: Indicator, r: Ratio, lang: Lang) -> tuple[str, str]:
    if percent(r) is None:
        return w(lang, "no_data"), "kpi-none"
    return (w(lang, "met"), "kpi-met") if met(ind, r) else (w(lang, "not_met"), "kpi-short")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


def build_targets(district: ScopeKpi, lang: Lang) -> html.Table:
    """One row per indicator: target, deadline, value, the counts behind it, the gap."""
    head = html.Tr([html.Th(w(lang, k)) for k in
                    ("indicator", "target", "deadline", "value", "counts", "missing", "met")])
    rows = []
    for ind in INDICATORS:
        r = district.ratios.get(ind.id, Ratio(0, 0))
        verdict, cls = _verdict(ind, r, lang)
        rows.append(html.Tr(
            [html.Td(indicator_name(ind, lang)), html.Td(f"{ind.target:.0f} %"),
             html.Td(str(ind.target_year) if ind.target_year else w(lang, "every_year")),
             html.Td(_pct(percent(r)), className="kpi-value-cell"),
             html.Td(f"{r.numerator} / {r.denominator}"),
             html.Td(str(shortfall(ind, r))),
             html.Td(verdict, className=f"kpi-verdict {cls}")],
            id=f"kpi-row-{ind.id}", className=cls))
    return html.Table([html.Thead(head), html.Tbody(rows)], className="kpi-table",
                      id="kpi-targets-table")


def unmet_count(unit: ScopeKpi) -> int:
    return sum(1 for ind in INDICATORS
               if percent(unit.ratios.get(ind.id, Ratio(0, 0))) is not None
               and not met(ind, unit.ratios[ind.id]))


def unit_label(unit: ScopeKpi, lang: Lang) -> str:
    """A school by its name (it carries its level); a ward as "Phường ..." whether or not
    the register wrote the word."""
    if unit.scope != "ward":
        return unit.name
    level = w(lang, "ward")
    return unit.name if unit.name.casefold().startswith(("phường", level.casefold())) \
        else f"{level} {unit.name}"


def holdback_order(units: Sequence[ScopeKpi]) -> list[ScopeKpi]:
    """Units short of at least one target, the most targets missed first, then the most
    records, rooms or schools missing; wards before schools at a tie."""
    short = [u for u in units if unmet_count(u) > 0]
    def gap(u: ScopeKpi) -> int:
        return sum(shortfall(i, u.ratios.get(i.id, Ratio(0, 0))) for i in INDICATORS)
    return sorted(short, key=lambda u: (-unmet_count(u), u.scope != "ward", -gap(u),
                                        u.name))


def build_holdback(units: Sequence[ScopeKpi], lang: Lang) -> Component:
    ordered = holdback_order(units)
    if not ordered:
        return html.P(w(lang, "all_met"), className="kpi-all-met")
    head = html.Tr([html.Th(w(lang, "unit")), html.Th(w(lang, "unmet"))]
                   + [html.Th(indicator_name(i, lang), title=indicator_name(i, lang))
                      for i in INDICATORS])
    rows = []
    for u in ordered:
        cells: list[Component] = [
            html.Td(unit_label(u, lang)),
            html.Td(str(unmet_count(u)))]
        for ind in INDICATORS:
            r = u.ratios.get(ind.id, Ratio(0, 0))
            cells.append(html.Td(_pct(percent(r)), className=_verdict(ind, r, lang)[1],
                                 title=f"{r.numerator} / {r.denominator}"))
        rows.append(html.Tr(cells, className=f"kpi-unit kpi-unit-{u.scope}"))
    return html.Table([html.Thead(head), html.Tbody(rows)], className="kpi-table",
                      id="kpi-holdback-table")
