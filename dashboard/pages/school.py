"""School page for school staff (``/school/<id>``): today's arrivals over time, the late
and absent lists, each class's register with its corrections, and exports.

Reads go through dashboard.data.school (the same report code the API answers with);
exports are built server-side by dashboard.builders.school and handed to a
``dcc.Download`` (no API token involved).

The page lists children's full names, so it needs a login (dashboard.login): the page
switch only builds it for an account that may see the school (dashboard.access), and
every callback here checks again against the database before reading anything, since
a callback can be called without the page: another school's id, class or export gives
nothing but the "not allowed" notice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg
import psycopg_pool
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update

from core.settings import Settings
from dashboard.access import Viewer, devices_href, lessons_href, page_of, sees_school
from dashboard.builders.corrections import correction_panel, opened
from dashboard.builders.district import build_arrivals_figure
from dashboard.builders.school import (
    EXPORTS,
    build_absent_list,
    build_class_options,
    build_download,
    build_late_list,
    build_register,
    build_school_header,
    build_school_kpis,
    export_heading,
)
from dashboard.data import Conn
from dashboard.data.corrections import correct_day, may_correct_class
from dashboard.data.district import Now, district_now
from dashboard.data.school import load_export, load_register, load_school
from dashboard.i18n import LANGUAGES, Lang, coerce_lang, t
from dashboard.login import DashboardAuth
from dashboard.pages.correction_form import (
    CorrectionForm,
    Opened,
    Saved,
    register_correction_form,
)
from dashboard.pages.language import register_shell_language_sync, switch_id

log = logging.getLogger(__name__)

SWITCH: Final = switch_id("school")

REFRESH_MS: Final = 5000  # staff screens: fresh enough, and the register runs the engine

_TEXTS: Final = {
    "sc-arrivals-title": "sc_arrivals",
    "sc-late-title": "sc_late_list",
    "sc-absent-title": "sc_absent_list",
    "sc-register-title": "sc_register",
    "sc-exports-title": "sc_exports",
    "sc-export-register-label": "sc_export_register",
    "sc-export-daily-label": "sc_export_daily",
    "sc-devices-link": "dev_link",
}

# Hidden for a school that does not exist, so the page says so instead of empty charts.
_DATA_PARTS: Final = ("sc-kpis", "sc-main", "sc-register-panel")
_SHOWN: Final[tuple[dict[str, str], ...]] = ({},) * len(_DATA_PARTS)
_HIDDEN: Final[tuple[dict[str, str], ...]] = ({"display": "none"},) * len(_DATA_PARTS)


def school_from_path(pathname: str | None) -> str | None:
    """``/school/THCS-HN`` -> ``THCS-HN``; None for any other path."""
    page, school = page_of(pathname)
    return school if page == "school" else None


def _export_button(kind: str, fmt: str) -> html.Button:
    return html.Button(fmt.upper(), id=f"sc-exp-{kind}-{fmt}", n_clicks=0,
                       className=f"sc-btn sc-btn-{fmt}")


def layout(default_lang: Lang, school: str) -> html.Div:
    return html.Div(
        [
            dcc.Store(id="sc-school", data=school),
            dcc.Interval(id="sc-tick", interval=REFRESH_MS, n_intervals=0),
            dcc.Download(id="sc-download"),
            html.Header(
                [
                    html.Div([html.H1(id="sc-title"),
                              html.Div(id="sc-subtitle", className="subtitle")],
                             className="brand"),
                    html.Div(id="sc-hours", className="sc-hours"),
                    dcc.Link(t(default_lang, "dev_link"), id="sc-devices-link",
                             href=devices_href(school), className="sc-btn"),
                    # Classroom attendance (issue 14): texts by dashboard/pages/lessons.py
                    dcc.Link(id="sc-lessons-link", href=lessons_href(school), className="sc-btn"),
                    dcc.RadioItems(
                        id=SWITCH,
                        options=[{"label": code.upper(), "value": code} for code in LANGUAGES],
                        value=default_lang, inline=True, className="lang-switch",
                    ),
                ],
                className="topbar",
            ),
            html.Div(id="sc-status", className="status hidden"),
            html.Section(id="sc-kpis", className="totals sc-kpis"),
            html.Main(
                [
                    html.Section(
                        [html.H2(id="sc-arrivals-title"),
                         dcc.Graph(id="sc-arrivals",
                                   config={"displayModeBar": False, "responsive": True},
                                   className="arrivals", style={"height": "100%"})],
                        className="sc-panel sc-chart-panel",
                    ),
                    html.Section([html.H2(id="sc-late-title"),
                                  html.Div(id="sc-late", className="sc-list")],
                                 className="sc-panel"),
                    html.Section([html.H2(id="sc-absent-title"),
                                  html.Div(id="sc-absent", className="sc-list")],
                                 className="sc-panel"),
                ],
                id="sc-main",
                className="sc-main",
            ),
            html.Section(
                [
                    html.Div(
                        [
                            html.H2(id="sc-register-title"),
                            dcc.Dropdown(id="sc-class", clearable=False, className="sc-class"),
                            html.Div(
                                [
                                    html.Span(id="sc-exports-title", className="sc-exports-title"),
                                    html.Span(id="sc-export-register-label",
                                              className="sc-export-label"),
                                    _export_button("register", "xlsx"),
                                    _export_button("register", "csv"),
                                    html.Span(id="sc-export-daily-label",
                                              className="sc-export-label"),
                                    _export_button("daily", "xlsx"),
                                    _export_button("daily", "csv"),
                                ],
                                className="sc-exports",
                            ),
                        ],
                        className="sc-register-head",
                    ),
                    html.Div(id="sc-corr-flash", className="corr-flash"),
                    html.Div(id="sc-register", className="sc-register"),
                    # Corrections: outside the register, which re-renders every few seconds.
                    dcc.Store(id="sc-corr-target", data=None),
                    dcc.Store(id="sc-corr-done", data=0),
                    correction_panel("sc", with_lesson=False),
                ],
                id="sc-register-panel",
                className="sc-panel sc-register-panel",
            ),
            html.Section([html.H2(id="sc-nic-title"), html.Div(id="sc-nic")],
                         className="sc-panel ls-nic-panel"),
        ],
        className="app sc-page",
    )


def register_callbacks(app: Dash, *, pool: psycopg_pool.ConnectionPool[Any],
                       settings: Settings, auth: DashboardAuth, now: Now | None = None) -> None:
    """``now``: the clock the day is read by (the demo passes its simulated one, as to the
    wall and the lesson register): against the real one a demo replayed in the afternoon
    would find every pupil not yet through its simulated gate absent."""
    tz = ZoneInfo(settings.timezone)
    default: Lang = settings.language

    def clock() -> datetime:
        return district_now(settings, now)

    register_shell_language_sync(app, location="page", default=default)

    @app.callback(
        *[Output(element, "children") for element in _TEXTS],
        Output("sc-title", "children"),
        Output("sc-subtitle", "children"),
        Output("sc-hours", "children"),
        Output("sc-kpis", "children"),
        Output("sc-arrivals", "figure"),
        Output("sc-late", "children"),
        Output("sc-absent", "children"),
        Output("sc-class", "options"),
        Output("sc-class", "value"),
        Output("sc-class", "placeholder"),
        Output("sc-status", "children"),
        Output("sc-status", "className"),
        *[Output(part, "style") for part in _DATA_PARTS],
        Input("sc-tick", "n_intervals"),
        Input(SWITCH, "value"),
        State("sc-school", "data"),
        State("sc-class", "value"),
    )
    def render(_tick: int, value: str | None, school: str | None,
               chosen: int | None) -> tuple[Any, ...]:
        lang = coerce_lang(value, default)
        texts = tuple(t(lang, key) for key in _TEXTS.values())
        try:
            with pool.connection() as conn:
                viewer = auth.viewer(conn)
                if not sees_school(viewer, school):
                    # Blank every part, so a session that ends leaves no names behind.
                    notice = t(lang, "session_ended" if viewer is None else "not_allowed_school")
                    return (*texts, t(lang, "not_allowed_title"), "", "", [],
                            build_arrivals_figure([], lang), [], [], [], None,
                            t(lang, "sc_pick_class"), notice, "status error", *_SHOWN)
                view = load_school(conn, school or "", tz, clock())
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("school page could not read the database", exc_info=True)
            return (*texts, *(no_update,) * 10, t(lang, "db_error"), "status error",
                    *(no_update,) * len(_DATA_PARTS))
        if view is None:
            missing = t(lang, "wall_unknown_school").format(school=school or "")
            return (*texts, t(lang, "sc_unknown_school"), school or "", "", [], no_update,
                    no_update, no_update, [], None, t(lang, "sc_pick_class"), missing,
                    "status error", *_HIDDEN)
        title, subtitle, hours = build_school_header(view, lang, tz)
        options = build_class_options(view.classes, lang)
        ids = [o["value"] for o in options]
        return (
            *texts, title, subtitle, hours,
            build_school_kpis(view.total, lang),
            build_arrivals_figure(view.arrivals, lang),
            build_late_list(view.late, lang, tz),
            build_absent_list(view.missing, lang, tz),
            options,
            chosen if chosen in ids else (ids[0] if ids else None),
            t(lang, "sc_pick_class"),
            "",
            "status hidden",
            *_SHOWN,
        )

    @app.callback(
        Output("sc-register", "children"),
        Input("sc-class", "value"),
        Input("sc-tick", "n_intervals"),
        Input(SWITCH, "value"),
        Input("sc-corr-done", "data"),
    )
    def register(class_id: int | None, _tick: int, value: str | None, _done: int) -> Any:
        lang = coerce_lang(value, default)
        if class_id is None:
            return build_register(None, lang, tz)
        try:
            with pool.connection() as conn:
                viewer = auth.viewer(conn)
                found = load_register(conn, class_id, tz, clock())
                if found is None or not sees_school(viewer, found.school):
                    return build_register(None, lang, tz)  # another school's class: unknown
                can = may_correct_class(conn, viewer, class_id)
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("school register could not read the database", exc_info=True)
            return no_update
        return build_register(found, lang, tz, can_correct=can)

    _register_corrections(app, pool=pool, tz=tz, default=default, auth=auth, clock=clock)

    @app.callback(
        Output("sc-download", "data"),
        *[Input(f"sc-exp-{kind}-{fmt}", "n_clicks") for kind, fmt in EXPORTS],
        State("sc-school", "data"),
        State("sc-class", "value"),
        State(SWITCH, "value"),
        prevent_initial_call=True,
    )
    def export(*args: Any) -> Any:
        school, class_id, lang = args[-3], args[-2], coerce_lang(args[-1], default)
        trigger = ctx.triggered_id
        if not isinstance(trigger, str) or not ctx.triggered or not ctx.triggered[0]["value"]:
            return no_update
        _, _, kind, fmt = trigger.split("-")
        try:
            if not sees_school(auth.viewer(), school):
                return no_update
            return export_file(pool, tz, kind=kind, fmt=fmt, school=school, class_id=class_id,
                               now=clock(),
                               lang=lang)
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("school export could not read the database", exc_info=True)
            return no_update


def _register_corrections(app: Dash, *, pool: psycopg_pool.ConnectionPool[Any], tz: ZoneInfo,
                          default: Lang, auth: DashboardAuth,
                          clock: Callable[[], datetime]) -> None:
    """A row's button opens the form on its pupil; Save corrects the pupil's day
    (dashboard/pages/correction_form.py)."""

    def open_day(conn: Conn, viewer: Viewer | None, student: str, context: tuple[Any, ...],
                 lang: Lang) -> Opened | None:
        (class_id,) = context
        found = load_register(conn, class_id, tz, clock()) if class_id is not None else None
        if (found is None or class_id is None or not sees_school(viewer, found.school)
                or not may_correct_class(conn, viewer, class_id)):
            return None
        row = next((r for r in found.students if r.student == student), None)
        if row is None:
            return None
        return (opened(lang, "day", name=row.full_name, code=row.student,
                       day=found.date.strftime("%d/%m/%Y"), status=row.status),
                {"student": row.student, "name": row.full_name, "day": found.date.isoformat()})

    def save_day(conn: Conn, viewer: Viewer | None, target: dict[str, Any],
                 _lesson: int | None, status: str, reason: str) -> Saved:
        return correct_day(conn, viewer, student=str(target["student"]),
                           day=date.fromisoformat(str(target["day"])), status=status,
                           reason=reason, tz=tz, now=clock())

    register_correction_form(app, CorrectionForm(
        prefix="sc", with_lesson=False, context=(State("sc-class", "value"),),
        language=State(SWITCH, "value"), lang_of=lambda value: coerce_lang(value, default),
        open=open_day, save=save_day), pool=pool, auth=auth)


def export_file(pool: psycopg_pool.ConnectionPool[Any], tz: ZoneInfo, *, kind: str, fmt: str,
                school: str | None, class_id: int | None, now: datetime,
                lang: Lang = "vi") -> dict[str, Any] | None:
    """The ``dcc.Download`` data of one export button; None when there is nothing to export."""
    chosen = next(((k, f) for k, f in EXPORTS if (k, f) == (kind, fmt)), None)
    if chosen is None or not school:
        return None
    with pool.connection() as conn:
        table = load_export(conn, chosen[0], school=school, class_id=class_id, tz=tz, now=now)
    if table is None:
        return None
    heading = export_heading(table.title_kind, lang, name=table.subject, day=table.day)
    return build_download(chosen[1], table.name, table.columns, table.rows, lang, heading)
