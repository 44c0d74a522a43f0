"""Secrets for the agent, from the environment or systemd credentials, never from YAML."""

from __future__ import annotations

import os
from pathlib import Path

PASSWORD_ENV = "SMARTSCHOOL_MQTT_PASSWORD"  # noqa: S105 - a variable name
# Unit file: LoadCredential=mqtt-password:/etc/smartschool/mqtt-password
PASSWORD_CREDENTIAL = "mqtt-password"  # noqa: S105 - a file name


def mqtt_password() -> str | None:
    """The broker password: the environment wins, then ``$CREDENTIALS_DIRECTORY``.

    systemd credentials keep the secret out of ``/proc/<pid>/environ`` and out of
    unit files; the environment is the fallback for containers and development.
    """
    value = os.environ.get(PASSWORD_ENV)
    if value:
        return value
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if directory:
        path = Path(directory) / PASSWORD_CREDENTIAL
        if path.is_file():
            return path.read_text(encoding="utf-8").rstrip("\r\n")
    return None
