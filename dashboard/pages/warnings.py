"""The warnings page (``/warnings``, issue 15): open warnings and forecasts, a tile per
kind and the list, newest first. Vietnamese first, English with ``?lang=en``. Every
signed-in role sees it, narrowed as /api/v1/warnings narrows: a school's staff their own
school, a facility manager the equipment kinds only.
"""

from __future__ import annotations

import logging
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg
import psycopg_pool
from dash import Dash, Input, Output, dcc, html, no_update

from core.settings import Settings
from dashboard.access import WARNINGS_PATH, school_filter
from dashboard.builders.warnings import (
    build_table,
    build_tiles,
    computed_line,
    kind_options,
)
from dashboard.data.warnings import load_warnings
from dashboard.i18n import language_from_search, t
from dashboard.login import DashboardAuth

log = logging.getLogger(__name__)

PATH: Final = WARNINGS_PATH
# Warnings change nightly (or on an operator's run): a minute is more than fresh enough.
REFRESH_MS: Final = 60_000


def layout() -> html.Div:
    return html.Div(
        [
            dcc.Interval(id="warn-tick", interval=REFRESH_MS, n_intervals=0),
            html.Header(html.Div([html.H1(id="warn-title"),
                                  html.Div(id="warn-subtitle", className="subtitle")],
                                 className="brand"), className="topbar"),
            html.Div(id="warn-status", className="status hidden"),
            html.Div(id="warn-computed", className="subtitle"),
            html.Div(id="warn-tiles", className="warn-tiles"),
            dcc.RadioItems(id="warn-kind", options=[], value="", inline=True,
                           className="warn-filter"),
            html.Section(html.Div(id="warn-list"), className="kpi-panel"),
        ],
        className="app warn-page",
    )


def register_callbacks(app: Dash, *, pool: psycopg_pool.ConnectionPool[Any],
                       settings: Settings, auth: DashboardAuth) -> None:
    tz = ZoneInfo(settings.timezone)

    @app.callback(
        Output("warn-title", "children"), Output("warn-subtitle", "children"),
        Output("warn-kind", "options"), Output("warn-computed", "children"),
        Output("warn-tiles", "children"), Output("warn-list", "children"),
        Output("warn-status", "children"), Output("warn-status", "className"),
        Input("warn-tick", "n_intervals"), Input("warn-kind", "value"),
        Input("page", "search"),
    )
    def render(_tick: int, kind: str | None, search: str | None) -> tuple[Any, ...]:
        lang = language_from_search(search, settings.language)
        texts = (t(lang, "warn_title"), t(lang, "warn_subtitle"))
        try:
            with pool.connection() as conn:
                viewer = auth.viewer(conn)
                scope = school_filter(viewer, None)
                if viewer is None or scope.matches_nothing:
                    # Blank every part: a session that ends leaves nothing behind.
                    notice = t(lang, "session_ended" if viewer is None else "not_allowed_page")
                    return (*texts, [], "", [], [], notice, "status error")
                view = load_warnings(conn, role=viewer.role, school=scope.school,
                                     kind=kind or None)
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("warnings page could not read the database", exc_info=True)
            return (*texts, *(no_update,) * 4, t(lang, "db_error"), "status error")
        total = sum(n for k, n in view.counts.items() if not kind or k == kind)
        return (*texts, kind_options(list(view.counts), lang),
                computed_line(view.last_run, lang, tz), build_tiles(view.counts, lang),
                build_table(view.rows, lang, tz, total=total), "", "status hidden")
