"""The correction form's callbacks, shared by the school page's class register (a pupil's
day) and the lesson register (a pupil's lesson).

Both pages keep the same form outside their re-rendered register (dashboard/builders/
corrections.py): a row's button opens it on the pupil, Save sends it through
dashboard.data.corrections (the hub's own rule and audit, as the signed-in account),
Cancel and the cross close it. What differs is said by the page in a
:class:`CorrectionForm`: which register it opens on, what Save calls, and where the page
keeps its language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
import psycopg_pool
from dash import ALL, Dash, Input, Output, State, ctx, no_update

from dashboard.access import Viewer
from dashboard.builders.corrections import (
    REASON_MAX,
    Changes,
    closed,
    form_problem,
    open_type,
    panel_parts,
    panel_values,
    problem,
    refusal_key,
)
from dashboard.data import Conn
from dashboard.data.corrections import CorrectionError
from dashboard.i18n import Lang, t
from dashboard.login import DashboardAuth

log = logging.getLogger(__name__)

# The form's changes and the pupil it is now on ({"student", "name", "day"}).
Opened = tuple[Changes, dict[str, str]]


class Saved(Protocol):
    """What a correction answers: the pupil and their status after it."""

    @property
    def student(self) -> str: ...

    @property
    def after(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class CorrectionForm:
    prefix: str  # the page's element prefix: "sc" (school page), "ls" (lesson register)
    with_lesson: bool  # the form asks which lesson
    context: tuple[State, ...]  # the page's state open and save read (class, school)
    language: State  # where the page keeps its language
    lang_of: Callable[[str | None], Lang]
    # (conn, viewer, student, context values, lang): the form on that pupil, or None when
    # the viewer may not correct them (the button is then not shown either).
    open: Callable[[Conn, Viewer | None, str, tuple[Any, ...], Lang], Opened | None]
    # (conn, viewer, target, lesson, status, reason): raises CorrectionError when refused.
    save: Callable[[Conn, Viewer | None, dict[str, Any], int | None, str, str], Saved]


def register_correction_form(app: Dash, form: CorrectionForm, *,
                             pool: psycopg_pool.ConnectionPool[Any],
                             auth: DashboardAuth) -> None:
    p = form.prefix
    parts = panel_parts(form.with_lesson)
    extra = ((f"{p}-corr-flash", "children"), (f"{p}-corr-target", "data"),
             (f"{p}-corr-done", "data"))

    def answer(changes: Changes, flash: Any = no_update, target: Any = no_update,
               done: Any = no_update) -> tuple[Any, ...]:
        return (*panel_values(changes, with_lesson=form.with_lesson), flash, target, done)

    # Changing the form takes the last complaint away, without a round trip.
    app.clientside_callback(  # type: ignore[no-untyped-call]  # Dash's is untyped
        "function() { return ''; }",
        Output(f"{p}-corr-msg", "children", allow_duplicate=True),
        Input(f"{p}-corr-reason", "value"),
        Input(f"{p}-corr-status", "value"), prevent_initial_call=True)

    lesson_state = [State(f"{p}-corr-lesson", "value")] if form.with_lesson else []

    @app.callback(
        *[Output(f"{p}-corr-{part}", prop) for part, prop in parts],
        *[Output(element, prop) for element, prop in extra],
        Input({"type": open_type(p), "student": ALL}, "n_clicks"),
        Input(f"{p}-corr-save", "n_clicks"),
        Input(f"{p}-corr-cancel", "n_clicks"),
        Input(f"{p}-corr-close", "n_clicks"),
        State(f"{p}-corr-target", "data"),
        *lesson_state,
        State(f"{p}-corr-status", "value"),
        State(f"{p}-corr-reason", "value"),
        *form.context,
        form.language,
        State(f"{p}-corr-done", "data"),
        prevent_initial_call=True,
    )
    def correction(_opens: list[int | None], _save: int, _cancel: int, _close: int,
                   target: dict[str, Any] | None, *rest: Any) -> tuple[Any, ...]:
        lesson: int | None = rest[0] if form.with_lesson else None
        status, reason, *context, language, done = rest[1:] if form.with_lesson else rest
        trigger = ctx.triggered_id
        # A register re-rendered by the tick brings its buttons back with n_clicks 0.
        if trigger is None or not ctx.triggered or not ctx.triggered[0]["value"]:
            return answer({})
        lang = form.lang_of(language)
        if trigger in (f"{p}-corr-cancel", f"{p}-corr-close"):
            return answer(closed(), target=None)
        try:
            with pool.connection() as conn:
                viewer = auth.viewer(conn)
                if isinstance(trigger, dict):
                    found = form.open(conn, viewer, str(trigger.get("student")),
                                      tuple(context), lang)
                    if found is None:
                        return answer({})
                    return answer(found[0], flash="", target=found[1])
                if not target:
                    return answer({})
                wrong = form_problem(status, reason, lesson=lesson,
                                     needs_lesson=form.with_lesson)
                if wrong is not None:
                    return answer(problem(t(lang, wrong).format(max=REASON_MAX)))
                try:
                    result = form.save(conn, viewer, target, lesson, str(status), str(reason))
                except CorrectionError as exc:
                    log.warning("dashboard: correction of %s refused (%s)",
                                target.get("student"), exc.kind)
                    return answer(problem(t(lang, refusal_key(exc.kind)).format(reason=exc)))
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("dashboard: correction could not reach the database", exc_info=True)
            return answer(problem(t(lang, "db_error")))
        saved = t(lang, "corr_saved").format(
            name=target.get("name", result.student),
            status=t(lang, f"status_{result.after['status']}"))
        return answer(closed(), flash=saved, target=None, done=(done or 0) + 1)
