"""The fleet view (``/fleet``, issue #13): each device's firmware, configuration version,
last contact, outbox backlog and clock sync, as its ``status`` last reported them
(docs/protocol.md), with decommissioned devices in a table of their own.

District admins and the control room see the district, a school admin their own school
(dashboard.access ``fleet_scope``); every refresh checks the account again.
"""

from __future__ import annotations

import logging
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg
import psycopg_pool
from dash import Dash, Input, Output, dcc, html, no_update

from core.settings import Settings
from dashboard.access import FLEET_PATH, fleet_scope
from dashboard.builders.fleet import build_fleet_kpis, build_fleet_table, split_fleet, summarise
from dashboard.data.fleet import fleet_schools, load_fleet
from dashboard.i18n import Lang, language_from_search, t
from dashboard.login import DashboardAuth

log = logging.getLogger(__name__)

PATH: Final = FLEET_PATH
REFRESH_MS: Final = 10_000  # devices report on connection and heartbeat: no hurry

_TEXTS: Final = {
    "fleet-title": "fleet_title",
    "fleet-subtitle": "fleet_subtitle",
    "fleet-active-title": "fleet_active",
    "fleet-gone-title": "fleet_decommissioned",
}


def layout(default_lang: Lang) -> html.Div:
    return html.Div(
        [
            dcc.Interval(id="fleet-tick", interval=REFRESH_MS, n_intervals=0),
            html.Header(
                [
                    html.Div([html.H1(id="fleet-title"),
                              html.Div(id="fleet-subtitle", className="subtitle")],
                             className="brand"),
                    dcc.Dropdown(id="fleet-school", clearable=True, className="eq-school",
                                 placeholder=t(default_lang, "fleet_all_schools")),
                ],
                className="topbar",
            ),
            html.Div(id="fleet-status", className="status hidden"),
            html.Section(id="fleet-kpis", className="totals eq-kpis"),
            html.Section([html.H2(id="fleet-active-title"), html.Div(id="fleet-active")],
                         className="kpi-panel"),
            html.Section([html.H2(id="fleet-gone-title"), html.Div(id="fleet-gone")],
                         className="kpi-panel fleet-gone"),
        ],
        className="app fleet-page",
    )


def register_callbacks(app: Dash, *, pool: psycopg_pool.ConnectionPool[Any],
                       settings: Settings, auth: DashboardAuth) -> None:
    tz = ZoneInfo(settings.timezone)
    default: Lang = settings.language

    @app.callback(
        *[Output(element, "children") for element in _TEXTS],
        Output("fleet-kpis", "children"),
        Output("fleet-active", "children"),
        Output("fleet-gone", "children"),
        Output("fleet-school", "options"),
        Output("fleet-school", "placeholder"),
        Output("fleet-status", "children"),
        Output("fleet-status", "className"),
        Input("fleet-tick", "n_intervals"),
        Input("page", "search"),
        Input("fleet-school", "value"),
    )
    def render(_tick: int, search: str | None, school: str | None) -> tuple[Any, ...]:
        lang = language_from_search(search, default)
        texts = tuple(t(lang, key) for key in _TEXTS.values())
        placeholder = t(lang, "fleet_all_schools")
        try:
            with pool.connection() as conn:
                scope = fleet_scope(auth.viewer(conn))
                if scope.matches_nothing:
                    return (*texts, [], [], [], [], placeholder,
                            t(lang, "not_allowed_page"), "status error")
                # A picked school narrows; a school admin's scope is never widened.
                chosen = scope.school or school
                rows = load_fleet(conn, settings, chosen)
                schools = fleet_schools(conn, scope.school)
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("fleet view could not read the database", exc_info=True)
            return (*texts, *(no_update,) * 5, t(lang, "db_error"), "status error")
        active, gone = split_fleet(rows)
        return (*texts, build_fleet_kpis(summarise(active), lang),
                build_fleet_table(active, lang, tz),
                build_fleet_table(gone, lang, tz, decommissioned=True),
                [{"label": n, "value": i} for i, n in schools], placeholder,
                "", "status hidden")
