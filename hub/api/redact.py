"""Connection strings as they may be shown to users: passwords replaced."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

REDACTED = "***"
# libpq keyword syntax: a value is either bare or single-quoted with backslash escapes.
_KEYWORD_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']\S*)")


def redact_url(url: str) -> str:
    """The URL (postgresql://...) or key=value conninfo with any password masked.

    Never raises: a string it cannot parse is hidden entirely, since it may hold a secret.
    """
    try:
        if "://" in url:
            return _redact_uri(url)
        # Parsed only to refuse malformed strings; the substitution keeps the user's order.
        conninfo_to_dict(url)
        return _KEYWORD_PASSWORD.sub(rf"\g<1>{REDACTED}", url)
    except (ValueError, psycopg.ProgrammingError):
        return "<unparseable database URL>"


def _redact_uri(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hostinfo = netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{REDACTED}@{hostinfo}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, REDACTED if k.lower() == "password" else v) for k, v in pairs], safe="*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
