"""Pure builders of the district wall's additions (issue #13) and its kiosk mode: schools
grouped by ward, the panel of open major alarms and offline devices, the strip of the
plan's indicators, and the kiosk's rotation with its targets and equipment views.

Rows in, Dash components out: no server, no database, no clock but the one passed in.
Nothing here takes a person: the wall's panels are counts, rates and device states, the
same for an anonymous public screen as for the kiosk (dashboard/access.py).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from dash import html
from dash.development.base_component import Component

from dashboard.builders.district import build_school_tile, district_totals
from dashboard.builders.equipment import alarm_title
from dashboard.builders.kpi import build_holdback, build_targets, holdback_order
from dashboard.formatting import local_time, short_school_name
from dashboard.i18n import Lang, t
from hub.equipment.alarms import AlarmPublic
from hub.kpi.indicators import INDICATORS, Ratio, met, percent
from hub.kpi.read import ScopeKpi
from hub.read.queries import DevicePublic, SchoolAttendance

KioskView = Literal["district", "kpi", "equipment"]
# The order a wall screen shows its views in: where the district stands today first.
KIOSK_VIEWS: Final[tuple[KioskView, ...]] = ("district", "kpi", "equipment")
# Below this a view is gone before anyone at the wall has read it.
MIN_ROTATE_S: Final = 1
MAJOR_SEVERITIES: Final = ("critical", "major")
_SEVERITY_RANK: Final = {"critical": 0, "major": 1, "minor": 2, "warning": 3}
_UNACKED: Final = frozenset({"active_unack", "cleared_unack"})
# Rows the wall's attention panel lists of each kind before "... and N more".
ATTENTION_ROWS: Final = 4
# Wards and schools the kiosk's targets view lists: what fits one screen.
KIOSK_HOLDBACK_ROWS: Final = 10
KIOSK_ALARM_ROWS: Final = 14
_TRUE: Final = frozenset({"1", "true", "yes", "on"})


# --- kiosk mode ---------------------------------------------------------------------------

def is_kiosk(search: str | None) -> bool:
    """``?kiosk=1`` (or true/yes/on) in a page's query string."""
    values = parse_qs((search or "").lstrip("?")).get("kiosk", [])
    return bool(values) and values[-1].strip().lower() in _TRUE


def kiosk_view_at(ticks: int | None,
                  views: Sequence[KioskView] = KIOSK_VIEWS) -> KioskView:
    """The view shown after ``ticks`` rotations: round and round, starting with the first."""
    if not views:
        raise ValueError("a kiosk rotates through at least one view")
    return views[max(ticks or 0, 0) % len(views)]


def rotate_interval_ms(seconds: int) -> int:
    return max(seconds, MIN_ROTATE_S) * 1000


def kiosk_view_class(view: KioskView, current: KioskView) -> str:
    return "app kiosk-view active" if view == current else "app kiosk-view"


def build_kiosk_tabs(current: KioskView, lang: Lang) -> list[Component]:
    """Which view is on screen and which come next, so a passer-by knows it rotates."""
    return [html.Span(t(lang, f"wall_view_{view}"), id=f"kiosk-tab-{view}",
                      className="kiosk-tab active" if view == current else "kiosk-tab")
            for view in KIOSK_VIEWS]


# --- schools by ward ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class WardGroup:
    ward: str  # '' for schools whose record names no ward
    schools: tuple[SchoolAttendance, ...]

    @property
    def arrived_pct(self) -> int:
        return district_totals(self.schools).arrived_pct


def _sort_key(text: str) -> str:
    # Vietnamese order by letters, not code points: "Đa Phúc" among the Ds, not after Z.
    plain = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(c for c in plain if not unicodedata.combining(c))


def group_by_ward(schools: Sequence[SchoolAttendance],
                  wards: Mapping[str, str]) -> list[WardGroup]:
    """Schools under their ward (hub's ``schools.ward``, as the KPI code groups them),
    wards in alphabetical order, schools in the order given; schools without a ward last."""
    groups: dict[str, list[SchoolAttendance]] = {}
    for row in schools:
        groups.setdefault((wards.get(row.school) or "").strip(), []).append(row)
    order = sorted(groups, key=lambda w: (w == "", _sort_key(w), w))
    return [WardGroup(ward, tuple(groups[ward])) for ward in order]


def ward_label(ward: str, lang: Lang) -> str:
    """"Phường Hải Thành" whether or not the record wrote the word."""
    if not ward:
        return t(lang, "wall_no_ward")
    word = t(lang, "wall_ward")
    if ward.casefold().startswith(("phường", word.casefold())):
        return ward
    return f"{word} {ward}"


def ward_slug(ward: str) -> str:
    return "-".join(_sort_key(ward).split()) or "none"


def build_ward_groups(schools: Sequence[SchoolAttendance], wards: Mapping[str, str],
                      lang: Lang) -> list[Component]:
    if not schools:
        return [html.Div(t(lang, "no_schools"), className="empty")]
    out: list[Component] = []
    for group in group_by_ward(schools, wards):
        key = "wall_ward_sum_one" if len(group.schools) == 1 else "wall_ward_sum"
        summary = t(lang, key).format(n=len(group.schools), pct=group.arrived_pct)
        out.append(html.Section(
            [
                html.Div([html.Div(ward_label(group.ward, lang), className="ward-name"),
                          html.Div(summary, className="ward-sum")], className="ward-head"),
                html.Div([build_school_tile(row, lang) for row in group.schools],
                         className="ward-tiles"),
            ],
            className="ward", id=f"ward-{ward_slug(group.ward)}",
        ))
    return out


# --- open major alarms and offline devices ------------------------------------------------

def major_alarms(alarms: Sequence[AlarmPublic]) -> list[AlarmPublic]:
    """Open critical and major alarms: critical first, unacknowledged before
    acknowledged, the newest first."""
    chosen = [a for a in alarms if a.severity in MAJOR_SEVERITIES and a.state != "cleared"]
    chosen.sort(key=lambda a: -a.last_raised_at.timestamp())
    chosen.sort(key=lambda a: (_SEVERITY_RANK.get(a.severity, 9), a.state not in _UNACKED))
    return chosen


def offline_devices(devices: Sequence[DevicePublic]) -> list[DevicePublic]:
    """Devices the hub counts offline (not those never seen: not yet installed), in a
    fixed order by school and id, so the list does not jump on every refresh."""
    return sorted((d for d in devices if d.state == "offline"), key=lambda d: (d.school, d.id))


def _school_name(names: Mapping[str, str], school: str) -> str:
    return short_school_name(names.get(school, school))


def _severity(severity: str, lang: Lang) -> html.Span:
    known = severity in _SEVERITY_RANK
    return html.Span(t(lang, f"wall_sev_{severity}") if known else severity,
                     className=f"badge wall-sev wall-sev-{severity if known else 'other'}")


def _alarm_row(a: AlarmPublic, names: Mapping[str, str], lang: Lang, tz: ZoneInfo) -> html.Li:
    where = " · ".join(x for x in (_school_name(names, a.school_id), a.room,
                                   a.asset_tag or a.device_id) if x)
    return html.Li(
        [_severity(a.severity, lang),
         html.Span(alarm_title(a, lang), className="wall-alarm-title"),
         html.Span(where, className="wall-where"),
         html.Span(local_time(a.last_raised_at, tz), className="wall-when")],
        className="wall-row wall-alarm" + (" wall-unacked" if a.state in _UNACKED else ""),
        id=f"wall-alarm-{a.id}",
    )


def _device_row(d: DevicePublic, names: Mapping[str, str], lang: Lang,
                tz: ZoneInfo) -> html.Li:
    role = t(lang, f"wall_role_{d.role}") if d.role in ("gate", "classroom") else d.role
    when = (t(lang, "wall_since").format(time=local_time(d.last_seen, tz))
            if d.last_seen is not None else t(lang, "wall_never_seen"))
    return html.Li(
        [html.Span(className="dot dot-alert"),
         html.Span(d.id, className="wall-device"),
         html.Span(f"{_school_name(names, d.school)} · {role}", className="wall-where"),
         html.Span(when, className="wall-when")],
        className="wall-row wall-offline", id=f"wall-offline-{d.id}",
    )


def _listing(rows: list[html.Li], total: int, empty: str, lang: Lang,
             list_id: str) -> Component:
    if not total:
        return html.Div(empty, className="wall-none", id=list_id)
    items = list(rows)
    if total > len(rows):
        items.append(html.Li(t(lang, "wall_more").format(n=total - len(rows)),
                             className="wall-row wall-more"))
    return html.Ul(items, className="wall-list", id=list_id)


def build_attention(alarms: Sequence[AlarmPublic], devices: Sequence[DevicePublic],
                    names: Mapping[str, str], lang: Lang, tz: ZoneInfo, *,
                    rows: int = ATTENTION_ROWS) -> list[Component]:
    """The wall's panel of what needs someone: open major alarms, then offline devices,
    the first ``rows`` of each and how many more. Read-only: no buttons."""
    major = major_alarms(alarms)
    offline = offline_devices(devices)
    return [
        html.H3([t(lang, "wall_alarms_title"),
                 html.Span(str(len(major)), className="wall-count", id="wall-alarm-count")]),
        _listing([_alarm_row(a, names, lang, tz) for a in major[:rows]], len(major),
                 t(lang, "wall_alarms_none"), lang, "wall-alarm-list"),
        html.H3([t(lang, "wall_offline_title"),
                 html.Span(str(len(offline)), className="wall-count",
                           id="wall-offline-count")]),
        _listing([_device_row(d, names, lang, tz) for d in offline[:rows]], len(offline),
                 t(lang, "wall_offline_none"), lang, "wall-offline-list"),
    ]


# --- the plan's indicators ----------------------------------------------------------------

def kpi_state(target: float, ratio: Ratio) -> str:
    value = percent(ratio)
    if value is None:
        return "none"
    return "met" if value >= target else "short"


def build_kpi_strip(district: ScopeKpi | None, lang: Lang) -> list[Component]:
    """One cell per indicator of the plan: the district's value against its target."""
    if district is None:
        return [html.Div(t(lang, "wall_kpi_loading"), className="wall-kpi wall-kpi-none")]
    cells: list[Component] = []
    for ind in INDICATORS:
        ratio = district.ratios.get(ind.id, Ratio(0, 0))
        value = percent(ratio)
        state = "met" if met(ind, ratio) else kpi_state(ind.target, ratio)
        name = ind.name_vi if lang == "vi" else ind.name_en
        cells.append(html.Div(
            [html.Div(t(lang, f"wall_kpi_short_{ind.id}"), className="wall-kpi-label"),
             html.Div("—" if value is None else f"{value:.1f}%", className="wall-kpi-value"),
             html.Div(t(lang, "wall_kpi_target").format(target=f"{ind.target:.0f}"),
                      className="wall-kpi-target")],
            className=f"wall-kpi wall-kpi-{state}", id=f"wall-kpi-{ind.id}",
            title=f"{name}: {ratio.numerator} / {ratio.denominator}",
        ))
    return cells


def build_kiosk_kpi(head: ScopeKpi | None, units: Sequence[ScopeKpi], lang: Lang, *,
                    rows: int = KIOSK_HOLDBACK_ROWS) -> tuple[Component, Component]:
    """The kiosk's targets view: the district's table as on /kpi, then the wards and
    schools that hold it back, as many as fit a screen."""
    if head is None:
        waiting = html.Div(t(lang, "wall_kpi_loading"), className="empty")
        return waiting, html.Div()
    ordered = holdback_order(units)
    shown: Component = build_holdback(ordered[:rows], lang)
    if len(ordered) > rows:
        shown = html.Div([shown, html.Div(
            t(lang, "wall_kpi_more_units").format(n=len(ordered) - rows),
            className="muted wall-more-units")])
    return build_targets(head, lang), shown


# --- the kiosk's equipment view -----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SchoolEquipment:
    school: str
    name: str
    ward: str
    online: int
    total: int
    alarms: int
    major: int

    @property
    def offline(self) -> int:
        return self.total - self.online


def equipment_by_school(schools: Sequence[SchoolAttendance], wards: Mapping[str, str],
                        devices: Sequence[DevicePublic],
                        alarms: Sequence[AlarmPublic]) -> list[SchoolEquipment]:
    """Per school: devices online of all, open alarms and how many of them are major;
    schools in ward order, as on the wall."""
    online = Counter(d.school for d in devices if d.state == "online")
    total = Counter(d.school for d in devices)
    opened = [a for a in alarms if a.state != "cleared"]
    count = Counter(a.school_id for a in opened)
    major = Counter(a.school_id for a in opened if a.severity in MAJOR_SEVERITIES)
    return [SchoolEquipment(row.school, row.name, group.ward, online[row.school],
                            total[row.school], count[row.school], major[row.school])
            for group in group_by_ward(schools, wards) for row in group.schools]


def _stat(key: str, label: str, value: str, state: str = "") -> html.Div:
    return html.Div([html.Div(label, className="kpi-label"),
                     html.Div(value, className="kpi-value")],
                    className=f"kpi wall-eq-stat {state}".strip(), id=f"wall-eq-{key}")


def build_kiosk_equipment(
    schools: Sequence[SchoolAttendance], wards: Mapping[str, str],
    devices: Sequence[DevicePublic], alarms: Sequence[AlarmPublic], lang: Lang,
    tz: ZoneInfo, *, rows: int = KIOSK_ALARM_ROWS,
) -> tuple[list[Component], Component, Component]:
    """The kiosk's equipment view, read-only: totals, a row per school, the open alarms.
    Built here rather than taken from /equipment, whose alarm list carries buttons."""
    per_school = equipment_by_school(schools, wards, devices, alarms)
    opened = sorted((a for a in alarms if a.state != "cleared"),
                    key=lambda a: (_SEVERITY_RANK.get(a.severity, 9), a.state not in _UNACKED,
                                   -a.last_raised_at.timestamp()))
    on = sum(1 for d in devices if d.state == "online")
    off = sum(1 for d in devices if d.state == "offline")
    n_major = sum(1 for a in opened if a.severity in MAJOR_SEVERITIES)
    stats: list[Component] = [
        _stat("online", t(lang, "wall_eq_devices"), f"{on} / {len(devices)}",
              "kpi-ok" if on == len(devices) else "kpi-warn"),
        _stat("offline", t(lang, "wall_eq_offline"), str(off), "wall-bad" if off else ""),
        _stat("alarms", t(lang, "wall_eq_open_alarms"), str(len(opened))),
        _stat("major", t(lang, "wall_eq_major"), str(n_major), "wall-bad" if n_major else ""),
    ]
    head = html.Thead(html.Tr([html.Th(t(lang, k)) for k in (
        "col_school", "wall_ward", "wall_eq_col_online", "wall_eq_col_offline",
        "wall_eq_col_alarms", "wall_eq_col_major")]))
    body = html.Tbody([
        html.Tr([html.Td(short_school_name(s.name), className="col-school"),
                 html.Td(s.ward or "—", className="muted"),
                 html.Td(f"{s.online} / {s.total}", className="col-count"),
                 html.Td(str(s.offline),
                         className="col-count" + (" wall-bad-cell" if s.offline else "")),
                 html.Td(str(s.alarms), className="col-count"),
                 html.Td(str(s.major),
                         className="col-count" + (" wall-bad-cell" if s.major else ""))],
                id=f"wall-eq-row-{s.school}")
        for s in per_school])
    table = html.Table([head, body], className="feed-table wall-eq-table",
                       id="wall-eq-table")
    names = {s.school: s.name for s in schools}
    listing = _listing([_alarm_row(a, names, lang, tz) for a in opened[:rows]], len(opened),
                       t(lang, "wall_eq_no_alarms"), lang, "wall-eq-alarm-list")
    return stats, table, listing
