"""Equipment page for facility managers: assets with live state, lamp life, open alarms
with acknowledge and clear, work orders (opened from an alarm, assigned, closed with a
note; issue #13), and a chart of one asset's metrics above its history (alarms and work
orders).

Reads go through dashboard.data.equipment; so do the acknowledge and clear buttons, into
the same function the API's POST /alarms/{id}/ack|clear calls (hub.equipment.actions),
recorded with the logged-in account's username as the actor and the comment typed
beside them; and so do the work-order buttons (hub.equipment.actions, behind the API's
work-order routes), with the assignee and note typed above the list. The inputs sit
outside the lists the page redraws every few seconds, so typing is never wiped.

The page needs a login (dashboard.login) and follows the API's rules (dashboard.access):
a school's staff see their own school only; district admins, school admins and facility
managers acknowledge and clear, in their own school when scoped; control room and
teachers only look, so the page shows them no buttons, and the action, which reads the
account again from the database, is refused for them by the API's own rule.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg
import psycopg_pool
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.development.base_component import Component

from core.settings import Settings
from dashboard.access import EQUIPMENT_PATH, Viewer, alarm_scope, school_filter
from dashboard.builders.equipment import (
    CHART_METRICS,
    build_alarm_list,
    build_asset_table,
    build_equipment_kpis,
    build_history,
    build_metric_figure,
    build_work_orders,
    default_chart_asset,
)
from dashboard.data import Conn
from dashboard.data.equipment import (
    AlarmError,
    AlarmStep,
    WorkOrderStep,
    act_on_alarm,
    act_on_work_order,
    load_assets,
    load_chart,
    load_equipment,
    load_history,
)
from dashboard.i18n import Lang, language_from_search, role_label, t
from dashboard.login import DashboardAuth

log = logging.getLogger(__name__)

PATH: Final = EQUIPMENT_PATH
REFRESH_MS: Final = 5000  # facility screens, not wall clocks: 5 s is fresh enough
# The chart spans 24 hours of 5-minute buckets, and the history changes when someone acts
# (which refreshes it at once): every 30 s is plenty. On a busy server a 5 s refresh also
# superseded each chart answer before it arrived, and the chart stayed blank (the demo).
CHART_REFRESH_MS: Final = 30_000
# The buttons' id types and the step each takes.
ACTION_STEPS: Final[dict[str, AlarmStep]] = {"eq-ack": "acknowledge", "eq-clear": "clear"}
WORK_STEPS: Final[dict[str, WorkOrderStep]] = {"wo-open": "open", "wo-assign": "assign",
                                               "wo-close": "close"}
ACTION_TYPES: Final = frozenset(ACTION_STEPS) | frozenset(WORK_STEPS)
CHART_SPAN: Final = timedelta(hours=24)

_TEXTS: Final = {
    "eq-title": "eq_title",
    "eq-subtitle": "eq_subtitle",
    "eq-assets-title": "eq_assets",
    "eq-alarms-title": "eq_open_alarms",
    "eq-chart-title": "eq_chart",
    "wo-title": "wo_title",
    "eq-history-title": "wo_history",
}


def layout(default_lang: Lang) -> html.Div:
    return html.Div(
        [
            dcc.Interval(id="eq-tick", interval=REFRESH_MS, n_intervals=0),
            dcc.Interval(id="eq-chart-tick", interval=CHART_REFRESH_MS, n_intervals=0),
            dcc.Store(id="eq-done", data=0),
            dcc.Store(id="wo-done", data=0),
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
                            html.Div(id="eq-read-only", className="eq-read-only hidden"),
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
                    html.H2(id="wo-title"),
                    html.Div([dcc.Input(id="wo-assignee", type="text", maxLength=200,
                                        className="eq-comment wo-input"),
                              dcc.Input(id="wo-note", type="text", maxLength=1000,
                                        className="eq-comment wo-input")],
                             id="wo-inputs", className="wo-inputs"),
                    html.Div(id="wo-action-status", className="eq-action-status"),
                    html.Div(id="wo-list", className="wo-list"),
                ],
                className="eq-chart-panel wo-panel",
            ),
            html.Section(
                [
                    html.H2(id="eq-chart-title"),
                    html.Div(
                        [
                            dcc.Dropdown(id="eq-asset", className="eq-asset", clearable=False),
                            # Options from the start: a value without them is cleared
                            # (the dropdown then showed nothing chosen).
                            dcc.Dropdown(id="eq-metric", className="eq-metric", clearable=False,
                                         value=CHART_METRICS[0],
                                         options=[{"label": t(default_lang, f"metric_{m}"),
                                                   "value": m} for m in CHART_METRICS]),
                        ],
                        className="eq-chart-controls",
                    ),
                    dcc.Graph(id="eq-chart", config={"displayModeBar": False},
                              style={"height": "18rem"}),
                    html.H2(id="eq-history-title"),
                    html.Div(id="eq-history", className="eq-history"),
                ],
                className="eq-chart-panel",
            ),
        ],
        className="app eq-page",
    )


def without_actions(tree: Any) -> Any:
    """The alarm list without its acknowledge and clear buttons (read-only accounts)."""
    if isinstance(tree, list | tuple):
        return [without_actions(c) for c in tree
                if not (isinstance(c, Component) and _is_action(c))]
    if isinstance(tree, Component):
        children = getattr(tree, "children", None)
        if children is not None:
            tree.children = without_actions(children)
    return tree


def _is_action(component: Component) -> bool:
    ident = getattr(component, "id", None)
    return isinstance(ident, dict) and ident.get("type") in ACTION_TYPES


def read_only_note(viewer: Viewer | None, lang: Lang) -> tuple[str, str, str]:
    """The read-only notice and the classes of the notice and the comment box."""
    if viewer is None or not alarm_scope(viewer).matches_nothing:
        return "", "eq-read-only hidden", "eq-comment"
    note = t(lang, "eq_read_only").format(role=role_label(lang, viewer.role))
    return note, "eq-read-only", "eq-comment hidden"


def register_callbacks(app: Dash, *, pool: psycopg_pool.ConnectionPool[Any],
                       settings: Settings, auth: DashboardAuth) -> None:
    tz = ZoneInfo(settings.timezone)
    default: Lang = settings.language

    @app.callback(
        *[Output(element, "children") for element in _TEXTS],
        Output("eq-kpis", "children"),
        Output("eq-assets", "children"),
        Output("eq-alarms", "children"),
        Output("eq-school", "options"),
        Output("eq-comment", "placeholder"),
        Output("eq-read-only", "children"),
        Output("eq-read-only", "className"),
        Output("eq-comment", "className"),
        Output("wo-list", "children"),
        Output("wo-assignee", "placeholder"),
        Output("wo-note", "placeholder"),
        Output("wo-inputs", "className"),
        Output("eq-status", "children"),
        Output("eq-status", "className"),
        Input("eq-tick", "n_intervals"),
        Input("page", "search"),
        Input("eq-school", "value"),
        Input("eq-done", "data"),
        Input("wo-done", "data"),
    )
    def render(_tick: int, search: str | None, school: str | None, _done: int,
               _wo_done: int) -> tuple[Any, ...]:
        lang = language_from_search(search, default)
        texts = tuple(t(lang, key) for key in _TEXTS.values())
        try:
            with pool.connection() as conn:
                viewer = auth.viewer(conn)
                scope = school_filter(viewer, school)
                if viewer is None or scope.matches_nothing:
                    # Blank every part: a session that ends leaves nothing behind.
                    notice = t(lang, "session_ended" if viewer is None else "not_allowed_page")
                    return (*texts, [], [], [], [], t(lang, "eq_comment"),
                            "", "eq-read-only hidden", "eq-comment hidden",
                            [], t(lang, "wo_assignee"), t(lang, "wo_note"),
                            "wo-inputs hidden", notice, "status error")
                view = load_equipment(conn, settings, scope.school,
                                      schools_of=school_filter(viewer, None).school)
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("equipment page could not read the database", exc_info=True)
            return (*texts, *(no_update,) * 12, t(lang, "db_error"), "status error")
        names = dict(view.schools)
        open_orders = {o.alarm_id: o.id for o in view.work_orders if o.alarm_id is not None}
        alarm_list = build_alarm_list(view.alarms, names, lang, tz, open_orders=open_orders)
        orders = build_work_orders(view.work_orders, names, lang, tz)
        note, note_class, comment_class = read_only_note(viewer, lang)
        read_only = alarm_scope(viewer).matches_nothing
        if read_only:
            alarm_list = without_actions(alarm_list)
            orders = without_actions(orders)
        return (
            *texts,
            build_equipment_kpis(view, lang),
            build_asset_table(view.assets, names, lang),
            alarm_list,
            [{"label": n, "value": i} for i, n in view.schools],
            t(lang, "eq_comment"),
            note,
            note_class,
            comment_class,
            orders,
            t(lang, "wo_assignee"),
            t(lang, "wo_note"),
            "wo-inputs hidden" if read_only else "wo-inputs",
            "",
            "status hidden",
        )


    register_work_orders(app, pool=pool, settings=settings, auth=auth)

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
        Input("eq-chart-tick", "n_intervals"),
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
                points = load_chart(conn, tag, metric,
                                    visible=school_filter(auth.viewer(conn), None),
                                    start=end - CHART_SPAN, end=end)
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
        try:
            with pool.connection() as conn:
                message, acted = take_step(conn, auth.viewer(conn), kind=trigger["type"],
                                           alarm_id=int(trigger["id"]), comment=comment,
                                           lang=lang)
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("equipment action failed", exc_info=True)
            return t(lang, "db_error"), no_update, no_update
        return message, (done or 0) + 1, "" if acted else no_update


def take_step(conn: Conn, viewer: Viewer | None, *, kind: str,
              alarm_id: int, comment: str | None, lang: Lang) -> tuple[str, bool]:
    """Acknowledge or clear as the logged-in account; (what to say, whether it acted).
    An alarm already in that state, or out of the account's scope, is said as the API
    says it; an account that may not act at all is told so in its language."""
    step = ACTION_STEPS.get(kind)
    if step is None:
        return "", False
    if viewer is None:
        return t(lang, "session_ended"), False
    try:
        act_on_alarm(conn, viewer, step, alarm_id, comment=comment)
    except AlarmError as exc:
        if not exc.forbidden:
            return str(exc), False
        log.warning("dashboard: %s (%s) may not change alarm %d",
                    viewer.username, viewer.role, alarm_id)
        return t(lang, "eq_not_allowed_action"), False
    done = "eq_done_ack" if step == "acknowledge" else "eq_done_clear"
    return f"{t(lang, done)} #{alarm_id}", True


def work_step(conn: Conn, viewer: Viewer | None, *, kind: str, target: int,
              assignee: str | None, note: str | None, lang: Lang) -> tuple[str, bool]:
    """Open (from alarm ``target``), assign or close (work order ``target``) as the
    logged-in account; (what to say, whether it acted), as take_step."""
    step = WORK_STEPS.get(kind)
    if step is None:
        return "", False
    if viewer is None:
        return t(lang, "session_ended"), False
    try:
        order = act_on_work_order(conn, viewer, step, target,
                                  assignee=(assignee or "").strip() or None,
                                  note=(note or "").strip() or None)
    except AlarmError as exc:
        if not exc.forbidden:
            return str(exc), False
        log.warning("dashboard: %s (%s) may not %s work order/alarm %d",
                    viewer.username, viewer.role, step, target)
        return t(lang, "wo_not_allowed"), False
    return t(lang, f"wo_done_{step}").format(id=order.id), True


def register_work_orders(app: Dash, *, pool: psycopg_pool.ConnectionPool[Any],
                         settings: Settings, auth: DashboardAuth) -> None:
    """The asset's history under the chart, and the work-order buttons."""
    tz = ZoneInfo(settings.timezone)
    default: Lang = settings.language

    @app.callback(
        Output("eq-asset", "options"),
        Output("eq-asset", "value"),
        Input("eq-school", "value"),
        Input("page", "search"),
        State("eq-asset", "value"),
    )
    def asset_choice(school: str | None, _search: str | None,
                     chosen: str | None) -> tuple[Any, Any]:
        # Apart from the 5-second render: the chart waits for its asset, and on a busy
        # page a render always pending kept it waiting for ever (the demo's blank chart).
        try:
            with pool.connection() as conn:
                scope = school_filter(auth.viewer(conn), school)
                if scope.matches_nothing:
                    return [], None
                found = load_assets(conn, settings, scope.school)
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("equipment page could not read the assets", exc_info=True)
            return no_update, no_update
        tags = [a.tag for a in found]
        return ([{"label": f"{a.tag} · {a.room or ''}", "value": a.tag} for a in found],
                chosen if chosen in tags else default_chart_asset(found))

    @app.callback(
        Output("eq-history", "children"),
        Input("eq-asset", "value"),
        Input("eq-chart-tick", "n_intervals"),
        Input("wo-done", "data"),
        Input("eq-done", "data"),
        Input("page", "search"),
    )
    def history(tag: str | None, _tick: int, _wo: int, _done: int, search: str | None) -> Any:
        lang = language_from_search(search, default)
        if not tag:
            return []
        try:
            with pool.connection() as conn:
                items = load_history(conn, tag, visible=school_filter(auth.viewer(conn), None))
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("asset history could not read the database", exc_info=True)
            return no_update
        return build_history(items, lang, tz)

    @app.callback(
        Output("wo-action-status", "children"),
        Output("wo-done", "data"),
        Output("wo-assignee", "value"),
        Output("wo-note", "value"),
        Input({"type": "wo-open", "id": ALL}, "n_clicks"),
        Input({"type": "wo-assign", "id": ALL}, "n_clicks"),
        Input({"type": "wo-close", "id": ALL}, "n_clicks"),
        State("wo-assignee", "value"),
        State("wo-note", "value"),
        State("wo-done", "data"),
        State("page", "search"),
        prevent_initial_call=True,
    )
    def work(_opens: list[int | None], _assigns: list[int | None], _closes: list[int | None],
             assignee: str | None, note: str | None, done: int | None,
             search: str | None) -> tuple[Any, Any, Any, Any]:
        trigger = ctx.triggered_id
        # Re-rendered buttons come back with n_clicks 0: only a real click acts.
        if not isinstance(trigger, dict) or not ctx.triggered or not ctx.triggered[0]["value"]:
            return no_update, no_update, no_update, no_update
        lang = language_from_search(search, default)
        try:
            with pool.connection() as conn:
                message, acted = work_step(conn, auth.viewer(conn), kind=trigger["type"],
                                           target=int(trigger["id"]), assignee=assignee,
                                           note=note, lang=lang)
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("work order step failed", exc_info=True)
            return t(lang, "db_error"), no_update, no_update, no_update
        if not acted:
            return message, no_update, no_update, no_update
        return message, (done or 0) + 1, "", ""
