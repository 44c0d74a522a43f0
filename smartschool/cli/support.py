"""What every command group shares: one error line, the services a command needs, logging
and waiting for a stop signal."""

from __future__ import annotations

import logging
import signal
import threading

import typer

from core.logformat import configure as configure_logging
from core.settings import Settings, get_settings


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr; ``raise fail(...)`` exits with ``code``
    (2: bad input or set-up, 1: refused by what the database holds or by a device)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def database_url(settings: Settings | None = None) -> str:
    """SMARTSCHOOL_DATABASE_URL, or exit 2 saying how to set it."""
    url = (settings or get_settings()).database_url
    if not url:
        raise fail("SMARTSCHOOL_DATABASE_URL is not set (e.g. "
                   "postgresql://smartschool@127.0.0.1/smartschool). `smartschool demo` "
                   "starts an embedded database instead.")
    return url


def broker_url(settings: Settings | None = None) -> str:
    """SMARTSCHOOL_MQTT_URL, or exit 2 saying how to set it."""
    url = (settings or get_settings()).mqtt_url
    if not url:
        raise fail("SMARTSCHOOL_MQTT_URL is not set (e.g. mqtt://127.0.0.1:1883).")
    return url


def setup_logging(settings: Settings) -> None:
    """Dated text lines, or JSON lines with SMARTSCHOOL_LOG_FORMAT=json (issue #16)."""
    configure_logging(settings.log_level, settings.log_format)
    for noisy in ("pgserver", "amqtt", "transitions", "werkzeug", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def wait_for_shutdown() -> None:
    """Block until SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
