"""Pure builders of a school's device panel (issue #13): the devices with their state and
a button per command the device takes, the command just sent followed to its reply, and
the school's recent commands (the audit: who, when, what, the outcome, the reply).
Rows in (dashboard.data.devices), Dash components out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from dash import html
from dash.development.base_component import Component

from dashboard.i18n import Lang, t
from hub.devices.commands import COMMAND_NAMES, Command
from hub.read.queries import DevicePublic

BUTTON_TYPE: Final = "dev-cmd"
STATE_DOT: Final = {"online": "ok", "offline": "alert"}
CSTATE_CLASS: Final = {"sent": "warn", "replied": "ok", "expired": "muted", "failed": "alert"}
MAX_REPLY_CHARS: Final = 200


def commands_for(role: str) -> tuple[str, ...]:
    """The buttons a device gets: every command for a gate, ping for a classroom
    (hub.devices.commands.command_problem refuses the others)."""
    return COMMAND_NAMES if role == "gate" else ("ping",)


def reply_text(reply: Any) -> str:
    """The device's reply in one short line."""
    if reply is None:
        return "—"
    text = reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False,
                                                           sort_keys=True)
    return text if len(text) <= MAX_REPLY_CHARS else text[:MAX_REPLY_CHARS - 1] + "…"


def _when(moment: datetime | None, tz: ZoneInfo) -> str:
    return "—" if moment is None else moment.astimezone(tz).strftime("%d/%m %H:%M:%S")


def _buttons(device: DevicePublic, lang: Lang) -> list[Component]:
    return [html.Button(t(lang, f"dev_cmd_{name}"),
                        id={"type": BUTTON_TYPE, "device": device.id, "command": name},
                        className=f"eq-btn dev-btn dev-btn-{name}", n_clicks=0)
            for name in commands_for(device.role)]


def build_device_table(devices: Sequence[DevicePublic], rooms: dict[str, str], lang: Lang,
                       tz: ZoneInfo, *, can_command: bool) -> Component:
    if not devices:
        return html.Div(t(lang, "dev_no_devices"), className="muted eq-empty")
    keys = ["dev_col_device", "dev_col_role", "dev_col_room", "dev_col_state",
            "dev_col_seen", "dev_col_fw"] + (["dev_col_actions"] if can_command else [])
    head = html.Thead(html.Tr([html.Th(t(lang, k)) for k in keys]))
    rows = []
    for d in devices:
        cells: list[Component] = [
            html.Td(d.id, className="dev-id"),
            html.Td(t(lang, f"dev_role_{d.role}")),
            html.Td(rooms.get(d.id, "—")),
            html.Td([html.Span(className=f"dot dot-{STATE_DOT.get(d.state, 'warn')}"),
                     f" {t(lang, 'dev_state_' + d.state)}"], className=f"dev-state-{d.state}"),
            html.Td(_when(d.last_seen, tz)),
            html.Td(d.fw or "—"),
        ]
        if can_command:
            cells.append(html.Td(_buttons(d, lang), className="dev-actions"))
        rows.append(html.Tr(cells, id=f"device-{d.id}"))
    return html.Table([head, html.Tbody(rows)], className="feed-table dev-table")


def build_last(command: Command | None, lang: Lang, tz: ZoneInfo) -> list[Component]:
    """The command this screen sent last, as it stands now."""
    if command is None:
        return [html.Div(t(lang, "dev_last_none"), className="muted")]
    return [
        html.Div([html.Span(t(lang, f"dev_cmd_{command.name}"), className="dev-last-name"),
                  html.Span(f" → {command.device}", className="dev-last-device"),
                  html.Span(f" · {_when(command.issued_at, tz)}", className="muted")]),
        html.Div(t(lang, f"dev_cstate_{command.state}"), id="dev-last-state",
                 className=f"dev-cstate dev-cstate-{CSTATE_CLASS[command.state]}"
                           f" dev-is-{command.state}"),
        html.Div(reply_text(command.reply), id="dev-last-reply", className="dev-reply"),
    ]


def build_command_list(recent: Sequence[Command], lang: Lang, tz: ZoneInfo) -> Component:
    if not recent:
        return html.Div(t(lang, "dev_no_commands"), className="muted eq-empty")
    head = html.Thead(html.Tr([html.Th(t(lang, k)) for k in (
        "dev_col_time", "dev_col_device", "dev_col_command", "dev_col_by", "dev_col_cstate",
        "dev_col_reply")]))
    rows = [html.Tr([
        html.Td(_when(c.issued_at, tz)),
        html.Td(c.device),
        html.Td(t(lang, f"dev_cmd_{c.name}")),
        html.Td(c.issued_by),
        html.Td(t(lang, f"dev_cstate_{c.state}"),
                className=f"dev-cstate dev-cstate-{CSTATE_CLASS[c.state]}"),
        html.Td(reply_text(c.reply), className="dev-reply"),
    ], id=f"command-{c.id}") for c in recent]
    return html.Table([head, html.Tbody(rows)], className="feed-table dev-commands")
