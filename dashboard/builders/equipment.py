"""Pure builders of the equipment page: KPIs, the asset table with state and lamp life,
the open-alarm list with its acknowledge and clear buttons, and the metric chart. Rows
in (EquipmentView, filled by dashboard.data.equipment), Dash components or Plotly
figures out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
from dash import html
from dash.development.base_component import Component

from dashboard.builders.district import GRID, TEXT
from dashboard.formatting import local_time
from dashboard.i18n import Lang, t
from hub.equipment.alarms import AlarmPublic, WorkOrderPublic
from hub.equipment.assets import AssetPublic, CoveragePublic
from hub.equipment.series import SeriesPoint

BLUE: Final = "#38bdf8"
CHART_METRICS: Final = ("projector.lamp_hours", "projector.on", "cpu.temp_c", "env.temp_c")
# Lamp bars turn amber at the alarm level (90 %) and red when the rated life is spent.
LAMP_WARN: Final = 0.9

# Enough for a facility manager's screen; the API lists every alarm.
MAX_ALARMS_SHOWN: Final = 30


@dataclass(frozen=True, slots=True)
class EquipmentView:
    """What one render of the page needs, read through the query layer."""

    assets: list[AssetPublic]
    alarms: list[AlarmPublic]
    coverage: CoveragePublic
    schools: list[tuple[str, str]]  # (id, name)
    work_orders: list[WorkOrderPublic] = field(default_factory=list)  # open ones


HistoryKind = Literal["alarm", "opened", "closed"]


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One line of an asset's history: an alarm raised, a work order opened or closed."""

    at: datetime
    kind: HistoryKind
    ref: int  # the alarm's or the work order's id
    title: str  # the alarm's type; empty for work orders
    by: str | None = None
    assignee: str | None = None
    note: str | None = None
    state: str | None = None  # the alarm's


def history_items(alarms: Sequence[AlarmPublic],
                  orders: Sequence[WorkOrderPublic]) -> list[HistoryItem]:
    """An asset's alarms and work orders as one timeline, newest first."""
    items = [HistoryItem(a.raised_at, "alarm", a.id, a.type, note=a.message, state=a.state)
             for a in alarms]
    for o in orders:
        items.append(HistoryItem(o.opened_at, "opened", o.id, "", by=o.opened_by,
                                 assignee=o.assignee, note=o.note))
        if o.closed_at is not None:
            items.append(HistoryItem(o.closed_at, "closed", o.id, "", by=o.closed_by,
                                     note=o.close_note))
    # a work order opened in the same instant as its alarm comes after it
    rank = {"alarm": 0, "opened": 1, "closed": 2}
    return sorted(items, key=lambda i: (i.at, rank[i.kind], i.ref), reverse=True)


def default_chart_asset(assets: Sequence[AssetPublic]) -> str | None:
    """The asset the chart opens on: the first that reports lamp hours (the chart's first
    metric), else the first. The register lists a room's computer before its projector,
    and a computer has no lamp: the chart opened blank on it."""
    for a in assets:
        if a.lamp_hours is not None:
            return a.tag
    return assets[0].tag if assets else None


def lamp_share(asset: AssetPublic) -> float | None:
    if asset.lamp_hours is None or not asset.rated_lamp_hours:
        return None
    return asset.lamp_hours / asset.rated_lamp_hours


def build_equipment_kpis(view: EquipmentView, lang: Lang) -> list[Component]:
    unacked = sum(a.state in ("active_unack", "cleared_unack") for a in view.alarms)
    cov = view.coverage.district
    items = [
        ("assets", t(lang, "eq_assets"), f"{len(view.assets)}"),
        ("coverage", t(lang, "eq_coverage"), f"{cov.share:.0%} ({cov.complete}/{cov.assets})"),
        ("alarms", t(lang, "eq_open_alarms"), f"{len(view.alarms)}"),
        ("unacked", t(lang, "eq_unacked"), f"{unacked}"),
    ]
    return [
        html.Div([html.Div(label, className="kpi-label"), html.Div(value, className="kpi-value")],
                 className=f"kpi eq-kpi-{key}", id=f"eq-kpi-{key}")
        for key, label, value in items
    ]


def _state_cell(asset: AssetPublic, lang: Lang) -> html.Td:
    device = asset.device_state or "unknown"
    dot = {"online": "ok", "offline": "alert"}.get(device, "warn")
    power = t(lang, f"eq_power_{asset.power}") if asset.power else "—"
    children: list[Component | str] = [
        html.Span(className=f"dot dot-{dot}", title=t(lang, f"eq_{device}")), f" {power}"]
    if asset.error and asset.error != "ok":
        children.append(html.Span(f" ⚠ {asset.error}", className="eq-error"))
    return html.Td(children, className="eq-state")


def _lamp_cell(asset: AssetPublic) -> html.Td:
    share = lamp_share(asset)
    if share is None:
        return html.Td("—", className="eq-lamp")
    level = "alert" if share >= 1 else "warn" if share >= LAMP_WARN else "ok"
    hours = f"{asset.lamp_hours:,.0f}".replace(",", "\u202f")
    return html.Td(
        [
            html.Div(html.Div(className=f"eq-lamp-fill eq-lamp-{level}",
                              style={"width": f"{min(share, 1.0) * 100:.0f}%"}),
                     className="eq-lamp-bar"),
            html.Span(f"{hours} / {asset.rated_lamp_hours} h ({share:.0%})",
                      className="eq-lamp-text"),
        ],
        className="eq-lamp",
        title=f"{share:.0%}",
    )


def build_asset_table(assets: Sequence[AssetPublic], names: dict[str, str],
                      lang: Lang) -> Component:
    """Assets grouped by school, then room (the query orders them so)."""
    if not assets:
        return html.Div(t(lang, "eq_no_assets"), className="muted eq-empty")
    head = html.Thead(html.Tr([html.Th(t(lang, k)) for k in (
        "eq_col_room", "eq_col_tag", "eq_col_model", "eq_col_state", "eq_col_lamp",
        "eq_col_alarms")]))
    rows: list[Component] = []
    school = None
    for a in assets:
        if a.school_id != school:
            school = a.school_id
            rows.append(html.Tr(html.Td(names.get(school, school), colSpan=6),
                                className="eq-school-row"))
        rows.append(html.Tr(
            [
                html.Td(a.room or "—"),
                html.Td(a.tag, className="eq-tag"),
                html.Td(a.model or "—"),
                _state_cell(a, lang),
                _lamp_cell(a),
                html.Td(str(a.open_alarms) if a.open_alarms else "",
                        className="eq-alarm-count" if a.open_alarms else ""),
            ],
            id=f"asset-{a.tag}",
        ))
    return html.Table([head, html.Tbody(rows)], className="feed-table eq-table")


def alarm_title(alarm: AlarmPublic, lang: Lang) -> str:
    key = f"alarm_{alarm.type}"
    if alarm.type.startswith("threshold:"):
        return f"{alarm.type.split(':', 1)[1]} ↑"
    return t(lang, key)


def _work_order_control(alarm: AlarmPublic, open_orders: dict[int, int],
                        lang: Lang) -> Component:
    order = open_orders.get(alarm.id)
    if order is not None:
        return html.Span(t(lang, "wo_order").format(id=order), className="wo-ref",
                         id=f"alarm-wo-{alarm.id}")
    return html.Button(t(lang, "wo_open"), id={"type": "wo-open", "id": alarm.id},
                       className="eq-btn wo-btn-open", n_clicks=0)


def build_alarm_list(alarms: Sequence[AlarmPublic], names: dict[str, str], lang: Lang,
                     tz: ZoneInfo, *, limit: int = MAX_ALARMS_SHOWN,
                     open_orders: dict[int, int] | None = None) -> list[Component]:
    """The first ``limit`` alarms (the query puts unacknowledged ones first), then a line
    saying how many more there are: each alarm carries two buttons, and the browser's
    callback graph slows to a crawl with hundreds of them (136 offline alarms after a
    district-wide outage took about 90 s to draw)."""
    if not alarms:
        return [html.Div(t(lang, "eq_no_alarms"), className="muted eq-empty")]
    out: list[Component] = []
    for a in alarms[:limit]:
        can_ack = a.state in ("active_unack", "cleared_unack")
        where = " · ".join(x for x in (names.get(a.school_id, a.school_id), a.room, a.subject) if x)
        out.append(html.Div(
            [
                html.Div(
                    [
                        html.Span(a.severity, className=f"eq-sev eq-sev-{a.severity}"),
                        html.Span(alarm_title(a, lang), className="eq-alarm-title"),
                        html.Span(local_time(a.last_raised_at, tz), className="muted"),
                    ],
                    className="eq-alarm-head",
                ),
                html.Div(where, className="eq-alarm-where"),
                html.Div([a.message, html.Span(
                    f" · {t(lang, 'alarm_state_' + a.state)}", className="muted")],
                    className="eq-alarm-msg"),
                html.Div(
                    [
                        html.Button(t(lang, "eq_ack"), id={"type": "eq-ack", "id": a.id},
                                    className="eq-btn", disabled=not can_ack, n_clicks=0),
                        html.Button(t(lang, "eq_clear"), id={"type": "eq-clear", "id": a.id},
                                    className="eq-btn eq-btn-clear", n_clicks=0),
                        _work_order_control(a, open_orders or {}, lang),
                    ],
                    className="eq-alarm-actions",
                ),
            ],
            className=f"eq-alarm eq-alarm-{a.state}",
            id=f"alarm-{a.id}",
        ))
    if len(alarms) > limit:
        out.append(html.Div(t(lang, "eq_more_alarms").format(n=len(alarms) - limit),
                            className="muted eq-more"))
    return out


def build_metric_figure(points: Sequence[SeriesPoint], metric: str, lang: Lang,
                        tz: ZoneInfo | None = None) -> go.Figure:
    fig = go.Figure()
    # Plotly draws aware times in UTC; the district reads its own wall clock.
    x = [p.bucket.astimezone(tz).replace(tzinfo=None) if tz else p.bucket for p in points]
    if points and any(p.min != p.max for p in points):
        # The band between min and max shows what the average hides.
        fig.add_trace(go.Scatter(x=x, y=[p.max for p in points], mode="lines",
                                 line={"width": 0}, showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=[p.min for p in points], mode="lines",
                                 line={"width": 0}, fill="tonexty",
                                 fillcolor="rgba(56, 189, 248, 0.15)", showlegend=False,
                                 hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=[p.avg for p in points], mode="lines+markers",
                             name=t(lang, f"metric_{metric}"), line={"color": BLUE},
                             marker={"size": 4}))
    fig.update_layout(
        margin={"l": 48, "r": 8, "t": 28, "b": 28},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"color": TEXT, "size": 13},
        title={"text": t(lang, f"metric_{metric}"), "font": {"size": 14}, "x": 0.01},
        showlegend=False,
        uirevision=f"eq-{metric}",
        xaxis={"gridcolor": GRID},
        yaxis={"gridcolor": GRID},
    )
    if not points:
        fig.add_annotation(text=t(lang, "eq_no_data"), showarrow=False, xref="paper",
                           yref="paper", x=0.5, y=0.5, font={"size": 16})
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    return fig


def build_work_orders(orders: Sequence[WorkOrderPublic], names: dict[str, str], lang: Lang,
                      tz: ZoneInfo) -> list[Component]:
    """The open work orders, newest first, each with its assign and close buttons."""
    if not orders:
        return [html.Div(t(lang, "wo_none"), className="muted eq-empty")]
    out: list[Component] = []
    for o in orders:
        where = " · ".join(x for x in (names.get(o.school_id, o.school_id), o.asset_tag) if x)
        out.append(html.Div(
            [
                html.Div([html.Span(t(lang, "wo_order").format(id=o.id),
                                    className="eq-alarm-title"),
                          html.Span(f" · {o.assignee or t(lang, 'wo_unassigned')}",
                                    className="wo-assignee")],
                         className="eq-alarm-head"),
                html.Div(where, className="eq-alarm-where"),
                html.Div(t(lang, "wo_opened_by").format(
                    who=o.opened_by, at=o.opened_at.astimezone(tz).strftime("%d/%m %H:%M")),
                    className="muted"),
                html.Div(o.note or "", className="eq-alarm-msg"),
                html.Div(
                    [
                        html.Button(t(lang, "wo_assign"), id={"type": "wo-assign", "id": o.id},
                                    className="eq-btn", n_clicks=0),
                        html.Button(t(lang, "wo_close"), id={"type": "wo-close", "id": o.id},
                                    className="eq-btn eq-btn-clear", n_clicks=0),
                    ],
                    className="eq-alarm-actions",
                ),
            ],
            className="eq-alarm wo-card",
            id=f"wo-{o.id}",
        ))
    return out


def build_history(items: Sequence[HistoryItem], lang: Lang, tz: ZoneInfo) -> Component:
    if not items:
        return html.Div(t(lang, "wo_history_none"), className="muted eq-empty")
    rows = []
    for i in items:
        if i.kind == "alarm":
            what = f"{t(lang, 'wo_h_alarm')}: {t(lang, 'alarm_' + i.title)}" \
                if not i.title.startswith("threshold:") else i.title
            detail = [i.note or "", f" · {t(lang, 'alarm_state_' + (i.state or ''))}"]
        else:
            what = t(lang, f"wo_h_{i.kind}").format(id=i.ref)
            parts = [t(lang, "wo_h_by").format(who=i.by)] if i.by else []
            if i.assignee:
                parts.append(t(lang, "wo_h_assignee").format(who=i.assignee))
            if i.note:
                parts.append(f"“{i.note}”")
            detail = [" · ".join(parts)]
        rows.append(html.Tr([html.Td(i.at.astimezone(tz).strftime("%d/%m %H:%M")),
                             html.Td(what, className=f"wo-h-{i.kind}"),
                             html.Td(detail)],
                            id=f"history-{i.kind}-{i.ref}"))
    return html.Table(html.Tbody(rows), className="feed-table wo-history")
