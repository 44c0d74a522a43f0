"""Provisioning a device end to end: the registry, its broker account, its sync token
and the bundle of files it needs (``smartschool devices add/rotate/decommission``).

The broker side runs only when the broker admin settings are set (``broker_login``);
without them a device is only registered, as before. Secrets are generated here and
leave only through the bundle (0600 files) or the command's standard output.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from core.mqtt import BrokerAddress
from core.settings import Settings
from hub.broker.dynsec import AdminLogin, DynsecAdmin, new_password
from hub.db import Conn
from hub.devices.registry import RegistryError, add_device
from hub.devices.tokens import issue_token, revoke_token

# File names in a bundle; the credential names are the ones the agent reads
# (edge/secrets.py: mqtt-password; the gate YAML's sync.token_credential: device_token).
PASSWORD_FILE: Final = "mqtt-password"  # noqa: S105 - a file name
TOKEN_FILE: Final = "device_token"  # noqa: S105 - a file name
CA_FILE: Final = "district-ca.crt"
# Where the bundle's files sit on the device: the unit's LoadCredential= paths and the
# YAML's ca_file name them.
DEVICE_DIR: Final = "/etc/smartschool"
# What the agent writes (the card list and gallery a sync fetches): the unit's
# StateDirectory, the one place it may write (ProtectSystem=strict).
STATE_DIR: Final = "/var/lib/smartschool"


class ProvisionError(RuntimeError):
    """A provisioning step refused, with a message for the operator."""


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: str
    school: str
    role: str
    face: bool


@dataclass(slots=True)
class Issued:
    """What a command issued: the device, its new secrets (None: not issued) and the
    bundle files written."""

    device: DeviceInfo
    password: str | None = None
    token: str | None = None
    files: list[Path] = field(default_factory=list)


def broker_login(settings: Settings) -> AdminLogin | None:
    """The broker admin account from the settings, or None when they are not all set."""
    if not (settings.broker_admin_url and settings.broker_admin_username
            and settings.broker_admin_password):
        return None
    return AdminLogin(settings.broker_admin_url, settings.broker_admin_username,
                      settings.broker_admin_password.get_secret_value(),
                      ca_file=settings.broker_ca_file)


# --- pure ---------------------------------------------------------------------------------


def device_yaml(device: DeviceInfo, *, mqtt_url: str, ca_file: str | None,
                hub_url: str | None, device_dir: str = DEVICE_DIR) -> str:
    """The device's YAML, the firmware_configs/ examples cut to what provisioning knows.
    The card list and gallery a sync writes live in the agent's state directory."""
    mqtt: dict[str, Any] = {"url": mqtt_url, "keepalive_s": 30}
    if ca_file:
        mqtt["ca_file"] = ca_file
    address = BrokerAddress.parse(mqtt_url)
    if not address.tls and not address.loopback:
        # A broker set up without --tls: the operator chose plain MQTT, so the bundle says
        # so in the open (the agent refuses it otherwise) rather than failing on the Pi.
        mqtt["allow_plaintext"] = True
    doc: dict[str, Any] = {"device": device.id, "school": device.school, "role": device.role,
                           "heartbeat_s": 60, "mqtt": mqtt}
    if device.role == "gate":
        gate: dict[str, Any] = {
            "direction": "in", "mode": "card-or-face" if device.face else "card",
            "reader": "keyboard", "anti_passback_minutes": 5,
            "relay": {"kind": "gpio", "pin": 17, "pulse_s": 1.0},
        }
        if hub_url:
            gate["sync"] = {"hub_url": hub_url, "token_credential": TOKEN_FILE}
            gate["cards_file"] = f"{STATE_DIR}/cards.yaml"
        if device.face:
            gate["face"] = {"camera": {"source": "0", "width": 640, "height": 480, "fps": 10},
                            "gallery_file": f"{STATE_DIR}/gallery.bin"}
        doc["gate"] = gate
    else:
        doc["classroom"] = {"telemetry_interval_s": 60, "assets": []}
    header = (
        f"# {device.role} {device.id} of {device.school}, written by `smartschool devices`.\n"
        "# Secrets are not here: the broker password and the sync token are the files\n"
        f"# {PASSWORD_FILE} and {TOKEN_FILE} beside it, given to the agent as systemd\n"
        f"# credentials (LoadCredential={PASSWORD_FILE}:{device_dir}/{PASSWORD_FILE}).\n"
        "# Check the reader, relay pins and (classrooms) the equipment against\n"
        "# firmware_configs/*.example.yaml.\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


# --- I/O ----------------------------------------------------------------------------------


def _write(path: Path, text: str, mode: int) -> Path:
    # Replace, never append or widen: a rotated secret overwrites the old one.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    tmp.replace(path)
    return path


def write_bundle(out: Path, device: DeviceInfo, issued: Issued, settings: Settings,
                 *, device_dir: str = DEVICE_DIR) -> None:
    """Write ``out/{device}.yaml``, ``out/mqtt-password``, ``out/device_token`` (the
    secrets issued now, 0600) and ``out/district-ca.crt``, to be copied to
    ``device_dir`` on the device."""
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca = settings.broker_ca_file
    url = settings.broker_device_url or settings.mqtt_url
    if not url:
        raise ProvisionError("no broker URL for the device: set SMARTSCHOOL_BROKER_DEVICE_URL "
                             "(written by `smartschool broker init`)")
    device_dir = device_dir.rstrip("/") or "/"
    text = device_yaml(device, mqtt_url=url,
                       ca_file=f"{device_dir}/{CA_FILE}" if ca else None,
                       hub_url=settings.device_hub_url, device_dir=device_dir)
    issued.files.append(_write(out / f"{device.id}.yaml", text, 0o644))
    if issued.password is not None:
        issued.files.append(_write(out / PASSWORD_FILE, issued.password + "\n", 0o600))
    if issued.token is not None:
        issued.files.append(_write(out / TOKEN_FILE, issued.token + "\n", 0o600))
    if ca is not None:
        shutil.copyfile(ca, out / CA_FILE)
        os.chmod(out / CA_FILE, 0o644)
        issued.files.append(out / CA_FILE)


def _device(conn: Conn, device: str) -> DeviceInfo:
    row = conn.execute("select id, school_id, role, face from devices where id = %s",
                       (device,)).fetchone()
    if row is None:
        raise ProvisionError(f"no device {device!r} (register it with `smartschool devices add`)")
    return DeviceInfo(str(row[0]), str(row[1]), str(row[2]), bool(row[3]))


def _token(conn: Conn, device: DeviceInfo) -> str | None:
    if device.role != "gate":
        return None  # only gates sync; a classroom agent has nothing to fetch
    issued = issue_token(conn, device.id)
    if isinstance(issued, str):
        raise ProvisionError(issued)
    return issued[0]


def add(conn: Conn, login: AdminLogin | None, *, school: str, device: str, role: str,
        face: bool = False) -> Issued:
    """Register the device; with ``login``, create its broker account (a device that has
    one is refused: rotate it instead) and issue a gate its sync token."""
    try:
        add_device(conn, school=school, device=device, role=role, face=face)
    except RegistryError as exc:
        raise ProvisionError(str(exc)) from exc
    info = _device(conn, device)
    issued = Issued(info)
    if login is None:
        return issued
    password = new_password()
    with DynsecAdmin(login) as admin:
        if admin.client_exists(device):
            raise ProvisionError(f"device {device!r} already has a broker account; "
                                 "`smartschool devices rotate` issues new secrets")
        admin.create_device(role=info.role, school=info.school, device=info.id,
                            password=password)
    issued.password = password
    issued.token = _token(conn, info)
    return issued


def rotate(conn: Conn, login: AdminLogin, device: str) -> Issued:
    """A new broker password (the broker drops the device's connection; the old password
    stops working) and, for a gate, a new sync token (the old one stops working)."""
    info = _device(conn, device)
    password = new_password()
    with DynsecAdmin(login) as admin:
        if not admin.client_exists(device):
            # Decommissioned, or registered before the broker was provisioned: give it one.
            admin.create_device(role=info.role, school=info.school, device=info.id,
                                password=password)
        else:
            admin.set_password(device, password)
    return Issued(info, password=password, token=_token(conn, info))


def decommission(conn: Conn, login: AdminLogin | None, device: str) -> tuple[bool, bool]:
    """Revoke the token, then remove the broker account; the device's row and history
    stay. (account removed, token revoked). The token goes first: it is ours to revoke
    even when the broker cannot be reached (the command then fails and can be re-run)."""
    _device(conn, device)
    revoked = revoke_token(conn, device)
    # The fleet view keeps it apart from then on (migration 0020).
    with conn.transaction():
        conn.execute("update devices set decommissioned_at = coalesce(decommissioned_at, now())"
                     " where id = %s", (device,))
    removed = False
    if login is not None:
        with DynsecAdmin(login) as admin:
            removed = admin.delete_device(device)
    return removed, revoked
