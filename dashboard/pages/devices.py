"""A school's device panel (``/school/<id>/devices``, issue #13): its gates and classroom
devices with their state, a button per command for the accounts the API lets command
them, the command just sent followed to the device's reply, and the school's recent
commands (the audit).

A command goes through dashboard.data.devices into hub.devices.commands.send_command, the
function behind POST /api/v1/devices/{id}/commands: the same rule, the same audit row (the
logged-in account as the sender) and the same publish; the device's reply reaches the row
through ingest, and the panel polls it every two seconds. Read-only accounts (teachers,
facility managers) see the devices and the audit but no buttons; the send re-reads the
account from the database and the hub's rule refuses anyone else regardless.
"""

from __future__ import annotations

import logging
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg
import psycopg_pool
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from core.settings import Settings
from dashboard.access import may_command_devices, school_href, sees_devices
from dashboard.builders.devices import (
    BUTTON_TYPE,
    build_command_list,
    build_device_table,
    build_last,
)
from dashboard.data.devices import (
    COMMAND_NAMES,
    CommandError,
    CommandSender,
    load_panel,
    send,
    shown_command,
)
from dashboard.i18n import Lang, language_from_search, role_label, t
from dashboard.login import DashboardAuth

log = logging.getLogger(__name__)

# A reply comes within seconds of a click: poll at the pace a person waits.
REFRESH_MS: Final = 2000

_TEXTS: Final = {
    "dev-subtitle": "dev_subtitle",
    "dev-devices-title": "dev_devices",
    "dev-last-title": "dev_last",
    "dev-commands-title": "dev_commands",
}


def layout(default_lang: Lang, school: str) -> html.Div:
    return html.Div(
        [
            dcc.Interval(id="dev-tick", interval=REFRESH_MS, n_intervals=0),
            dcc.Store(id="dev-school", data=school),
            dcc.Store(id="dev-last-id", data=None),
            html.Header(
                [
                    html.Div([html.H1(id="dev-title"),
                              html.Div(id="dev-subtitle", className="subtitle")],
                             className="brand"),
                    dcc.Link(t(default_lang, "dev_back"), id="dev-back",
                             href=school_href(school), className="sc-btn"),
                ],
                className="topbar",
            ),
            html.Div(id="dev-status", className="status hidden"),
            html.Main(
                [
                    html.Section([html.H2(id="dev-devices-title"),
                                  html.Div(id="dev-read-only", className="eq-read-only hidden"),
                                  html.Div(id="dev-action-status", className="eq-action-status"),
                                  html.Div(id="dev-devices", className="dev-devices")],
                                 className="schools-panel"),
                    html.Aside([html.H2(id="dev-last-title"), html.Div(id="dev-last")],
                               className="side-panel"),
                ],
                className="main",
            ),
            html.Section([html.H2(id="dev-commands-title"), html.Div(id="dev-commands")],
                         className="eq-chart-panel"),
        ],
        className="app dev-page",
    )


def register_callbacks(app: Dash, *, pool: psycopg_pool.ConnectionPool[Any],
                       settings: Settings, auth: DashboardAuth,
                       sender: CommandSender | None) -> None:
    tz = ZoneInfo(settings.timezone)
    default: Lang = settings.language

    @app.callback(
        Output("dev-title", "children"),
        *[Output(element, "children") for element in _TEXTS],
        Output("dev-back", "children"),
        Output("dev-back", "href"),
        Output("dev-devices", "children"),
        Output("dev-last", "children"),
        Output("dev-commands", "children"),
        Output("dev-read-only", "children"),
        Output("dev-read-only", "className"),
        Output("dev-status", "children"),
        Output("dev-status", "className"),
        Input("dev-tick", "n_intervals"),
        Input("page", "search"),
        Input("dev-last-id", "data"),
        State("dev-school", "data"),
    )
    def render(_tick: int, search: str | None, last: dict[str, str] | None,
               school: str | None) -> tuple[Any, ...]:
        lang = language_from_search(search, default)
        texts = tuple(t(lang, key) for key in _TEXTS.values())
        back = (t(lang, "dev_back"), f"{school_href(school or '')}?lang={lang}")
        blank: tuple[Any, ...] = ([], [], [], "", "eq-read-only hidden")
        try:
            with pool.connection() as conn:
                viewer = auth.viewer(conn)
                if viewer is None or school is None or not sees_devices(viewer, school):
                    # Blank every part: a session that ends leaves nothing behind.
                    notice = t(lang, "session_ended" if viewer is None else "not_allowed_page")
                    return (t(lang, "dev_title"), *texts, *back, *blank, notice,
                            "status error")
                panel = load_panel(conn, settings, school)
                shown = (shown_command(conn, viewer, last["device"], last["id"])
                         if last else None)
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("device panel could not read the database", exc_info=True)
            return (t(lang, "dev_title"), *texts, *back, *(no_update,) * 5,
                    t(lang, "db_error"), "status error")
        if panel is None:
            return (t(lang, "dev_title"), *texts, *back, *blank,
                    t(lang, "dev_unknown_school"), "status error")
        can = may_command_devices(viewer, school)
        note = "" if can else t(lang, "dev_read_only").format(
            role=role_label(lang, viewer.role))
        return (
            f"{t(lang, 'dev_title')} · {panel.school_name}",
            *texts, *back,
            build_device_table(panel.devices, panel.rooms, lang, tz, can_command=can),
            build_last(shown, lang, tz),
            build_command_list(panel.recent, lang, tz),
            note, "eq-read-only hidden" if can else "eq-read-only",
            "", "status hidden",
        )

    @app.callback(
        Output("dev-action-status", "children"),
        Output("dev-last-id", "data"),
        Input({"type": BUTTON_TYPE, "device": ALL, "command": ALL}, "n_clicks"),
        State("dev-school", "data"),
        State("page", "search"),
        prevent_initial_call=True,
    )
    def act(_clicks: list[int | None], school: str | None,
            search: str | None) -> tuple[Any, Any]:
        trigger = ctx.triggered_id
        # Re-rendered buttons come back with n_clicks 0: only a real click acts.
        if not isinstance(trigger, dict) or not ctx.triggered or not ctx.triggered[0]["value"]:
            return no_update, no_update
        lang = language_from_search(search, default)
        device, name = str(trigger.get("device")), str(trigger.get("command"))
        if name not in COMMAND_NAMES or school is None:
            return no_update, no_update
        try:
            with pool.connection() as conn:
                viewer = auth.viewer(conn)
                if viewer is None:
                    return t(lang, "session_ended"), no_update
                try:
                    command = send(conn, sender, viewer, device=device, name=name)
                except CommandError as exc:
                    if exc.kind == "invalid":
                        return t(lang, "dev_refused").format(reason=str(exc)), no_update
                    log.warning("dashboard: %s (%s) may not command %s", viewer.username,
                                viewer.role, device)
                    return t(lang, "dev_not_allowed"), no_update
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            log.warning("device command failed", exc_info=True)
            return t(lang, "db_error"), no_update
        message = t(lang, "dev_sent").format(command=t(lang, f"dev_cmd_{name}"), device=device)
        return message, {"device": command.device, "id": str(command.id)}
