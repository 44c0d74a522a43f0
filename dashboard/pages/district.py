"""District control room: totals, a tile per school, arrivals and the gates.

The gate panel depends on who looks (dashboard.access.wall_view), decided again on every
refresh: a public wall's anonymous screen gets passages counted per school; the kiosk and
district-wide accounts get the live feed with class and decision, and masked names only
where SMARTSCHOOL_DASHBOARD_WALL_NAMES allows. The same answer goes to a browser and to
anyone POSTing to Dash's callback endpoint by hand, so nothing else guards the names.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg
import psycopg_pool
from dash import Dash, Input, Output, dcc, html, no_update

from dashboard.access import wall_view
from dashboard.builders.district import (
    build_arrivals_figure,
    build_clock,
    build_event_feed,
    build_gate_activity,
    build_school_tiles,
    build_totals,
)
from dashboard.data.district import ACTIVITY_WINDOW_MIN, SnapshotCache
from dashboard.i18n import LANGUAGES, Lang, coerce_lang, t
from dashboard.login import DashboardAuth
from dashboard.pages.language import register_language_sync

log = logging.getLogger(__name__)

# The brief for wall screens: fresh within 2 s, never faster (each tick is a round trip).
REFRESH_MS: Final = 2000

# Texts that only change with the language, by element id.
_STATIC_TEXTS: Final = {
    "title": "title",
    "subtitle": "subtitle",
    "schools-title": "schools",
    "arrivals-title": "arrivals_chart",
}


def layout(default_lang: Lang) -> html.Div:
    # Every text is filled in by the render callback, so a language switch redraws it all.
    return html.Div(
        [
            dcc.Location(id="url", refresh=False),
            dcc.Interval(id="tick", interval=REFRESH_MS, n_intervals=0),
            html.Header(
                [
                    html.Div(
                        [html.H1(id="title"), html.Div(id="subtitle", className="subtitle")],
                        className="brand",
                    ),
                    html.Div(
                        [
                            html.Div(id="clock-time", className="clock-time"),
                            html.Div(id="clock-date", className="clock-date"),
                        ],
                        className="clock",
                    ),
                    dcc.RadioItems(
                        id="lang",
                        options=[{"label": code.upper(), "value": code} for code in LANGUAGES],
                        value=default_lang,
                        inline=True,
                        className="lang-switch",
                    ),
                ],
                className="topbar",
            ),
            html.Div(id="status", className="status hidden"),
            html.Section(id="totals", className="totals"),
            html.Main(
                [
                    html.Section(
                        [
                            html.H2(id="schools-title"),
                            html.Div(id="tiles", className="tiles"),
                        ],
                        className="schools-panel",
                    ),
                    html.Aside(
                        [
                            html.H2(id="arrivals-title"),
                            dcc.Graph(
                                id="arrivals",
                                config={"displayModeBar": False, "responsive": True},
                                className="arrivals",
                                style={"height": "13rem"},
                            ),
                            html.H2(id="feed-title"),
                            html.Div(id="feed", className="feed"),
                        ],
                        className="side-panel",
                    ),
                ],
                className="main",
            ),
        ],
        className="app",
    )


def register_callbacks(
    app: Dash, *, snapshots: SnapshotCache, tz: ZoneInfo, default_lang: Lang,
    auth: DashboardAuth, wall_names: bool = False,
) -> None:
    register_language_sync(app, switch="lang", location="url", default=default_lang)

    outputs = [Output(element, "children") for element in _STATIC_TEXTS] + [
        Output("clock-time", "children"),
        Output("clock-date", "children"),
        Output("feed-title", "children"),
        Output("totals", "children"),
        Output("tiles", "children"),
        Output("feed", "children"),
        Output("arrivals", "figure"),
        Output("status", "children"),
        Output("status", "className"),
    ]

    @app.callback(*outputs, Input("tick", "n_intervals"), Input("lang", "value"))
    def render(_tick: int, value: str | None) -> tuple[Any, ...]:
        lang = coerce_lang(value, default_lang)
        texts = tuple(t(lang, key) for key in _STATIC_TEXTS.values())
        # The clock runs off the server's clock so it keeps moving while the database is away.
        clock = build_clock(datetime.now(tz), lang)
        try:
            view = wall_view(auth.viewer(), names=wall_names)
            snap = snapshots.get()
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            # Keep the last good figures on the wall and say they are stale.
            log.warning("dashboard could not read the database", exc_info=True)
            stale = (no_update,) * 5
            return (*texts, *clock, *stale, t(lang, "db_error"), "status error")
        names = {row.school: row.name for row in snap.schools}
        if view == "aggregate":
            gates_title = t(lang, "gate_activity").format(minutes=ACTIVITY_WINDOW_MIN)
            gates = build_gate_activity(snap.activity, names, lang, ACTIVITY_WINDOW_MIN)
        else:
            gates_title = t(lang, "gate_feed")
            gates = build_event_feed(snap.events, names, lang, tz,
                                     show_names=view == "names")
        return (
            *texts,
            *clock,
            gates_title,
            build_totals(snap.schools, lang),
            build_school_tiles(snap.schools, lang),
            gates,
            build_arrivals_figure(snap.arrivals, lang),
            "",
            "status hidden",
        )
