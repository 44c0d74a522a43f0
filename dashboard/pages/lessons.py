"""A school's lesson register (``/school/<id>/lessons``, issue 14): for a class, today's
lessons by its timetable and each pupil's status in each (present, late, absent, excused,
pending before the lesson's cutoff), with the first sighting at the room's door and the
flags; the school's "in school, not in class" list; CSV and XLSX exports of the class's
lesson register, as the API's (GET /api/v1/attendance/lessons?format=).

The school page shows the same "in school, not in class" list in its own panel; its
callback is registered here, beside the page that owns the words.

Every callback checks the account against the database before reading anything, as the
school page does: another school's class or export gives nothing.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg
import psycopg_pool
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update

from core.settings import Settings
from dashboard.access import Viewer, school_href, sees_school
from dashboard.builders.corrections import (
    correction_panel,
    default_lesson,
    lesson_options,
    opened,
)
from dashboard.builders.lessons import (
    FileFormat,
    build_class_options,
    build_download,
    build_lesson_grid,
    build_not_in_class,
)
from dashboard.data import Conn
from dashboard.data.corrections import correct_in_lesson, may_correct_class
from dashboard.data.district import Now, district_now
from dashboard.data.lessons import lesson_export, load_lessons, load_not_in_class, load_page
from dashboard.i18n import Lang, coerce_lang, language_from_search, t
from dashboard.login import DashboardAuth
from dashboard.pages.correction_form import (
    CorrectionForm,
    Opened,
    Saved,
    register_correction_form,
)
from dashboard.pages.language import switch_id

log = logging.getLogger(__name__)

REFRESH_MS: Final = 10_000
FORMATS: Final[tuple[FileFormat, ...]] = ("xlsx", "csv")

_TEXTS: Final = {
    "ls-register-title": "ls_register",
    "ls-nic-title": "ls_not_in_class",
    "ls-exports-title": "ls_exports",
}


def layout(default_lang: Lang, school: str) -> html.Div:
    return html.Div(
        [
            dcc.Store(id="ls-school", data=school),
            dcc.Interval(id="ls-tick", interval=REFRESH_MS, n_intervals=0),
            dcc.Download(id="ls-download"),
            html.Header(
                [
                    html.Div([html.H1(id="ls-title"),
                              html.Div(id="ls-subtitle", className="subtitle")],
                             className="brand"),
                    dcc.Link(t(default_lang, "ls_back"), id="ls-back",
                             href=school_href(school), className="sc-btn"),
                ],
                className="topbar",
            ),
            html.Div(id="ls-status", className="status hidden"),
            html.Section(
                [
                    html.Div(
                        [
                            html.H2(id="ls-register-title"),
                            dcc.Dropdown(id="ls-class", clearable=False, className="sc-class"),
                            html.Div(
                                [html.Span(id="ls-exports-title", className="sc-exports-title")]
                                + [html.Button(fmt.upper(), id=f"ls-exp-{fmt}", n_clicks=0,
                                               className=f"sc-btn sc-btn-{fmt}")
                                   for fmt in FORMATS],
                                className="sc-exports",
                            ),
                        ],
                        className="sc-register-head",
                    ),
                    html.Div(id="ls-corr-flash", className="corr-flash"),
                    html.Div(id="ls-grid-box", className="sc-register ls-grid-box"),
                    # Corrections: outside the grid, which re-renders every few seconds.
                    dcc.Store(id="ls-corr-target", data=None),
                    dcc.Store(id="ls-corr-done", data=0),
                    correction_panel("ls", with_lesson=True),
                ],
                className="sc-panel sc-register-panel",
            ),
            html.Section([html.H2(id="ls-nic-title"), html.Div(id="ls-nic")],
                         className="sc-panel ls-nic-panel"),
        ],
        className="app sc-page ls-page",
    )


def register_callbacks(app: Dash, *, pool: psycopg_pool.ConnectionPool[Any],
                       settings: Settings, auth: DashboardAuth, now: Now | None = None) -> None:
    """``now``: the clock the day is read by (the demo passes its simulated one, as to the
    wall), so a lesson replayed in the afternoon is not one every pupil missed."""
    tz = ZoneInfo(settings.timezone)
    default: Lang = settings.language

    def clock() -> datetime:
        return district_now(settings, now)

    @app.callback(
        Output("ls-title", "children"),
        Output("ls-subtitle", "children"),
        *[Output(element, "children") for element in _TEXTS],
        Output("ls-back", "children"),
        Output("ls-back", "href"),
        Output("ls-class", "options"),
        Output("ls-class", "value"),
        Output("ls-class", "placeholder"),
        Output("ls-nic", "children"),
        Output("ls-status", "children"),
        Output("ls-status", "className"),
        Input("ls-tick", "n_intervals"),
        Input("page", "search"),
        State("ls-school", "data"),
        State("ls-class", "value"),
    )
    def render(_tick: int, search: str | None, school: str | None,
               chosen: int | None) -> tuple[Any, ...]:
        lang = language_from_search(search, default)
        texts = tuple(t(lang, key) for key in _TEXTS.values())
        back = (t(lang, "ls_back"), f"{school_href(school or '')}?lang={lang}")
        now = clock()
        try:
            with pool.connection() as conn:
                viewer = auth.viewer(conn)
                if school is None or not sees_school(viewer, school):
                    notice = t(lang, "session_ended" if viewer is None else "not_allowed_school")
                    return (t(lang, "ls_title"), "", *texts, *back, [], None,
                            t(lang, "ls_pick_class"), [], notice, "status error")
                page = load_page(conn, school)
                flagged = load_not_in_class(conn, school, tz, now) if page else []
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("lesson page could not read the database", exc_info=True)
            return (t(lang, "ls_title"), no_update, *texts, *back, *(no_update,) * 4,
                    t(lang, "db_error"), "status error")
        if page is None:
            return (t(lang, "ls_title"), school, *texts, *back, [], None,
                    t(lang, "ls_pick_class"), [], t(lang, "ls_unknown_school"), "status error")
        options = build_class_options(page.classes)
        ids = [o["value"] for o in options]
        return (f"{t(lang, 'ls_title')} · {page.name}", now.strftime("%d/%m/%Y"), *texts,
                *back, options, chosen if chosen in ids else (ids[0] if ids else None),
                t(lang, "ls_pick_class"), build_not_in_class(flagged, lang, tz), "",
                "status hidden")

    @app.callback(
        Output("ls-grid-box", "children"),
        Input("ls-class", "value"),
        Input("ls-tick", "n_intervals"),
        Input("page", "search"),
        Input("ls-corr-done", "data"),
        State("ls-school", "data"),
    )
    def grid(class_id: int | None, _tick: int, search: str | None, _done: int,
             school: str | None) -> Any:
        lang = language_from_search(search, default)
        if class_id is None:
            return build_lesson_grid(None, lang, tz)
        try:
            with pool.connection() as conn:
                viewer = auth.viewer(conn)
                found = load_lessons(conn, class_id, tz, clock())
                if (found is None or found.school != school
                        or not sees_school(viewer, found.school)):
                    return build_lesson_grid(None, lang, tz)
                can = may_correct_class(conn, viewer, class_id)
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("lesson register could not read the database", exc_info=True)
            return no_update
        return build_lesson_grid(found, lang, tz, can_correct=can)

    @app.callback(
        Output("ls-download", "data"),
        *[Input(f"ls-exp-{fmt}", "n_clicks") for fmt in FORMATS],
        State("ls-school", "data"),
        State("ls-class", "value"),
        State("page", "search"),
        prevent_initial_call=True,
    )
    def export(*args: Any) -> Any:
        school, class_id, search = args[-3], args[-2], args[-1]
        lang = language_from_search(search, default)
        trigger = ctx.triggered_id
        if not isinstance(trigger, str) or not ctx.triggered or not ctx.triggered[0]["value"]:
            return no_update
        fmt: FileFormat | None = next((f for f in FORMATS if trigger == f"ls-exp-{f}"), None)
        if fmt is None or class_id is None:
            return no_update
        try:
            with pool.connection() as conn:
                viewer = auth.viewer(conn)
                found = load_lessons(conn, class_id, tz, clock())
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("lesson export could not read the database", exc_info=True)
            return no_update
        if found is None or found.school != school or not sees_school(viewer, found.school):
            return no_update
        name, day, columns, rows = lesson_export(found, tz)
        return build_download(fmt, name, day, found.class_name, columns, rows, lang)

    _register_school_panel(app, pool=pool, auth=auth, tz=tz, default=default, clock=clock)
    _register_corrections(app, pool=pool, auth=auth, tz=tz, default=default, clock=clock)


def _register_corrections(app: Dash, *, pool: psycopg_pool.ConnectionPool[Any],
                          auth: DashboardAuth, tz: ZoneInfo, default: Lang,
                          clock: Now) -> None:
    """A pupil's button opens the form on the pupil, on the lesson under way; Save
    corrects the pupil in the chosen lesson (dashboard/pages/correction_form.py)."""

    def open_lesson(conn: Conn, viewer: Viewer | None, student: str, context: tuple[Any, ...],
                    lang: Lang) -> Opened | None:
        class_id, school = context
        now = clock()
        found = load_lessons(conn, class_id, tz, now) if class_id is not None else None
        if (found is None or class_id is None or found.school != school
                or not sees_school(viewer, found.school)
                or not may_correct_class(conn, viewer, class_id) or not found.lessons):
            return None
        pupil = next((p for p in found.lessons[0].students if p.student == student), None)
        if pupil is None:
            return None
        chosen = default_lesson([(x.lesson_id, x.start) for x in found.lessons],
                                now.astimezone(tz).time().replace(tzinfo=None))
        return (opened(lang, "lesson", name=pupil.full_name, code=pupil.student,
                       day=found.date.strftime("%d/%m/%Y"), status=None,
                       lessons=lesson_options(found.lessons, student, lang), lesson=chosen),
                {"student": pupil.student, "name": pupil.full_name,
                 "day": found.date.isoformat()})

    def save_lesson(conn: Conn, viewer: Viewer | None, target: dict[str, Any],
                    lesson: int | None, status: str, reason: str) -> Saved:
        return correct_in_lesson(
            conn, viewer, student=str(target["student"]), lesson_id=int(lesson or 0),
            day=date.fromisoformat(str(target["day"])), status=status, reason=reason,
            tz=tz, now=clock())

    register_correction_form(app, CorrectionForm(
        prefix="ls", with_lesson=True,
        context=(State("ls-class", "value"), State("ls-school", "data")),
        language=State("page", "search"),
        lang_of=lambda search: language_from_search(search, default),
        open=open_lesson, save=save_lesson), pool=pool, auth=auth)


def _register_school_panel(app: Dash, *, pool: psycopg_pool.ConnectionPool[Any],
                           auth: DashboardAuth, tz: ZoneInfo, default: Lang,
                           clock: Now) -> None:
    """The school page's panel (dashboard/pages/school.py holds the element)."""

    @app.callback(
        Output("sc-nic", "children"),
        Output("sc-nic-title", "children"),
        Output("sc-lessons-link", "children"),
        Input("sc-tick", "n_intervals"),
        Input(switch_id("school"), "value"),
        State("sc-school", "data"),
    )
    def school_panel(_tick: int, value: str | None,
                     school: str | None) -> tuple[Any, Any, Any]:
        lang = coerce_lang(value, default)
        words = (t(lang, "ls_not_in_class"), t(lang, "ls_link"))
        try:
            with pool.connection() as conn:
                if school is None or not sees_school(auth.viewer(conn), school):
                    return [], *words
                flagged = load_not_in_class(conn, school, tz, clock())
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("school page's lesson panel could not read the database",
                        exc_info=True)
            return no_update, *words
        return build_not_in_class(flagged, lang, tz), *words
