"""What the hub's command groups share: a clear error line and the database to use."""

from __future__ import annotations

import typer


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr; ``raise fail(...)`` exits with ``code``
    (2: bad input or set-up, 1: refused by what the database holds)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def database_url() -> str:
    """SMARTSCHOOL_DATABASE_URL, or exit 2 saying how to set it."""
    from core.settings import get_settings

    url = get_settings().database_url
    if not url:
        raise fail("SMARTSCHOOL_DATABASE_URL is not set (e.g. "
                   "postgresql://smartschool@127.0.0.1/smartschool)")
    return url
