"""District control room: totals, the plan's indicators, the schools by ward, arrivals,
open major alarms and offline devices, and the gates; with ``?kiosk=1`` the wall screen's
kiosk mode.

The gate panel depends on who looks (dashboard.access.wall_view), decided again on every
refresh: a public wall's anonymous screen gets passages counted per school; the kiosk and
district-wide accounts get the live feed with class and decision, and masked names only
where SMARTSCHOOL_DASHBOARD_WALL_NAMES allows. The same answer goes to a browser and to
anyone POSTing to Dash's callback endpoint by hand, so nothing else guards the names.
The other panels are counts, rates and device states for every viewer of the wall; the
kiosk's targets view lists wards and schools only for those dashboard.access.wall_units
allows.

Kiosk mode (issue #13): no navigation, the page fills the screen and rotates through the
district wall, the plan's targets and the equipment, every SMARTSCHOOL_DASHBOARD_KIOSK_ROTATE_S
seconds, all read-only (no view carries a button). assets/kiosk.js watches the callbacks
and the server: while the dashboard is unreachable it shows the reconnecting banner, and
once the server answers again it reloads the page, which starts the rotation afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg
import psycopg_pool
from dash import Dash, Input, Output, dcc, html, no_update

from dashboard.access import Access, may_view, wall_units, wall_view
from dashboard.builders.district import (
    build_arrivals_figure,
    build_clock,
    build_event_feed,
    build_gate_activity,
    build_totals,
)
from dashboard.builders.kpi import w
from dashboard.builders.wall import (
    KIOSK_VIEWS,
    build_attention,
    build_kiosk_equipment,
    build_kiosk_kpi,
    build_kiosk_tabs,
    build_kpi_strip,
    build_ward_groups,
    is_kiosk,
    kiosk_view_at,
    kiosk_view_class,
    rotate_interval_ms,
)
from dashboard.data.district import ACTIVITY_WINDOW_MIN, Now, SnapshotCache
from dashboard.data.kpi import KpiView
from dashboard.data.wall import TtlCache
from dashboard.i18n import LANGUAGES, Lang, coerce_lang, t
from dashboard.login import DashboardAuth
from dashboard.pages.language import register_language_sync

log = logging.getLogger(__name__)

# The brief for wall screens: fresh within 2 s, never faster (each tick is a round trip).
REFRESH_MS: Final = 2000
# The indicator strip: the figures move slowly and come from a one-minute cache.
KPI_REFRESH_MS: Final = 30_000
# The kiosk's targets and equipment views: their clocks and alarms, from the caches.
KIOSK_VIEW_REFRESH_MS: Final = 5000
DEFAULT_ROTATE_S: Final = 20  # SMARTSCHOOL_DASHBOARD_KIOSK_ROTATE_S's default

# Texts that only change with the language, by element id.
_STATIC_TEXTS: Final = {
    "title": "title",
    "subtitle": "subtitle",
    "schools-title": "wall_schools_by_ward",
    "arrivals-title": "arrivals_chart",
    "attention-title": "wall_attention",
    "wall-kpis-title": "wall_kpi_strip",
}


def kiosk_mode(search: str | None) -> bool:
    """Whether the page switch builds the kiosk layout for this query string."""
    return is_kiosk(search)


def _wall(default_lang: Lang) -> list[Any]:
    # Every text is filled in by the render callbacks, so a language switch redraws it all.
    return [
        dcc.Location(id="url", refresh=False),
        dcc.Interval(id="tick", interval=REFRESH_MS, n_intervals=0),
        dcc.Interval(id="wall-kpi-tick", interval=KPI_REFRESH_MS, n_intervals=0),
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
        html.Section([html.H2(id="wall-kpis-title", className="wall-kpis-title"),
                      html.Div(id="wall-kpis", className="wall-kpis")],
                     className="wall-kpis-panel"),
        html.Main(
            [
                html.Section(
                    [
                        html.H2(id="schools-title"),
                        html.Div(id="tiles", className="tiles wards"),
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
                            style={"height": "11rem"},
                        ),
                        html.H2(id="attention-title"),
                        html.Div(id="attention", className="attention"),
                        html.H2(id="feed-title"),
                        html.Div(id="feed", className="feed"),
                    ],
                    className="side-panel",
                ),
            ],
            className="main",
        ),
    ]


def _kiosk_topbar(prefix: str) -> html.Header:
    return html.Header(
        [
            html.Div([html.H1(id=f"{prefix}-title"),
                      html.Div(id=f"{prefix}-subtitle", className="subtitle")],
                     className="brand"),
            html.Div(html.Div(id=f"{prefix}-clock", className="clock-time"), className="clock"),
        ],
        className="topbar",
    )


def layout(default_lang: Lang, *, kiosk: bool = False,
           rotate_s: int = DEFAULT_ROTATE_S) -> html.Div:
    """The wall; with ``kiosk`` its kiosk mode, turning every ``rotate_s`` seconds
    (SMARTSCHOOL_DASHBOARD_KIOSK_ROTATE_S)."""
    if not kiosk:
        return html.Div(_wall(default_lang), className="app")
    first = kiosk_view_at(0)
    pace: dict[str, Any] = {"data-rotate-ms": str(rotate_interval_ms(rotate_s))}
    return html.Div(
        [
            dcc.Interval(id="kiosk-view-tick", interval=KIOSK_VIEW_REFRESH_MS, n_intervals=0),
            # Filled in the page's language; assets/kiosk.js shows it while the server is away.
            html.Div(id="kiosk-reconnect", className="kiosk-reconnect", role="alert"),
            html.Nav(build_kiosk_tabs(first, default_lang), id="kiosk-tabs",
                     className="kiosk-tabs"),
            html.Div(_wall(default_lang), id="kiosk-view-district",
                     className=kiosk_view_class("district", first)),
            html.Div(
                [
                    _kiosk_topbar("kiosk-kpi"),
                    html.Div(id="kiosk-kpi-status", className="status hidden"),
                    html.Section([html.H2(id="kiosk-kpi-head"),
                                  html.Div(id="kiosk-kpi-targets")], className="kpi-panel"),
                    html.Section([html.H2(id="kiosk-kpi-holdback-title"),
                                  html.Div(id="kiosk-kpi-holdback")], className="kpi-panel"),
                ],
                id="kiosk-view-kpi", className=kiosk_view_class("kpi", first),
            ),
            html.Div(
                [
                    _kiosk_topbar("kiosk-eq"),
                    html.Div(id="kiosk-eq-status", className="status hidden"),
                    html.Section(id="kiosk-eq-stats", className="totals wall-eq-stats"),
                    html.Main(
                        [
                            html.Section([html.H2(id="kiosk-eq-schools-title"),
                                          html.Div(id="kiosk-eq-schools",
                                                   className="wall-eq-schools")],
                                         className="schools-panel"),
                            html.Aside([html.H2(id="kiosk-eq-alarms-title"),
                                        html.Div(id="kiosk-eq-alarms", className="attention")],
                                       className="side-panel"),
                        ],
                        className="main",
                    ),
                ],
                id="kiosk-view-equipment", className=kiosk_view_class("equipment", first),
            ),
        ],
        id="kiosk", className="kiosk",
        # assets/kiosk.js turns the views in this order (KIOSK_VIEWS) at this pace: in the
        # browser, since a round trip per turn skips a view whenever an answer comes late
        # (Dash drops one overtaken by the next), and the screen keeps turning while the
        # server is away.
        **pace,
    )


def register_callbacks(
    app: Dash, *, snapshots: SnapshotCache, tz: ZoneInfo, default_lang: Lang,
    auth: DashboardAuth, wall_names: bool = False, kpis: TtlCache[KpiView | None] | None = None,
    now: Now | None = None,
) -> None:
    """``kpis`` is the indicators' cache (None: no strip, no targets view); ``now`` the
    clock the wall counts by (the demo's simulated one; None: the real clock)."""
    register_language_sync(app, switch="lang", location="url", default=default_lang)

    def wall_now() -> datetime:
        return (now() if now is not None else datetime.now(tz)).astimezone(tz)

    def allowed() -> bool:
        viewer = auth.viewer()
        return may_view(viewer, "district", public_district=auth.public_district) is Access.ALLOW

    outputs = [Output(element, "children") for element in _STATIC_TEXTS] + [
        Output("clock-time", "children"),
        Output("clock-date", "children"),
        Output("feed-title", "children"),
        Output("totals", "children"),
        Output("tiles", "children"),
        Output("feed", "children"),
        Output("arrivals", "figure"),
        Output("attention", "children"),
        Output("status", "children"),
        Output("status", "className"),
    ]

    @app.callback(*outputs, Input("tick", "n_intervals"), Input("lang", "value"))
    def render(_tick: int, value: str | None) -> tuple[Any, ...]:
        lang = coerce_lang(value, default_lang)
        texts = tuple(t(lang, key) for key in _STATIC_TEXTS.values())
        # The clock runs off the server's clock so it keeps moving while the database is away.
        clock = build_clock(wall_now(), lang)
        try:
            view = wall_view(auth.viewer(), names=wall_names)
            snap = snapshots.get()
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            # Keep the last good figures on the wall and say they are stale.
            log.warning("dashboard could not read the database", exc_info=True)
            stale = (no_update,) * 6
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
            build_ward_groups(snap.schools, snap.wards, lang),
            gates,
            build_arrivals_figure(snap.arrivals, lang),
            build_attention(snap.alarms, snap.devices, names, lang, tz),
            "",
            "status hidden",
        )

    @app.callback(Output("wall-kpis", "children"), Input("wall-kpi-tick", "n_intervals"),
                  Input("lang", "value"))
    def strip(_tick: int, value: str | None) -> Any:
        lang = coerce_lang(value, default_lang)
        if kpis is None:
            return []
        try:
            if not allowed():
                return []
            found = kpis.get()
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("wall could not read the indicators", exc_info=True)
            return no_update
        return build_kpi_strip(found.head if found else None, lang)

    _register_kiosk(app, snapshots=snapshots, tz=tz, default_lang=default_lang, auth=auth,
                    kpis=kpis, wall_now=wall_now, allowed=allowed)


def _register_kiosk(
    app: Dash, *, snapshots: SnapshotCache, tz: ZoneInfo, default_lang: Lang,
    auth: DashboardAuth, kpis: TtlCache[KpiView | None] | None,
    wall_now: Callable[[], datetime], allowed: Callable[[], bool],
) -> None:
    """The kiosk layout's callbacks: its texts and the targets and equipment views (the
    rotation itself is assets/kiosk.js's)."""

    @app.callback(
        *[Output(f"kiosk-tab-{view}", "children") for view in KIOSK_VIEWS],
        Output("kiosk-reconnect", "children"),
        Input("lang", "value"),
    )
    def kiosk_texts(value: str | None) -> tuple[Any, ...]:
        lang = coerce_lang(value, default_lang)
        return (*(t(lang, f"wall_view_{view}") for view in KIOSK_VIEWS),
                t(lang, "wall_reconnecting"))

    @app.callback(
        Output("kiosk-kpi-title", "children"), Output("kiosk-kpi-subtitle", "children"),
        Output("kiosk-kpi-clock", "children"),
        Output("kiosk-kpi-head", "children"), Output("kiosk-kpi-targets", "children"),
        Output("kiosk-kpi-holdback-title", "children"), Output("kiosk-kpi-holdback", "children"),
        Output("kiosk-kpi-status", "children"), Output("kiosk-kpi-status", "className"),
        Input("kiosk-view-tick", "n_intervals"), Input("lang", "value"),
    )
    def kiosk_kpi(_tick: int, value: str | None) -> tuple[Any, ...]:
        lang = coerce_lang(value, default_lang)
        texts = (t(lang, "wall_kpi_title"), t(lang, "wall_kpi_subtitle"),
                 build_clock(wall_now(), lang)[0])
        if kpis is None:
            return (*texts, "", [], "", [], "", "status hidden")
        try:
            viewer = auth.viewer()
            if not allowed():
                return (*texts, "", [], "", [], t(lang, "not_allowed_page"), "status error")
            found = kpis.get()
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("kiosk could not read the indicators", exc_info=True)
            return (*texts, *(no_update,) * 4, t(lang, "db_error"), "status error")
        units = found.units if found is not None and wall_units(viewer) else []
        targets, holdback = build_kiosk_kpi(found.head if found else None, units, lang)
        if not units:  # the district's figures only, large enough to fill the screen
            return (texts[0], t(lang, "wall_kpi_subtitle_district"), texts[2],
                    t(lang, "all_schools"), html.Div(targets, className="wall-kpi-big"), "",
                    html.Div(), "", "status hidden")
        return (*texts, t(lang, "all_schools"), targets, w(lang, "holdback"), holdback, "",
                "status hidden")

    @app.callback(
        Output("kiosk-eq-title", "children"), Output("kiosk-eq-subtitle", "children"),
        Output("kiosk-eq-clock", "children"),
        Output("kiosk-eq-schools-title", "children"), Output("kiosk-eq-alarms-title", "children"),
        Output("kiosk-eq-stats", "children"), Output("kiosk-eq-schools", "children"),
        Output("kiosk-eq-alarms", "children"),
        Output("kiosk-eq-status", "children"), Output("kiosk-eq-status", "className"),
        Input("kiosk-view-tick", "n_intervals"), Input("lang", "value"),
    )
    def kiosk_equipment(_tick: int, value: str | None) -> tuple[Any, ...]:
        lang = coerce_lang(value, default_lang)
        texts = (t(lang, "wall_eq_title"), t(lang, "wall_eq_subtitle"),
                 build_clock(wall_now(), lang)[0], t(lang, "wall_eq_by_school"),
                 t(lang, "wall_eq_alarm_list"))
        try:
            if not allowed():
                return (*texts, [], [], [], t(lang, "not_allowed_page"), "status error")
            snap = snapshots.get()
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("kiosk could not read the equipment", exc_info=True)
            return (*texts, *(no_update,) * 3, t(lang, "db_error"), "status error")
        stats, table, alarms = build_kiosk_equipment(snap.schools, snap.wards, snap.devices,
                                                     snap.alarms, lang, tz)
        return (*texts, stats, table, alarms, "", "status hidden")
