"""Pure builders of the fleet view (issue #13): each device's firmware, configuration
version, last contact, outbox backlog and clock sync, decommissioned devices in a table of
their own so they neither count nor alarm. Rows in (FleetRow, filled by
dashboard.data.fleet), Dash components out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo

from dash import html
from dash.development.base_component import Component

from dashboard.i18n import Lang, t

Level = Literal["ok", "warn", "alert", "none"]
ClockKey = Literal["synced", "unsynced", "unknown"]

# A device confirms its rows within seconds while connected; at its birth, a backlog is
# what piled up while it was away. Hundreds is a long outage, thousands one to look at.
BACKLOG_WARN: Final = 100
BACKLOG_ALERT: Final = 1000
STATE_DOT: Final = {"online": "ok", "offline": "alert"}


@dataclass(frozen=True, slots=True)
class FleetRow:
    id: str
    school: str
    school_name: str
    role: str
    room: str | None
    state: str  # online / offline / unknown (hub.read.queries, the API's rule)
    last_seen: datetime | None
    fw: str | None
    config_version: str | None
    backlog: int | None
    clock_synced: bool | None
    reported_at: datetime | None  # when its status last carried the figures
    decommissioned_at: datetime | None


@dataclass(frozen=True, slots=True)
class FleetSummary:
    devices: int
    online: int
    unsynced: int
    backlogged: int
    firmware: int  # distinct versions


def split_fleet(rows: Sequence[FleetRow]) -> tuple[list[FleetRow], list[FleetRow]]:
    """(in service, decommissioned), each in the given order."""
    return ([r for r in rows if r.decommissioned_at is None],
            [r for r in rows if r.decommissioned_at is not None])


def clock_key(synced: bool | None) -> ClockKey:
    if synced is None:
        return "unknown"
    return "synced" if synced else "unsynced"


def backlog_level(backlog: int | None) -> Level:
    if backlog is None:
        return "none"
    if backlog >= BACKLOG_ALERT:
        return "alert"
    return "warn" if backlog >= BACKLOG_WARN else "ok"


def summarise(active: Sequence[FleetRow]) -> FleetSummary:
    """Counts over devices in service only."""
    return FleetSummary(
        devices=len(active),
        online=sum(r.state == "online" for r in active),
        unsynced=sum(r.clock_synced is False for r in active),
        backlogged=sum((r.backlog or 0) > 0 for r in active),
        firmware=len({r.fw for r in active if r.fw}),
    )


def _when(moment: datetime | None, tz: ZoneInfo) -> str:
    return "—" if moment is None else moment.astimezone(tz).strftime("%d/%m %H:%M")


def build_fleet_kpis(summary: FleetSummary, lang: Lang) -> list[Component]:
    items = [("devices", summary.devices), ("online", f"{summary.online}/{summary.devices}"),
             ("unsynced", summary.unsynced), ("backlog", summary.backlogged),
             ("firmware", summary.firmware)]
    return [html.Div([html.Div(t(lang, f"fleet_kpi_{key}"), className="kpi-label"),
                      html.Div(str(value), className="kpi-value")],
                     className="kpi", id=f"fleet-kpi-{key}") for key, value in items]


def build_fleet_table(rows: Sequence[FleetRow], lang: Lang, tz: ZoneInfo, *,
                      decommissioned: bool = False) -> Component:
    if not rows:
        key = "fleet_none_decommissioned" if decommissioned else "fleet_no_devices"
        return html.Div(t(lang, key), className="muted eq-empty")
    keys = ["fleet_col_device", "fleet_col_school", "fleet_col_role", "fleet_col_room",
            "fleet_col_state", "fleet_col_seen", "fleet_col_fw", "fleet_col_config",
            "fleet_col_backlog", "fleet_col_clock", "fleet_col_reported"]
    if decommissioned:
        keys.append("fleet_col_decommissioned")
    head = html.Thead(html.Tr([html.Th(t(lang, k)) for k in keys]))
    body = []
    for r in rows:
        clock = clock_key(r.clock_synced)
        cells: list[Component] = [
            html.Td(r.id, className="dev-id"),
            html.Td(r.school_name, title=r.school),
            html.Td(t(lang, f"dev_role_{r.role}")),
            html.Td(r.room or "—"),
            html.Td([html.Span(className=f"dot dot-{STATE_DOT.get(r.state, 'warn')}"),
                     f" {t(lang, 'dev_state_' + r.state)}"]),
            html.Td(_when(r.last_seen, tz)),
            html.Td(r.fw or "—", className="fleet-fw"),
            html.Td(r.config_version or "—", className="fleet-config"),
            html.Td("—" if r.backlog is None else str(r.backlog),
                    className=f"fleet-backlog fleet-{backlog_level(r.backlog)}"),
            html.Td(t(lang, f"fleet_clock_{clock}"), className=f"fleet-clock fleet-{clock}"),
            html.Td(_when(r.reported_at, tz)),
        ]
        if decommissioned:
            cells.append(html.Td(_when(r.decommissioned_at, tz)))
        body.append(html.Tr(cells, id=f"fleet-{r.id}"))
    return html.Table([head, html.Tbody(body)], className="feed-table fleet-table")
