"""The lesson register page's parts, pure: data in, Dash components (or file bytes) out."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from dash import html
from dash.development.base_component import Component

from dashboard.builders.corrections import corrected_note, open_button
from dashboard.i18n import Lang, t
from hub.attendance.export import MEDIA_TYPES, to_csv, to_xlsx
from hub.attendance.lessons import LessonPupil, LessonRegister, NotInClassRow
from hub.attendance.lessons_labels import lesson_words

FileFormat = Literal["csv", "xlsx"]


def _hm(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M") if moment is not None else ""


def build_class_options(classes: Sequence[tuple[int, str]]) -> list[dict[str, Any]]:
    return [{"label": name, "value": cid} for cid, name in classes]


def _cell(pupil: LessonPupil, lang: Lang, tz: ZoneInfo) -> html.Td:
    status, seen, flags = pupil.status, pupil.seen_at, pupil.flags
    parts: list[Any] = [html.Span(t(lang, f"status_{status}"), className=f"badge st-{status}")]
    if seen is not None:
        parts.append(html.Div(t(lang, "ls_seen").format(time=_hm(seen, tz)),
                              className="ls-seen"))
    if flags:
        parts.append(html.Div(", ".join(t(lang, f"ls_flag_{f}") for f in flags),
                              className="ls-flags"))
    note = corrected_note(pupil.correction, lang, tz)
    if note is not None:
        parts.append(note)
    warn = " ls-warn" if "in-school-not-in-class" in flags else ""
    return html.Td(parts, className=f"ls-cell st-cell-{status}{warn}")


def build_lesson_grid(register: LessonRegister | None, lang: Lang, tz: ZoneInfo, *,
                      can_correct: bool = False) -> Component:
    """Pupils down, the day's lessons across; each cell the pupil's status in the lesson
    and who corrected it; with ``can_correct`` (the hub's rule, asked by the page) a
    button per pupil that opens the correction form."""
    if register is None:
        return html.Div(t(lang, "ls_pick_class"), className="empty sc-empty")
    if not register.lessons:
        key = "ls_no_lessons" if register.school_day else "ls_no_school_day"
        return html.Div(t(lang, key), className="empty sc-empty")
    pupils = register.lessons[0].students
    if not pupils:
        return html.Div(t(lang, "ls_no_students"), className="empty sc-empty")
    head = html.Thead(html.Tr([html.Th("#"), html.Th(t(lang, "ls_pupil"))] + [
        html.Th([html.Div(t(lang, "ls_period").format(period=x.period), className="ls-period"),
                 html.Div(t(lang, "ls_period_detail").format(
                     start=x.start.strftime("%H:%M"), end=x.end.strftime("%H:%M"),
                     subject=x.subject, room=x.room), className="ls-detail"),
                 html.Div(t(lang, "ls_counts").format(present=x.present, late=x.late,
                                                      absent=x.absent, excused=x.excused),
                          className="ls-counts")])
        for x in register.lessons
    ]))
    rows = []
    for i, pupil in enumerate(pupils):
        who: list[Any] = [html.Div(pupil.full_name, className="sc-col-name"),
                          html.Div(pupil.student, className="ls-code")]
        if can_correct:
            who.append(open_button("ls", pupil.student, lang))
        cells = [html.Td(str(i + 1), className="sc-col-n"),
                 html.Td(who, className="ls-pupil")]
        for lesson in register.lessons:
            cells.append(_cell(lesson.students[i], lang, tz))
        rows.append(html.Tr(cells, id=f"ls-{pupil.student}"))
    return html.Table([head, html.Tbody(rows)], className="sc-table ls-grid", id="ls-grid")


def build_not_in_class(rows: Sequence[NotInClassRow], lang: Lang, tz: ZoneInfo) -> Component:
    if not rows:
        return html.Div(t(lang, "ls_not_in_class_none"), className="empty sc-empty")
    return html.Ul([
        html.Li(t(lang, "ls_not_in_class_row").format(
            name=r.full_name, class_name=r.class_name, period=r.period, subject=r.subject,
            room=r.room, entered=_hm(r.entered_at, tz) or "?"),
            className="ls-nic-row")
        for r in rows
    ], className="sc-list ls-nic", id="ls-nic-list")


def build_download(fmt: FileFormat, name: str, day: date, class_name: str,
                   columns: Sequence[str], rows: Sequence[Sequence[Any]],
                   lang: Lang) -> dict[str, Any]:
    """What a ``dcc.Download`` needs, in the API's export words (hub.attendance)."""
    headers, worded, heading = lesson_words(columns, rows, lang, name=class_name, day=day)
    body = (to_csv(headers, worded) if fmt == "csv"
            else to_xlsx(headers, worded, title=name, heading=heading))
    return {"content": base64.b64encode(body).decode("ascii"), "filename": f"{name}.{fmt}",
            "type": MEDIA_TYPES[fmt], "base64": True}
