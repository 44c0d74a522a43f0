"""The plan's targets page (``/kpi``, issue #13): the district against the plan, then the
wards and schools that hold it back, worst first. Vietnamese first, English with
``?lang=en``. Every signed-in role sees it (counts, never a person); a school's staff see
their own school only, as /api/v1/kpi answers them.
"""

from __future__ import annotations

import logging
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg
import psycopg_pool
from dash import Dash, Input, Output, dcc, html, no_update

from core.settings import Settings
from dashboard.access import KPI_PATH, school_filter
from dashboard.builders.kpi import build_holdback, build_targets, w
from dashboard.data.kpi import load_kpi
from dashboard.i18n import language_from_search, t
from dashboard.login import DashboardAuth

log = logging.getLogger(__name__)

PATH: Final = KPI_PATH
# The indicators move with records and the day's passages: a minute is fresh enough, and
# each refresh reads every school's records.
REFRESH_MS: Final = 60_000


def layout() -> html.Div:
    return html.Div(
        [
            dcc.Interval(id="kpi-tick", interval=REFRESH_MS, n_intervals=0),
            html.Header(html.Div([html.H1(id="kpi-title"),
                                  html.Div(id="kpi-subtitle", className="subtitle")],
                                 className="brand"), className="topbar"),
            html.Div(id="kpi-status", className="status hidden"),
            html.Section([html.H2(id="kpi-head"), html.Div(id="kpi-targets")],
                         className="kpi-panel"),
            html.Section([html.H2(id="kpi-holdback-title"), html.Div(id="kpi-holdback")],
                         className="kpi-panel"),
        ],
        className="app kpi-page",
    )


def register_callbacks(app: Dash, *, pool: psycopg_pool.ConnectionPool[Any],
                       settings: Settings, auth: DashboardAuth) -> None:
    tz = ZoneInfo(settings.timezone)

    @app.callback(
        Output("kpi-title", "children"), Output("kpi-subtitle", "children"),
        Output("kpi-head", "children"), Output("kpi-targets", "children"),
        Output("kpi-holdback-title", "children"), Output("kpi-holdback", "children"),
        Output("kpi-status", "children"), Output("kpi-status", "className"),
        Input("kpi-tick", "n_intervals"), Input("page", "search"),
    )
    def render(_tick: int, search: str | None) -> tuple[Any, ...]:
        lang = language_from_search(search, settings.language)
        texts = (w(lang, "title"), w(lang, "subtitle"))
        try:
            with pool.connection() as conn:
                viewer = auth.viewer(conn)
                scope = school_filter(viewer, None)
                if viewer is None or scope.matches_nothing:
                    # Blank every part: a session that ends leaves nothing behind.
                    notice = t(lang, "session_ended" if viewer is None else "not_allowed_page")
                    return (*texts, "", [], "", [], notice, "status error")
                view = load_kpi(conn, tz, school=scope.school)
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("kpi page could not read the database", exc_info=True)
            return (*texts, *(no_update,) * 4, t(lang, "db_error"), "status error")
        if view is None:
            return (*texts, "", [], "", [], t(lang, "not_allowed_page"), "status error")
        head = w(lang, "district") if view.head.scope == "district" else view.head.name
        return (*texts, head, build_targets(view.head, lang), w(lang, "holdback"),
                build_holdback(view.units, lang) if view.units else [], "", "status hidden")
