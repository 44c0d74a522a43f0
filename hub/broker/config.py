"""``smartschool broker init``: a complete broker setup in one directory.

What it writes (``DIR`` made absolute):

- ``mosquitto.conf``: ``mosquitto -c DIR/mosquitto.conf`` starts the broker;
- ``dynamic-security.json``: the accounts and roles (``hub.broker.dynsec``), which the
  plugin rewrites whenever ``smartschool devices ...`` changes an account;
- ``smartschool.env``: what the hub and the CLI need (broker URL, hub credentials,
  admin credentials, CA file), for ``set -a; . DIR/smartschool.env``, or a unit's
  ``EnvironmentFile=``;
- ``credentials/<account>``: each fixed account's password, one file each;
- ``tls/`` with ``--tls``: the district CA and the broker's certificate;
- ``data/``: the broker's persistence file.

Secrets are written 0600 and nothing is overwritten: a second ``init`` into the same
directory is refused rather than orphaning every device's account.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hub.broker import certs
from hub.broker.acl import ADMIN_USER, FIXED_ACCOUNTS, HUB_USER
from hub.broker.dynsec import initial_config, new_password

DYNSEC_PLUGIN: Final = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"
CONF: Final = "mosquitto.conf"
DYNSEC_FILE: Final = "dynamic-security.json"
ENV_FILE: Final = "smartschool.env"
# Change count between saves of the broker's state (see the comment written with it).
AUTOSAVE_CHANGES: Final = 10


class BrokerInitError(RuntimeError):
    """Why a broker setup was not written."""


@dataclass(frozen=True, slots=True)
class BrokerPlan:
    directory: Path
    port: int = 1883
    tls: bool = False
    tls_port: int = 8883
    hostname: str = "localhost"  # the name devices use for the broker
    user: str | None = None  # the system user Mosquitto runs as, if not its default
    plugin: str = DYNSEC_PLUGIN
    autosave_changes: int = AUTOSAVE_CHANGES

    @property
    def device_url(self) -> str:
        if self.tls:
            return f"mqtts://{self.hostname}:{self.tls_port}"
        return f"mqtt://{self.hostname}:{self.port}"

    @property
    def local_url(self) -> str:
        """The hub's and the CLI's URL: on the broker's host, the plain loopback listener."""
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path | None:
        return self.directory / "tls" / certs.CA_CERT if self.tls else None


# --- pure ---------------------------------------------------------------------------------


def mosquitto_conf(plan: BrokerPlan) -> str:
    d = plan.directory
    lines = [
        "# Written by `smartschool broker init`; accounts change at run time through the",
        "# dynamic security plugin (`smartschool devices add/rotate/decommission`), not here.",
        "per_listener_settings false",
        "allow_anonymous false",
        f"plugin {plan.plugin}",
        f"plugin_opt_config_file {d / DYNSEC_FILE}",
        "",
        "# Persistence. Mosquitto acknowledges a QoS 1 publish before it is on disk and by",
        "# default saves every 1800 s, so a crash or power cut would lose up to half an",
        "# hour that gates had already deleted from their outboxes. With autosave_on_changes",
        "# the interval counts changes (messages queued, retained, subscriptions) instead of",
        "# seconds: the state is saved after every few changes, bounding what a crash can",
        "# take to a handful of messages. Not 1: each save writes the whole state, and while",
        "# the hub is away its backlog is the whole state. The rest of the window is closed",
        "# end to end (devices keep what the hub has not confirmed as stored).",
        "persistence true",
        f"persistence_location {d / 'data'}/",
        "autosave_on_changes true",
        f"autosave_interval {plan.autosave_changes}",
        "",
        "# The hub keeps a persistent session and acknowledges only after its database",
        "# commit: the broker must hold its whole backlog while it restarts (the default,",
        "# 1000 queued, loses the morning rush) and let it have many messages in flight",
        "# (the default 20 throttles a batching hub). Payloads are capped at 64 KiB by the",
        "# protocol.",
        "max_queued_messages 0",
        "max_inflight_messages 1000",
        "message_size_limit 131072",
        "",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "connection_messages true",
    ]
    if plan.user:
        lines += ["", f"user {plan.user}"]
    if plan.tls:
        tls = d / "tls"
        lines += [
            "",
            "# The hub and the CLI on this host: loopback only, never reachable by devices.",
            f"listener {plan.port} 127.0.0.1",
            "",
            "# Devices: TLS only, the broker's certificate signed by the district CA.",
            f"listener {plan.tls_port}",
            f"certfile {tls / certs.BROKER_CERT}",
            f"keyfile {tls / certs.BROKER_KEY}",
            f"cafile {tls / certs.CA_CERT}",
            "require_certificate false",
            "tls_version tlsv1.2",
        ]
    else:
        lines += [
            "",
            "# No TLS: passwords, card UIDs and person codes cross the network in clear.",
            "# For a lab only; `smartschool broker init --tls` for a school.",
            f"listener {plan.port}",
        ]
    return "\n".join(lines) + "\n"


def env_file(plan: BrokerPlan, passwords: Mapping[str, str]) -> str:
    values = {
        "SMARTSCHOOL_MQTT_URL": plan.local_url,
        "SMARTSCHOOL_MQTT_USERNAME": HUB_USER,
        "SMARTSCHOOL_MQTT_PASSWORD": passwords[HUB_USER],
        "SMARTSCHOOL_BROKER_ADMIN_URL": plan.local_url,
        "SMARTSCHOOL_BROKER_ADMIN_USERNAME": ADMIN_USER,
        "SMARTSCHOOL_BROKER_ADMIN_PASSWORD": passwords[ADMIN_USER],
        "SMARTSCHOOL_BROKER_DEVICE_URL": plan.device_url,
    }
    if plan.ca_file is not None:
        values["SMARTSCHOOL_BROKER_CA_FILE"] = str(plan.ca_file)
    lines = [
        "# Written by `smartschool broker init`: the hub's broker account and the admin",
        "# account that `smartschool devices add/rotate/decommission` use. Secret: keep 0600.",
    ]
    lines += [f"{key}={value}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


# --- I/O ----------------------------------------------------------------------------------


def _write_secret(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def default_hostname() -> str:
    return socket.getfqdn() or "localhost"


def init_broker(plan: BrokerPlan, *, district: str = "smartschool") -> dict[str, Path]:
    """Write the setup; the paths written, by what they are."""
    d = plan.directory
    if not d.is_absolute():
        raise BrokerInitError(f"{d} must be an absolute path")
    if (d / CONF).exists() or (d / DYNSEC_FILE).exists():
        raise BrokerInitError(f"{d} already holds a broker setup; refusing to overwrite its "
                              "accounts (use a new directory)")
    if plan.tls and plan.port == plan.tls_port:
        raise BrokerInitError("--port and --tls-port must differ")
    d.mkdir(parents=True, exist_ok=True)
    (d / "data").mkdir(exist_ok=True)
    (d / "credentials").mkdir(mode=0o700, exist_ok=True)
    passwords = {user: new_password() for user in FIXED_ACCOUNTS}
    written = {"conf": d / CONF, "dynsec": d / DYNSEC_FILE, "env": d / ENV_FILE}
    if plan.tls:
        hostnames = list(dict.fromkeys([plan.hostname, "localhost", "127.0.0.1"]))
        certs.make_tls(d / "tls", district=district, hostnames=hostnames)
        assert plan.ca_file is not None
        written["ca"] = plan.ca_file
    _write_secret(d / DYNSEC_FILE, json.dumps(initial_config(passwords), indent=2) + "\n")
    for user, password in passwords.items():
        _write_secret(d / "credentials" / user, password + "\n")
    _write_secret(d / ENV_FILE, env_file(plan, passwords))
    (d / CONF).write_text(mosquitto_conf(plan), encoding="utf-8")
    return written
