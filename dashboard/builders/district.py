"""Pure builders of the district wall: totals, school tiles, the gate-event feed and the
arrivals chart (the school page draws its own with it), plus the colours and KPI cells
the other pages' builders reuse. Rows in, Dash components or Plotly figures out.

Callbacks only fetch a snapshot and call these, so every visible piece is testable
without a server, a browser or a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import quote
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
from dash import dcc, html
from dash.development.base_component import Component

from dashboard.formatting import (
    arrived_ratio,
    local_time,
    mask_name,
    school_state,
    short_school_name,
)
from dashboard.i18n import Lang, format_date, level_label, t
from hub.read.queries import (
    ArrivalBucket,
    GateActivity,
    GateEventPublic,
    SchoolAttendance,
    SchoolDayAttendance,
)

# Colours live in assets/dashboard.css; the figure needs the same values as literals.
GREEN = "#22c55e"
AMBER = "#f59e0b"
TEXT = "#cbd5e1"
GRID = "rgba(148, 163, 184, 0.15)"

SCHOOL_PATH: Final = "/school/"  # the school page: /school/<id>?lang=vi


def school_href(school: str, lang: Lang) -> str:
    return f"{SCHOOL_PATH}{quote(school, safe='')}?lang={lang}"


@dataclass(frozen=True, slots=True)
class Totals:
    enrolled: int
    present: int
    late: int
    absent: int
    devices_online: int
    devices_total: int
    excused: int = 0  # rows by the attendance rules only (SchoolDayAttendance)
    pending: int = 0  # not arrived yet, before the absent cutoff

    @property
    def arrived_pct(self) -> int:
        return round(100 * (self.present + self.late) / self.enrolled) if self.enrolled else 0


def district_totals(schools: Iterable[SchoolAttendance]) -> Totals:
    rows = list(schools)
    ruled = [r for r in rows if isinstance(r, SchoolDayAttendance)]
    return Totals(
        enrolled=sum(r.enrolled for r in rows),
        present=sum(r.present for r in rows),
        late=sum(r.late for r in rows),
        absent=sum(r.absent for r in rows),
        devices_online=sum(r.devices_online for r in rows),
        devices_total=sum(r.devices_total for r in rows),
        excused=sum(r.excused for r in ruled),
        pending=sum(r.pending for r in ruled),
    )


def _number(n: int) -> str:
    # Thin spaces group thousands in both languages, avoiding the vi "." vs en "," clash.
    return f"{n:,}".replace(",", "\u202f")


def build_clock(now: datetime, lang: Lang) -> tuple[str, str]:
    return now.strftime("%H:%M"), format_date(lang, now)


def _kpi(key: str, label: str, value: str, extra: str | None = None) -> html.Div:
    children: list[Component] = [
        html.Div(label, className="kpi-label"),
        html.Div(value, className="kpi-value"),
    ]
    if extra is not None:
        children.append(html.Div(extra, className="kpi-extra"))
    return html.Div(children, className=f"kpi kpi-{key}", id=f"kpi-{key}")


def build_totals(schools: Sequence[SchoolAttendance], lang: Lang) -> list[Component]:
    tot = district_totals(schools)
    devices_state = "ok" if tot.devices_online == tot.devices_total else "warn"
    return [
        _kpi("enrolled", t(lang, "enrolled"), _number(tot.enrolled)),
        _kpi("present", t(lang, "present"), _number(tot.present),
             f"{t(lang, 'arrived')} {tot.arrived_pct}%"),
        _kpi("late", t(lang, "late"), _number(tot.late)),
        # Five cards fill the wall's row; excused and not-yet-due ride on the absent card.
        _kpi("absent", t(lang, "absent"), _number(tot.absent),
             f"{t(lang, 'sc_excused')} {_number(tot.excused)} · "
             f"{t(lang, 'sc_pending')} {_number(tot.pending)}"),
        _kpi(f"devices kpi-{devices_state}", t(lang, "devices_online"),
             f"{_number(tot.devices_online)} / {_number(tot.devices_total)}"),
    ]


def build_school_tile(row: SchoolAttendance, lang: Lang) -> html.Div:
    state = school_state(row)
    arrived = row.present + row.late
    present_pct = 100 * row.present / row.enrolled if row.enrolled else 0.0
    late_pct = 100 * row.late / row.enrolled if row.enrolled else 0.0
    return html.Div(
        [
            html.Div(
                [
                    html.Span(level_label(lang, row.level), className="tile-level"),
                    html.Span(
                        [
                            html.Span(
                                className=f"dot dot-{state}", title=t(lang, f"state_{state}")
                            ),
                            f"{row.devices_online}/{row.devices_total}",
                        ],
                        className="tile-devices",
                        title=t(lang, "devices_online"),
                    ),
                ],
                className="tile-head",
            ),
            html.Div(
                # The link's ::after covers the tile (school.css): the whole tile is a link.
                dcc.Link(short_school_name(row.name), href=school_href(row.school, lang),
                         className="tile-link", id=f"tile-link-{row.school}"),
                className="tile-name", title=row.name,
            ),
            html.Div(
                [
                    html.Span(_number(arrived), className="tile-arrived"),
                    html.Span(f" / {_number(row.enrolled)}", className="tile-enrolled"),
                    html.Span(f"{round(100 * arrived_ratio(row))}%", className="tile-pct"),
                ],
                className="tile-main",
            ),
            html.Div(
                [
                    html.Div(className="bar-present", style={"width": f"{present_pct:.1f}%"}),
                    html.Div(className="bar-late", style={"width": f"{late_pct:.1f}%"}),
                ],
                className="bar",
                title=f"{t(lang, 'present')} {row.present} · {t(lang, 'late')} {row.late}",
            ),
            _tile_foot(row, lang),
        ],
        className=f"tile tile-{state}",
        id=f"tile-{row.school}",
    )


def _tile_foot(row: SchoolAttendance, lang: Lang) -> html.Div:
    if isinstance(row, SchoolDayAttendance) and not row.school_day:
        return html.Div(html.Span(t(lang, "sc_not_school_day"), className="muted"),
                        className="tile-foot tile-no-school")
    return html.Div(
        [
            html.Span(
                [html.Span(t(lang, "late"), className="muted"), f" {_number(row.late)}"],
                className="tile-late",
            ),
            html.Span(
                [html.Span(t(lang, "absent"), className="muted"), f" {_number(row.absent)}"],
                className="tile-absent",
            ),
        ],
        className="tile-foot",
    )


def build_school_tiles(schools: Sequence[SchoolAttendance], lang: Lang) -> list[Component]:
    if not schools:
        return [html.Div(t(lang, "no_schools"), className="empty")]
    return [build_school_tile(row, lang) for row in schools]


def _event_row(
    ev: GateEventPublic, school_names: Mapping[str, str], lang: Lang, tz: ZoneInfo,
    show_names: bool,
) -> html.Tr:
    flags = [f"decision-{ev.decision}"]
    if not ev.resolved:
        flags.append("unresolved")
    unknown = html.Span(t(lang, "unresolved"), className="unknown-person")
    # Without names the class column says "unknown card" itself; the person code and the
    # card UID never reach the wall either way.
    klass: Component | str = ev.class_name or ("—" if show_names or ev.resolved else unknown)
    person: list[html.Td] = []
    if show_names:
        student: Component | str = (
            mask_name(ev.person_name) if ev.resolved and ev.person_name else unknown)
        person.append(html.Td(student, className="col-student"))
    return html.Tr(
        [
            html.Td(local_time(ev.ts, tz), className="col-time"),
            html.Td(
                short_school_name(school_names.get(ev.school, ev.school)), className="col-school"
            ),
            html.Td(klass, className="col-class"),
            *person,
            html.Td(
                html.Span(t(lang, f"dir_{ev.direction}"), className=f"badge dir-{ev.direction}"),
                className="col-dir",
            ),
            html.Td(
                html.Span(t(lang, f"decision_{ev.decision}"), className=f"badge dec-{ev.decision}"),
                className="col-decision",
            ),
        ],
        className="feed-row " + " ".join(flags),
    )


def build_event_feed(
    events: Sequence[GateEventPublic],
    school_names: Mapping[str, str],
    lang: Lang,
    tz: ZoneInfo,
    *,
    show_names: bool = False,
) -> Component:
    """The wall's live feed for the kiosk and district accounts: a class and a decision
    per passage; masked names only with ``show_names`` (SMARTSCHOOL_DASHBOARD_WALL_NAMES)."""
    if not events:
        return html.Div(t(lang, "no_events"), className="empty")
    keys = ["col_time", "col_school", "col_class", "col_direction", "col_decision"]
    if show_names:
        keys.insert(3, "col_student")
    head = html.Thead(html.Tr([html.Th(t(lang, key)) for key in keys]))
    body = html.Tbody([_event_row(ev, school_names, lang, tz, show_names) for ev in events])
    return html.Table([head, body], className="feed-table")


def build_gate_activity(
    activity: Sequence[GateActivity], school_names: Mapping[str, str], lang: Lang,
    window_min: int,
) -> Component:
    """The public wall's gate panel: passages per school over the last ``window_min``
    minutes, counts only (who passed is not a visitor's business)."""
    if not activity:
        return html.Div(t(lang, "no_activity").format(minutes=window_min), className="empty")
    keys = ("col_school", "dir_in", "dir_out", "decision_denied")
    head = html.Thead(html.Tr([html.Th(t(lang, key)) for key in keys]))

    def row(label: str, entered: int, left: int, denied: int, cls: str) -> html.Tr:
        return html.Tr(
            [
                html.Td(label, className="col-school"),
                html.Td(_number(entered), className="col-count"),
                html.Td(_number(left), className="col-count"),
                html.Td(_number(denied),
                        className="col-count" + (" activity-denied" if denied else "")),
            ],
            className=cls,
        )

    rows = [row(t(lang, "all_schools"), sum(a.entered for a in activity),
                sum(a.left for a in activity), sum(a.denied for a in activity),
                "activity-row activity-total")]
    rows += [row(short_school_name(school_names.get(a.school, a.school)), a.entered, a.left,
                 a.denied, "activity-row") for a in activity]
    return html.Table([head, html.Tbody(rows)], className="feed-table activity-table")


def build_arrivals_figure(arrivals: Sequence[ArrivalBucket], lang: Lang) -> go.Figure:
    x = [a.bucket for a in arrivals]
    fig = go.Figure(
        [
            go.Bar(x=x, y=[a.on_time for a in arrivals], name=t(lang, "on_time"),
                   marker_color=GREEN),
            go.Bar(x=x, y=[a.late for a in arrivals], name=t(lang, "late"),
                   marker_color=AMBER),
        ]
    )
    fig.update_layout(
        barmode="stack",
        bargap=0.15,
        margin={"l": 36, "r": 8, "t": 28, "b": 28},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"color": TEXT, "size": 13},
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom",
                "font": {"size": 14}},
        # Keeps a zoom the operator set across the 2-second refreshes.
        uirevision="arrivals",
        xaxis={"tickformat": "%H:%M", "gridcolor": GRID},
        yaxis={"gridcolor": GRID, "rangemode": "tozero", "tickformat": ",d"},
    )
    if arrivals and max(a.on_time + a.late for a in arrivals) < 6:
        # Small counts would get fractional ticks, which mean nothing for head counts.
        fig.update_yaxes(dtick=1)
    if not arrivals:
        fig.add_annotation(text=t(lang, "no_arrivals"), showarrow=False,
                           xref="paper", yref="paper", x=0.5, y=0.5, font={"size": 16})
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    return fig
