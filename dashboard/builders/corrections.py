"""The correction control of the registers (school page and lesson register), pure: the
per-row button, the form's panel, its choices and the checks made before the hub is asked.

The panel is part of the page's layout, outside the register the page re-renders every
few seconds, so what is typed into it survives a refresh; a row's button only says
which pupil the panel is for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from dash import dcc, html, no_update
from dash.development.base_component import Component

from dashboard.i18n import Lang, t
from hub.attendance.lessons import LessonEntry
from hub.attendance.reports import CorrectionInfo

# What the API's correction bodies accept (hub/api/routes/attendance_reports.py
# CorrectionCreate, lessons.py LessonCorrectionCreate); a unit test holds them equal to
# the hub's CORRECTABLE.
STATUSES: Final[tuple[str, ...]] = ("present", "late", "absent", "excused")
REASON_MAX: Final = 500  # the API's max_length for a reason


def open_type(prefix: str) -> str:
    """The pattern-matching type of a page's row buttons (``sc`` or ``ls``)."""
    return f"{prefix}-corr-open"


def open_button(prefix: str, student: str, lang: Lang) -> html.Button:
    return html.Button(t(lang, "corr_open"), id={"type": open_type(prefix), "student": student},
                       n_clicks=0, className="sc-btn corr-open", title=t(lang, "corr_open"))


def panel_class(is_open: bool) -> str:
    return "corr-panel" if is_open else "corr-panel hidden"


def correction_panel(prefix: str, *, with_lesson: bool) -> html.Div:
    """The form, closed; its words come with the pupil when a row's button opens it."""
    lesson: list[Component] = [
        html.Label(id=f"{prefix}-corr-lesson-label", htmlFor=f"{prefix}-corr-lesson",
                   className="corr-label"),
        dcc.RadioItems(id=f"{prefix}-corr-lesson", options=[], className="corr-choices"
                       " corr-lessons"),
    ] if with_lesson else []
    return html.Div(
        [
            html.Div([html.H3(id=f"{prefix}-corr-title"),
                      html.Button("×", id=f"{prefix}-corr-close", n_clicks=0,
                                  className="corr-x")],
                     className="corr-head"),
            html.Div(id=f"{prefix}-corr-who", className="corr-who"),
            html.Div(id=f"{prefix}-corr-now", className="corr-now"),
            *lesson,
            html.Label(id=f"{prefix}-corr-status-label", htmlFor=f"{prefix}-corr-status",
                       className="corr-label"),
            dcc.RadioItems(id=f"{prefix}-corr-status", options=[], inline=True,
                           className="corr-choices corr-statuses"),
            html.Label(id=f"{prefix}-corr-reason-label", htmlFor=f"{prefix}-corr-reason",
                       className="corr-label"),
            dcc.Textarea(id=f"{prefix}-corr-reason", value="", maxLength=REASON_MAX, rows=3,
                         className="corr-reason"),
            html.Div(id=f"{prefix}-corr-msg", className="corr-msg"),
            html.Div([html.Button(id=f"{prefix}-corr-save", n_clicks=0,
                                  className="sc-btn corr-save"),
                      html.Button(id=f"{prefix}-corr-cancel", n_clicks=0,
                                  className="sc-btn corr-cancel")],
                     className="corr-actions"),
        ],
        id=f"{prefix}-corr-panel", className=panel_class(False), role="dialog",
    )


def status_options(lang: Lang) -> list[dict[str, str]]:
    return [{"label": t(lang, f"status_{s}"), "value": s} for s in STATUSES]


def form_problem(status: str | None, reason: str | None, *, lesson: int | None = None,
                 needs_lesson: bool = False) -> str | None:
    """The string key of what is missing or wrong in the form, None when it may be sent.
    The hub checks the same again (and refuses a blank reason); asking first words it."""
    if needs_lesson and lesson is None:
        return "corr_need_lesson"
    if status not in STATUSES:
        return "corr_need_status"
    text = (reason or "").strip()
    if not text:
        return "corr_need_reason"
    if len(text) > REASON_MAX:
        return "corr_reason_too_long"
    return None


def default_lesson(lessons: Sequence[tuple[int, time]], now: time) -> int | None:
    """The lesson the form starts on: the last one begun by ``now`` (the one a teacher
    most likely corrects), the first of the day before any has begun."""
    begun = [lid for lid, start in lessons if start <= now]
    if begun:
        return begun[-1]
    return lessons[0][0] if lessons else None


def lesson_options(entries: Sequence[LessonEntry], student: str,
                   lang: Lang) -> list[dict[str, Any]]:
    """One choice per lesson of the day, with the pupil's status in it now."""
    options = []
    for entry in entries:
        status = next((p.status for p in entry.students if p.student == student), None)
        options.append({"label": t(lang, "corr_lesson_option").format(
            period=entry.period, subject=entry.subject,
            status=t(lang, f"status_{status}") if status else "—"), "value": entry.lesson_id})
    return options


def corrected_note(correction: CorrectionInfo | None, lang: Lang, tz: ZoneInfo) -> Component | None:
    """Who corrected a lesson cell and when, the reason in the tooltip and below."""
    if correction is None:
        return None
    at = _hm(correction.corrected_at, tz)
    return html.Div(
        [html.Div(t(lang, "corr_by").format(user=correction.corrected_by, time=at),
                  className="corr-by"),
         html.Div(correction.reason, className="corr-by-reason")],
        className="corr-note",
        title=t(lang, "corr_by_title").format(user=correction.corrected_by, time=at,
                                              reason=correction.reason),
    )


def _hm(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M")


# -- what the page's one correction callback answers ---------------------------------------

# The panel's parts the callback writes, as (part, property): its element is
# ``<prefix>-corr-<part>``.
PANEL_PARTS: Final[tuple[tuple[str, str], ...]] = (
    ("panel", "className"), ("title", "children"), ("who", "children"), ("now", "children"),
    ("status-label", "children"), ("status", "options"), ("status", "value"),
    ("reason-label", "children"), ("reason", "placeholder"), ("reason", "value"),
    ("save", "children"), ("cancel", "children"), ("close", "title"), ("msg", "children"),
)
LESSON_PARTS: Final[tuple[tuple[str, str], ...]] = (
    ("lesson-label", "children"), ("lesson", "options"), ("lesson", "value"),
)
Kind = Literal["day", "lesson"]
Changes = dict[tuple[str, str], Any]


def panel_parts(with_lesson: bool) -> tuple[tuple[str, str], ...]:
    return PANEL_PARTS + (LESSON_PARTS if with_lesson else ())


def panel_values(changes: Changes, *, with_lesson: bool) -> tuple[Any, ...]:
    """The callback's values in ``panel_parts`` order; a part not changed is left as is."""
    return tuple(changes.get(part, no_update) for part in panel_parts(with_lesson))


def opened(lang: Lang, kind: Kind, *, name: str, code: str, day: str,
           status: str | None, lessons: list[dict[str, Any]] | None = None,
           lesson: int | None = None) -> Changes:
    """The panel open on one pupil, in ``lang``, with an empty reason."""
    changes: Changes = {
        ("panel", "className"): panel_class(True),
        ("title", "children"): t(lang, f"corr_title_{kind}"),
        ("who", "children"): t(lang, "corr_who").format(name=name, code=code, day=day),
        ("now", "children"): t(lang, "corr_now").format(status=t(lang, f"status_{status}"))
        if kind == "day" and status else "",
        ("status-label", "children"): t(lang, "corr_status"),
        ("status", "options"): status_options(lang),
        ("status", "value"): None,
        ("reason-label", "children"): t(lang, "corr_reason"),
        ("reason", "placeholder"): t(lang, "corr_reason_hint"),
        ("reason", "value"): "",
        ("save", "children"): t(lang, "corr_save"),
        ("cancel", "children"): t(lang, "corr_cancel"),
        ("close", "title"): t(lang, "corr_close"),
        ("msg", "children"): "",
    }
    if kind == "lesson":
        changes |= {("lesson-label", "children"): t(lang, "corr_lesson"),
                    ("lesson", "options"): lessons or [], ("lesson", "value"): lesson}
    return changes


def closed() -> Changes:
    return {("panel", "className"): panel_class(False), ("msg", "children"): ""}


def problem(text: str) -> Changes:
    """The panel stays open, saying what is wrong."""
    return {("msg", "children"): text}


def refusal_key(kind: str) -> str:
    """The string key of a refusal (dashboard.data.corrections.CorrectionError's kind)."""
    return {"session": "session_ended", "forbidden": "corr_forbidden",
            "not-found": "corr_not_found"}.get(kind, "corr_refused")
