"""What a school's device panel reads, and the one thing it changes: a command to a device.

Commands go through hub.devices.commands.send_command, the function behind the API's
POST /api/v1/devices/{id}/commands: the same rule (hub/access.py ``may_command``), the
same audit row (who, when, what, and later the device's reply, linked by ingest) and the
same publish. The dashboard holds its own command client to the hub's broker
(``command_sender``), made once per app and closed with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from core.settings import Settings
from dashboard.access import Viewer
from hub.db import Conn
from hub.devices import commands
from hub.devices.commands import COMMAND_NAMES, Command, CommandError
from hub.devices.sender import CommandSender
from hub.read.queries import DevicePublic, list_devices

__all__ = ["COMMAND_NAMES", "Command", "CommandError", "CommandSender", "DevicePanel",
           "command_sender", "gate_only", "load_panel", "send", "shown_command"]

RECENT_COMMANDS: Final = 20


def gate_only(name: str) -> bool:
    """A gate's command (the hub's rule, hub.devices.commands.ANY_DEVICE)."""
    return name not in commands.ANY_DEVICE


@dataclass(frozen=True, slots=True)
class DevicePanel:
    school: str
    school_name: str
    devices: list[DevicePublic]
    rooms: dict[str, str]  # device id -> its room's name
    recent: list[Command]  # the school's latest commands, newest first


def command_sender(settings: Settings, mqtt_url: str | None) -> CommandSender | None:
    """The dashboard's command client (connects on first use), or None without a broker:
    a command is then recorded ``failed``, as the API records one its broker refused."""
    url = mqtt_url or settings.mqtt_url
    if not url:
        return None
    from hub.service import broker_tls

    password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
    return CommandSender(url, client_id=f"{settings.hub_client_id}-dashboard-"
                                         f"{uuid.uuid4().hex[:8]}",
                         username=settings.mqtt_username, password=password,
                         tls=broker_tls(settings))


def load_panel(conn: Conn, settings: Settings, school: str) -> DevicePanel | None:
    """The school's devices with their state and its latest commands; None for a school
    that is not there."""
    row = conn.execute("select name from schools where id = %s", (school,)).fetchone()
    if row is None:
        return None
    devices = list_devices(conn, offline_gate_s=settings.offline_after_gate_s,
                           offline_classroom_s=settings.offline_after_classroom_s,
                           school=school)
    rooms = {str(d): str(n) for d, n in conn.execute(
        "select d.id, r.name from devices d join rooms r on r.id = d.room_id"
        " where d.school_id = %s", (school,))}
    ids = conn.execute(
        "select device_id, id from device_commands where school_id = %s"
        " order by issued_at desc, id limit %s", (school, RECENT_COMMANDS)).fetchall()
    recent = [c for d, cid in ids if (c := commands.get_command(conn, str(d), cid)) is not None]
    return DevicePanel(school=school, school_name=str(row[0]), devices=devices, rooms=rooms,
                       recent=recent)


def send(conn: Conn, sender: CommandSender | None, viewer: Viewer, *, device: str,
         name: str, args: Mapping[str, Any] | None = None) -> Command:
    """Send as the logged-in account, under the API's rule and audit. Raises CommandError
    (``forbidden``, ``not-found`` for a device out of the account's reach, ``invalid``)."""
    return commands.send_command(conn, sender, device=device, name=name, args=args or {},
                                 issued_by=viewer.username, role=viewer.role,
                                 user_school=viewer.school_id)


def shown_command(conn: Conn, viewer: Viewer, device: str, cmd_id: str) -> Command | None:
    """A command the account may see (its device within the account's reach), else None."""
    try:
        commands.visible_device(conn, device, role=viewer.role, user_school=viewer.school_id)
        return commands.get_command(conn, device, uuid.UUID(cmd_id))
    except (CommandError, ValueError):
        return None
