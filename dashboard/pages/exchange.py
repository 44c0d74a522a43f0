"""The exchange page (``/exchange``, issue 15): what the hub pushes to the city's systems,
a tile per delivery state, the receivers, and the recent deliveries with their tries,
last error and next try. Vietnamese first, English with ``?lang=en``. District admins only,
as /api/v1/exchange/deliveries answers (dashboard.access ``sees_exchange``).
"""

from __future__ import annotations

import logging
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg
import psycopg_pool
from dash import Dash, Input, Output, dcc, html, no_update

from core.settings import Settings
from dashboard.access import EXCHANGE_PATH, sees_exchange
from dashboard.builders.exchange import build_deliveries, build_endpoints, build_tiles
from dashboard.data.exchange import load_exchange
from dashboard.i18n import language_from_search, t
from dashboard.login import DashboardAuth

log = logging.getLogger(__name__)

PATH: Final = EXCHANGE_PATH
# Pushes go a few times a day; retries come minutes apart.
REFRESH_MS: Final = 30_000


def layout() -> html.Div:
    return html.Div(
        [
            dcc.Interval(id="xp-tick", interval=REFRESH_MS, n_intervals=0),
            html.Header(html.Div([html.H1(id="xp-title"),
                                  html.Div(id="xp-subtitle", className="subtitle")],
                                 className="brand"), className="topbar"),
            html.Div(id="xp-status", className="status hidden"),
            html.Div(id="xp-tiles"),
            html.Section([html.H2(id="xp-endpoints-title"), html.Div(id="xp-endpoints")],
                         className="xp-panel"),
            html.Section([html.H2(id="xp-deliveries-title"), html.Div(id="xp-deliveries")],
                         className="xp-panel"),
        ],
        className="app exchange-page",
    )


def register_callbacks(app: Dash, *, pool: psycopg_pool.ConnectionPool[Any],
                       settings: Settings, auth: DashboardAuth) -> None:
    tz = ZoneInfo(settings.timezone)

    @app.callback(
        Output("xp-title", "children"), Output("xp-subtitle", "children"),
        Output("xp-tiles", "children"),
        Output("xp-endpoints-title", "children"), Output("xp-endpoints", "children"),
        Output("xp-deliveries-title", "children"), Output("xp-deliveries", "children"),
        Output("xp-status", "children"), Output("xp-status", "className"),
        Input("xp-tick", "n_intervals"), Input("page", "search"),
    )
    def render(_tick: int, search: str | None) -> tuple[Any, ...]:
        lang = language_from_search(search, settings.language)
        texts = (t(lang, "xp_title"), t(lang, "xp_subtitle"))
        heads = (t(lang, "xp_endpoints"), t(lang, "xp_deliveries"))
        try:
            with pool.connection() as conn:
                viewer = auth.viewer(conn)
                if not sees_exchange(viewer):
                    # Blank every part: a session that ends leaves nothing behind.
                    notice = t(lang, "session_ended" if viewer is None else "not_allowed_page")
                    return (*texts, [], "", [], "", [], notice, "status error")
                view = load_exchange(conn)
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("exchange page could not read the database", exc_info=True)
            return (*texts, *(no_update,) * 5, t(lang, "db_error"), "status error")
        return (*texts, build_tiles(view.counts, lang),
                heads[0], build_endpoints(view.endpoints, view.counts, lang, tz),
                heads[1], build_deliveries(view.deliveries, lang, tz), "", "status hidden")
