"""Equipment page for facility managers: assets with live state, lamp life, open alarms
with acknowledge and clear, and a chart of one asset's metrics.

Reads go through the query layer (hub.equipment); the acknowledge and clear buttons call
hub.equipment.alarms directly with the actor ``dashboard``: the dashboard has no login
yet, so its actions are recorded as the dashboard's, with the comment typed beside them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg
import psycopg_pool
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from dashboard.builders_equipment import (
    CHART_METRICS,
    EquipmentView,
    build_alarm_list,
    build_asset_table,
    build_equipment_kpis,
    build_metric_figure,
)
from dashboard.i18n import Lang, language_from_search, t
from hub.equipment import alarms, assets, timeseries
from smartschool.settings import Settings

log = logging.getLogger(__name__)

PATH: Final = "/equipment"
REFRESH_MS: Final = 5000  # facility screens, not wall clocks: 5 s is fresh enough
DASHBOARD_ACTOR: Final = "dashboard"
CHART_SPAN: Final = timedelta(hours=24)

_TEXTS: Final = {
    "eq-title": "eq_title",
    "eq-subtitle": "eq_subtitle",
    "eq-assets-title": "eq_assets",
    "eq-alarms-title": "eq_open_alarms",
    "eq-chart-title": "eq_chart",
}


def layout(default_lang: Lang) -> html.Div:
    return html.Div(
        [
            dcc.Interval(id="eq-tick", interval=REFRESH_MS, n_intervals=0),
            dcc.Store(id="eq-done", data=0),
            html.Header(
                [
                    html.Div([html.H1(id="eq-title"),
                              html.Div(id="eq-subtitle", className="subtitle")],
                             className="brand"),
                    dcc.Dropdown(id="eq-school", clearable=True, className="eq-school",
                                 placeholder=t(default_lang, "eq_all_schools")),
                ],
                className="topbar",
            ),
            html.Div(id="eq-status", className="status hidden"),
            html.Section(id="eq-kpis", className="totals eq-kpis"),
            html.Main(
                [
                    html.Section([html.H2(id="eq-assets-title"),
                                  html.Div(id="eq-assets", className="eq-assets")],
                                 className="schools-panel"),
                    html.Aside(
                        [
                            html.H2(id="eq-alarms-title"),
                            dcc.Input(id="eq-comment", type="text", maxLength=500,
                                      className="eq-comment", debounce=False),
                            html.Div(id="eq-action-status", className="eq-action-status"),
                            html.Div(id="eq-alarms", className="eq-alarms"),
                        ],
                        className="side-panel",
                    ),
                ],
                className="main",
            ),
            html.Section(
                [
                    html.H2(id="eq-chart-title"),
                    html.Div(
                        [
                            dcc.Dropdown(id="eq-asset", className="eq-asset", clearable=False),
                            dcc.Dropdown(id="eq-metric", className="eq-metric", clearable=False,
                                         value=CHART_METRICS[0]),
                        ],
                        className="eq-chart-controls",
                    ),
                    dcc.Graph(id="eq-chart", config={"displayModeBar": False},
                              style={"height": "18rem"}),
                ],
                className="eq-chart-panel",
            ),
        ],
        className="app eq-page",
    )


def load_view(conn: psycopg.Connection[Any], settings: Settings,
              school: str | None) -> EquipmentView:
    names = [(str(i), str(n)) for i, n in conn.execute("select id, name from schools order by id")]
    return EquipmentView(
        assets=assets.list_assets(conn, school=school,
                                  offline_gate_s=settings.offline_after_gate_s,
                                  offline_classroom_s=settings.offline_after_classroom_s),
        alarms=alarms.list_alarms(conn, state="open", school=school),
        coverage=assets.coverage(conn, school=school),
        schools=names,
    )


def register_callbacks(app: Dash, *, pool: psycopg_pool.ConnectionPool[Any],
                       settings: Settings) -> None:
    tz = ZoneInfo(settings.timezone)
    default: Lang = settings.language

    @app.callback(
        *[Output(element, "children") for element in _TEXTS],
        Output("eq-kpis", "children"),
        Output("eq-assets", "children"),
        Output("eq-alarms", "children"),
        Output("eq-school", "options"),
        Output("eq-asset", "options"),
        Output("eq-asset", "value"),
        Output("eq-comment", "placeholder"),
        Output("eq-status", "children"),
        Output("eq-status", "className"),
        Input("eq-tick", "n_intervals"),
        Input("page", "search"),
        Input("eq-school", "value"),
        Input("eq-done", "data"),
        State("eq-asset", "value"),
    )
    def render(_tick: int, search: str | None, school: str | None, _done: int,
               chosen: str | None) -> tuple[Any, ...]:
        lang = language_from_search(search, default)
        texts = tuple(t(lang, key) for key in _TEXTS.values())
        try:
            with pool.connection() as conn:
                view = load_view(conn, settings, school)
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("equipment page could not read the database", exc_info=True)
            return (*texts, *(no_update,) * 7, t(lang, "db_error"), "status error")
        names = dict(view.schools)
        tags = [a.tag for a in view.assets]
        asset_value = chosen if chosen in tags else (tags[0] if tags else None)
        return (
            *texts,
            build_equipment_kpis(view, lang),
            build_asset_table(view.assets, names, lang),
            build_alarm_list(view.alarms, names, lang, tz),
            [{"label": n, "value": i} for i, n in view.schools],
            [{"label": f"{a.tag} · {a.room or ''}", "value": a.tag} for a in view.assets],
            asset_value,
            t(lang, "eq_comment"),
            "",
            "status hidden",
        )

    @app.callback(
        Output("eq-metric", "options"),
        Input("page", "search"),
    )
    def metric_options(search: str | None) -> list[dict[str, str]]:
        lang = language_from_search(search, default)
        return [{"label": t(lang, f"metric_{m}"), "value": m} for m in CHART_METRICS]

    @app.callback(
        Output("eq-chart", "figure"),
        Input("eq-asset", "value"),
        Input("eq-metric", "value"),
        Input("eq-tick", "n_intervals"),
        Input("page", "search"),
    )
    def chart(tag: str | None, metric: str | None, _tick: int, search: str | None) -> Any:
        lang = language_from_search(search, default)
        metric = metric if metric in CHART_METRICS else CHART_METRICS[0]
        if not tag:
            return build_metric_figure([], metric, lang)
        end = datetime.now(tz)
        try:
            with pool.connection() as conn:
                asset = assets.get_asset(conn, tag)
                subjects = [tag] + ([asset.device_id] if asset and asset.device_id else [])
                points = timeseries.series(conn, subjects=subjects, metric=metric,
                                           start=end - CHART_SPAN, end=end, bucket="5m")
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("equipment chart could not read the database", exc_info=True)
            return no_update
        return build_metric_figure(points, metric, lang, tz)

    @app.callback(
        Output("eq-action-status", "children"),
        Output("eq-done", "data"),
        Output("eq-comment", "value"),
        Input({"type": "eq-ack", "id": ALL}, "n_clicks"),
        Input({"type": "eq-clear", "id": ALL}, "n_clicks"),
        State("eq-comment", "value"),
        State("eq-done", "data"),
        State("page", "search"),
        prevent_initial_call=True,
    )
    def act(_acks: list[int | None], _clears: list[int | None], comment: str | None,
            done: int | None, search: str | None) -> tuple[Any, Any, Any]:
        trigger = ctx.triggered_id
        # Re-rendered buttons come back with n_clicks 0: only a real click acts.
        if not isinstance(trigger, dict) or not ctx.triggered or not ctx.triggered[0]["value"]:
            return no_update, no_update, no_update
        lang = language_from_search(search, default)
        alarm_id = int(trigger["id"])
        try:
            with pool.connection() as conn:
                if trigger["type"] == "eq-ack":
                    alarms.acknowledge(conn, alarm_id, actor=DASHBOARD_ACTOR, comment=comment)
                    message = t(lang, "eq_done_ack")
                else:
                    alarms.clear(conn, alarm_id, actor=DASHBOARD_ACTOR, comment=comment)
                    message = t(lang, "eq_done_clear")
        except alarms.AlarmError as exc:
            return str(exc), (done or 0) + 1, no_update
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("equipment action failed", exc_info=True)
            return t(lang, "db_error"), no_update, no_update
        return f"{message} #{alarm_id}", (done or 0) + 1, ""
