"""Mosquitto's dynamic security plugin: its initial JSON file, and administering it
over MQTT (``$CONTROL/dynamic-security/v1``) while the broker runs.

Accounts then change without a broker restart: the plugin applies a command at once,
saves its JSON file and disconnects a client whose account was deleted or whose
password changed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import ssl
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from core.mqtt import BrokerAddress
from hub.broker.acl import (
    ADMIN_USER,
    FIXED_ACCOUNTS,
    FIXED_ROLES,
    Grant,
    device_grants,
    device_role_name,
)

log = logging.getLogger(__name__)

COMMAND_TOPIC: Final = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC: Final = "$CONTROL/dynamic-security/v1/response"
# Each connect costs the broker one PBKDF2 per account check; 2.0.11's own tools use 101
# iterations. The passwords are 256-bit random, so iterations add nothing against guessing.
HASH_ITERATIONS: Final = 101
SALT_BYTES: Final = 12
PASSWORD_BYTES: Final = 32
TIMEOUT_S: Final = 10.0


class DynsecError(RuntimeError):
    """The broker refused a command or did not answer; the message says which."""


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def password_fields(password: str, *, salt: bytes | None = None,
                    iterations: int = HASH_ITERATIONS) -> dict[str, object]:
    """The plugin's stored form of a password: PBKDF2-HMAC-SHA512 over the raw salt,
    both base64 (the layout `mosquitto_ctrl dynsec init` writes)."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return {"password": base64.b64encode(digest).decode("ascii"),
            "salt": base64.b64encode(salt).decode("ascii"), "iterations": iterations}


def role_json(name: str, grants: Iterable[Grant]) -> dict[str, object]:
    return {"rolename": name, "acls": [g.as_json() for g in grants]}


def initial_config(passwords: dict[str, str]) -> dict[str, object]:
    """The plugin's JSON file for a new broker: the fixed accounts (``passwords`` holds
    each one's password) and their roles, everything else denied."""
    clients: list[dict[str, object]] = []
    for user, (role, bound) in FIXED_ACCOUNTS.items():
        client: dict[str, object] = {"username": user, "textName": f"smartschool {role}"}
        if bound:
            client["clientid"] = user
        client.update(password_fields(passwords[user]))
        client["roles"] = [{"rolename": role}]
        clients.append(client)
    return {
        "clients": clients,
        "roles": [role_json(name, grants) for name, grants in FIXED_ROLES.items()],
        # Deny by default, receiving included: a subscription the ACL missed delivers
        # nothing. Unsubscribing is harmless.
        "defaultACLAccess": {"publishClientSend": False, "publishClientReceive": False,
                             "subscribe": False, "unsubscribe": True},
    }


@dataclass(frozen=True, slots=True)
class AdminLogin:
    url: str
    username: str
    password: str
    ca_file: Path | None = None


class DynsecAdmin:
    """A connection as the admin account that sends plugin commands one at a time and
    waits for each answer (matched by its correlation data)."""

    def __init__(self, login: AdminLogin, *, timeout: float = TIMEOUT_S) -> None:
        self._login = login
        self._timeout = timeout
        self._address = BrokerAddress.parse(login.url)
        self._lock = threading.Lock()
        self._answers: dict[str, dict[str, Any]] = {}
        self._answered = threading.Condition(self._lock)
        self._ready = threading.Event()
        self._refused: str | None = None
        client = mqtt.Client(CallbackAPIVersion.VERSION2,
                             client_id=ADMIN_USER if login.username == ADMIN_USER else "",
                             protocol=MQTTProtocolVersion.MQTTv5)
        client.username_pw_set(login.username, login.password)
        if self._address.tls:
            client.tls_set(ca_certs=str(login.ca_file) if login.ca_file else None,
                           cert_reqs=ssl.CERT_REQUIRED)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client

    # -- connection ----------------------------------------------------------------------

    def __enter__(self) -> DynsecAdmin:
        try:
            self._client.connect(self._address.host, self._address.port, keepalive=30)
        except (OSError, ssl.SSLError) as exc:
            raise DynsecError(f"cannot reach the broker at {self._address}: {exc}") from exc
        self._client.loop_start()
        if not self._ready.wait(self._timeout) or self._refused:
            self._client.loop_stop()
            raise DynsecError(self._refused or f"no answer from the broker at {self._address}")
        return self

    def __exit__(self, _t: type[BaseException] | None, _e: BaseException | None,
                 _tb: TracebackType | None) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, rc: ReasonCode,
                    _p: object) -> None:
        if rc.is_failure:
            self._refused = (f"the broker at {self._address} refused the admin account "
                             f"{self._login.username!r}: {rc}")
            self._ready.set()
            return
        client.subscribe(RESPONSE_TOPIC, qos=1)

    def _on_subscribe(self, _c: mqtt.Client, _u: object, _mid: int,
                      codes: list[ReasonCode], _p: object) -> None:
        if any(code.is_failure for code in codes):
            self._refused = (f"account {self._login.username!r} may not administer the "
                             "broker's accounts (no dynamic security role)")
        self._ready.set()

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        try:
            answers = json.loads(message.payload)["responses"]
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable dynamic security response: %r", message.payload[:200])
            return
        with self._answered:
            for answer in answers:
                if isinstance(answer, dict) and isinstance(answer.get("correlationData"), str):
                    self._answers[answer["correlationData"]] = answer
            self._answered.notify_all()

    # -- commands ------------------------------------------------------------------------

    def command(self, name: str, **fields: object) -> dict[str, Any]:
        """Send one command; its answer, or DynsecError with the plugin's reason."""
        correlation = uuid.uuid4().hex
        body = {"commands": [{"command": name, **fields, "correlationData": correlation}]}
        info = self._client.publish(COMMAND_TOPIC, json.dumps(body), qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise DynsecError(f"{name}: could not send ({mqtt.error_string(info.rc)})")
        with self._answered:
            if not self._answered.wait_for(lambda: correlation in self._answers,
                                           self._timeout):
                raise DynsecError(f"{name}: no answer from the broker in {self._timeout:g} s")
            answer = self._answers.pop(correlation)
        if answer.get("error"):
            raise DynsecError(f"{name}: {answer['error']}")
        return answer

    def client_exists(self, username: str) -> bool:
        try:
            self.command("getClient", username=username)
        except DynsecError as exc:
            if "not found" in str(exc).lower():
                return False
            raise
        return True

    def create_device(self, *, role: str, school: str, device: str, password: str) -> None:
        """The device's role (its own topics) and its account, bound to its id."""
        grants = device_grants(role, school, device)
        name = device_role_name(device)
        self._replace_role(name, grants)
        self.command("createClient", username=device, clientid=device, password=password,
                     textName=f"{role} {device} of {school}",
                     roles=[{"rolename": name}])

    def set_password(self, username: str, password: str) -> None:
        self.command("setClientPassword", username=username, password=password)

    def delete_device(self, device: str) -> bool:
        """Remove the account and its role; False if there was no account."""
        existed = True
        try:
            self.command("deleteClient", username=device)
        except DynsecError as exc:
            if "not found" not in str(exc).lower():
                raise
            existed = False
        try:
            self.command("deleteRole", rolename=device_role_name(device))
        except DynsecError as exc:
            if "not found" not in str(exc).lower():
                raise
        return existed

    def _replace_role(self, name: str, grants: Iterable[Grant]) -> None:
        try:
            self.command("deleteRole", rolename=name)
        except DynsecError as exc:
            if "not found" not in str(exc).lower():
                raise
        self.command("createRole", rolename=name,
                     acls=[g.as_json() for g in grants])
