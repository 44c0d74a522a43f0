"""Pure builders of the school page: header, KPIs, late and absent lists, the class
register, export tables and files. Report rows in (SchoolView, filled by
dashboard.data.school), Dash components and export files out.

The school page is a staff view, so names are shown in full; the district wall screen
keeps its masked names (dashboard.formatting.mask_name).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from dash import html
from dash.development.base_component import Component

from dashboard.builders.corrections import open_button
from dashboard.builders.district import _kpi, _number
from dashboard.i18n import Lang, format_date, level_label, t
from hub.attendance.export import MEDIA_TYPES, to_csv, to_xlsx
from hub.attendance.labels import localise, title
from hub.attendance.reports import ClassRegister, DailyRow, StudentDayRow
from hub.attendance.rules import FLAG_CORRECTED
from hub.read.queries import ArrivalBucket

ExportKind = Literal["register", "daily"]
FileFormat = Literal["xlsx", "csv"]
EXPORTS: Final[tuple[tuple[ExportKind, FileFormat], ...]] = (
    ("register", "xlsx"), ("register", "csv"), ("daily", "xlsx"), ("daily", "csv"),
)
LATE_STATUSES: Final = ["late"]
# Not in school: absent after the cutoff, excused, and not arrived yet before it.
MISSING_STATUSES: Final = ["absent", "excused", "pending"]
# Same columns as GET /api/v1/attendance/register?format=csv|xlsx.
# Flags the register shows in a column of their own rather than as a note.
_SHOWN: Final = frozenset({FLAG_CORRECTED})

@dataclass(frozen=True, slots=True)
class SchoolView:
    """What the school page shows for one day."""

    school: str
    name: str
    level: str
    now: datetime  # aware, district time
    school_day: bool
    start: datetime
    late_cutoff: datetime
    absent_cutoff: datetime
    total: DailyRow | None
    classes: list[DailyRow] = field(default_factory=list)
    late: list[StudentDayRow] = field(default_factory=list)
    missing: list[StudentDayRow] = field(default_factory=list)
    arrivals: list[ArrivalBucket] = field(default_factory=list)


def _hm(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M") if moment is not None else "—"


def build_school_header(view: SchoolView, lang: Lang, tz: ZoneInfo) -> tuple[str, str, str]:
    """Title, subtitle (level · date) and the day's cutoffs."""
    subtitle = f"{level_label(lang, view.level)} · {t(lang, 'sc_subtitle')} · " + format_date(
        lang, view.now)
    if not view.school_day:
        return view.name, subtitle, t(lang, "sc_not_school_day")
    hours = t(lang, "sc_hours").format(start=_hm(view.start, tz), late=_hm(view.late_cutoff, tz),
                                       absent=_hm(view.absent_cutoff, tz))
    return view.name, subtitle, hours


def build_school_kpis(total: DailyRow | None, lang: Lang) -> list[Component]:
    row = total or DailyRow(school="", class_id=None, class_name=None, school_day=False,
                            enrolled=0, present=0, late=0, absent=0, excused=0, pending=0)
    arrived = row.present + row.late
    pct = round(100 * arrived / row.enrolled) if row.enrolled else 0
    return [
        _kpi("enrolled", t(lang, "enrolled"), _number(row.enrolled)),
        _kpi("present", t(lang, "present"), _number(row.present),
             f"{t(lang, 'arrived')} {pct}%"),
        _kpi("late", t(lang, "late"), _number(row.late)),
        _kpi("absent", t(lang, "absent"), _number(row.absent)),
        _kpi("excused", t(lang, "sc_excused"), _number(row.excused)),
        _kpi("pending", t(lang, "sc_pending"), _number(row.pending)),
    ]


def _status_badge(status: str, lang: Lang) -> html.Span:
    return html.Span(t(lang, f"status_{status}"), className=f"badge st-{status}")


def _correction_mark(row: StudentDayRow, lang: Lang) -> Component | str:
    if row.correction is None:
        return ""
    return html.Span("✎", className="sc-corr-mark",
                     title=f"{t(lang, 'sc_corrected')}: {row.correction.reason}")


def _student_table(
    rows: Sequence[StudentDayRow], lang: Lang, tz: ZoneInfo, *, empty_key: str, table_id: str,
    with_time: bool,
) -> Component:
    if not rows:
        return html.Div(t(lang, empty_key), className="empty sc-empty")
    head = [t(lang, "col_class"), t(lang, "sc_col_name")]
    head.append(t(lang, "sc_col_in") if with_time else t(lang, "sc_col_status"))
    body = [
        html.Tr(
            [
                html.Td(r.class_name or t(lang, "sc_no_class"), className="sc-col-class"),
                html.Td([r.full_name, " ", _correction_mark(r, lang)], className="sc-col-name"),
                html.Td(_hm(r.first_in, tz), className="sc-col-time") if with_time
                else html.Td(_status_badge(r.status, lang)),
            ],
            className=f"sc-row st-row-{r.status}" + (" corrected" if r.correction else ""),
        )
        for r in rows
    ]
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
                      className="sc-table", id=table_id)


def build_late_list(rows: Sequence[StudentDayRow], lang: Lang, tz: ZoneInfo) -> Component:
    """Late students, by class then arrival time, with the time they came in."""
    return _student_table(rows, lang, tz, empty_key="sc_none_late", table_id="sc-late-table",
                          with_time=True)


def build_absent_list(rows: Sequence[StudentDayRow], lang: Lang, tz: ZoneInfo) -> Component:
    """Absent, excused and not-yet-arrived students, each with its status."""
    return _student_table(rows, lang, tz, empty_key="sc_none_absent",
                          table_id="sc-absent-table", with_time=False)


def build_class_options(classes: Sequence[DailyRow], lang: Lang) -> list[dict[str, Any]]:
    """Dropdown options "7A1 · 28/30 arrived", classes without an id (no class) left out."""
    return [
        {
            "label": f"{c.class_name or c.class_id} · {c.present + c.late}/{c.enrolled} "
                     f"{t(lang, 'sc_arrived_of')}",
            "value": c.class_id,
        }
        for c in classes
        if c.class_id is not None
    ]


def _correction_cell(register_row: Any, lang: Lang, tz: ZoneInfo) -> Component | str:
    corr = register_row.correction
    if corr is None:
        return ""
    return html.Div(
        [
            html.Span(t(lang, "sc_corrected"), className="sc-corr-tag"),
            html.Span(f" {corr.reason}", className="sc-corr-reason"),
            html.Div(f"{t(lang, 'sc_by')} {corr.corrected_by} · "
                     f"{corr.corrected_at.astimezone(tz).strftime('%H:%M %d/%m')}",
                     className="sc-corr-meta"),
        ],
        className="sc-corr",
    )


def build_register(register: ClassRegister | None, lang: Lang, tz: ZoneInfo, *,
                   can_correct: bool = False) -> Component:
    """The class register with every student's status, times, flags and correction;
    with ``can_correct`` (the hub's rule, asked by the page) a button per row that opens
    the correction form."""
    if register is None or not register.students:
        return html.Div(t(lang, "sc_no_students"), className="empty sc-empty")
    keys = ("sc_col_code", "sc_col_name", "sc_col_status", "sc_col_in", "sc_col_out",
            "sc_col_flags", "sc_col_correction") + (("corr_col",) if can_correct else ())
    head = html.Thead(html.Tr([html.Th("#")] + [html.Th(t(lang, key)) for key in keys]))
    body = html.Tbody([
        html.Tr(
            [
                html.Td(str(i), className="sc-col-n"),
                html.Td(r.student, className="sc-col-code"),
                html.Td(r.full_name, className="sc-col-name"),
                html.Td(_status_badge(r.status, lang)),
                html.Td(_hm(r.first_in, tz), className="sc-col-time"),
                html.Td(_hm(r.last_out, tz), className="sc-col-time sc-col-out"),
                html.Td(", ".join(t(lang, f"flag_{f}") for f in r.flags if f not in _SHOWN),
                        className="sc-flags"),
                html.Td(_correction_cell(r, lang, tz)),
                *([html.Td(open_button("sc", r.student, lang), className="corr-cell")]
                  if can_correct else []),
            ],
            className=f"sc-row st-row-{r.status}" + (" corrected" if r.correction else ""),
            id=f"reg-{r.student}",
        )
        for i, r in enumerate(register.students, start=1)
    ])
    return html.Table([head, body], className="sc-table sc-register-table", id="sc-register-table")


def daily_table(total: DailyRow | None, classes: Sequence[DailyRow]) -> tuple[
    list[str], list[list[Any]]
]:
    """One row per class and the whole school last (class_id empty)."""
    models = [*classes, *([total] if total is not None else [])]
    columns = list(DailyRow.model_fields)
    dumped = [m.model_dump() for m in models]
    return columns, [[d[c] for c in columns] for d in dumped]


def build_download(
    fmt: FileFormat, name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
    lang: Lang = "vi", heading: str | None = None,
) -> dict[str, Any]:
    """What a ``dcc.Download`` needs: the file's bytes (hub.attendance.export) and name,
    with the API's export words (hub.attendance.labels) in ``lang``."""
    columns, rows = localise(columns, rows, lang)
    body = (to_csv(columns, rows) if fmt == "csv"
            else to_xlsx(columns, rows, title=name, heading=heading))
    # The dict dcc.send_bytes makes, spelled out (its stub is untyped); with the MIME type.
    return {"content": base64.b64encode(body).decode("ascii"), "filename": f"{name}.{fmt}",
            "type": MEDIA_TYPES[fmt], "base64": True}


def export_heading(kind: str, lang: Lang, *, name: str | None,
                   day: date | None) -> str | None:
    """The title row of an export (the API's exports carry the same); None without a day."""
    return title(kind, lang, name=name, day=day) if day is not None else None
