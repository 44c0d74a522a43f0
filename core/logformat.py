"""How log lines look (issue #16): dated text for people, one JSON object per line for a
log shipper (SMARTSCHOOL_LOG_FORMAT=json).

A journal stamps its own time, but a hub's log also goes to files, containers and support
tickets, where a line with only the hour cannot be placed: every text line carries the
date and the UTC offset.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from typing import Literal, TextIO

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S%z"  # 2026-12-07 14:23:01+0700

LogFormat = Literal["text", "json"]


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message"}`` plus ``exc`` (the traceback) when there
    is one; ``ts`` is ISO 8601 with milliseconds and the offset. Non-ASCII text (Vietnamese
    names of schools, reasons) stays readable rather than escaped."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created).astimezone()
            .isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter(fmt: LogFormat) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter()
    return logging.Formatter(TEXT_FORMAT, datefmt=DATE_FORMAT)


def configure(level: str, fmt: LogFormat, stream: TextIO | None = None) -> None:
    """The root logger writes ``fmt`` lines at ``level`` to stderr (or ``stream``).

    Replaces the handler an earlier call installed, so a command that sets up logging
    twice (the demo, then the hub it starts) never writes each line twice; handlers of
    others (pytest's capture, a library's) are left alone."""
    handler = _OurHandler(stream or sys.stderr)
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, _OurHandler):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


class _OurHandler(logging.StreamHandler[TextIO]):
    """The handler ``configure`` installs, told apart from everyone else's."""
