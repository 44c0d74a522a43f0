"""Log lines (issue #16): dated text, and JSON lines a shipper can parse."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime

import pytest

from core.logformat import configure


@pytest.fixture
def root_state() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)


@pytest.mark.parametrize(("message", "args"), [
    ("plain", ()),
    ("trường %s: %d thẻ", ("Tiểu học Hải Thành", 3)),  # Vietnamese stays readable
    ('quotes " and \\ and a\nnewline', ()),
    ("{not a format}", ()),
])
def test_json_lines_parse(root_state: None, message: str, args: tuple[object, ...]) -> None:
    out = io.StringIO()
    configure("INFO", "json", out)
    logging.getLogger("hub.test").info(message, *args)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1  # a newline in a message is escaped, one record per line
    line = json.loads(lines[0])
    assert line["message"] == message % args if args else message
    assert line["level"] == "INFO"
    assert line["logger"] == "hub.test"
    when = datetime.fromisoformat(line["ts"])
    assert when.tzinfo is not None
    assert abs((datetime.now().astimezone() - when).total_seconds()) < 60
    assert "tr\\u01b0" not in lines[0]


def test_json_line_carries_the_traceback(root_state: None) -> None:
    out = io.StringIO()
    configure("INFO", "json", out)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("x").exception("writing a batch failed")
    line = json.loads(out.getvalue())
    assert line["level"] == "ERROR"
    assert "ValueError: boom" in line["exc"]


def test_text_lines_have_the_date(root_state: None) -> None:
    out = io.StringIO()
    configure("DEBUG", "text", out)
    logging.getLogger("edge.link").debug("connected")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{4} DEBUG   edge\.link: "
                        r"connected\n", out.getvalue())


def test_configure_twice_writes_once(root_state: None) -> None:
    out = io.StringIO()
    configure("INFO", "text", io.StringIO())
    configure("INFO", "json", out)
    logging.getLogger("x").warning("once")
    assert len(out.getvalue().splitlines()) == 1


def test_below_the_level_nothing(root_state: None) -> None:
    out = io.StringIO()
    configure("WARNING", "json", out)
    logging.getLogger("x").info("quiet")
    assert out.getvalue() == ""


def test_the_setting_reaches_the_command_line() -> None:
    """SMARTSCHOOL_LOG_FORMAT=json through the settings and setup_logging, in a process of
    its own (no .env of the work tree: it runs from /)."""
    code = ("import logging; from core.settings import Settings; "
            "from smartschool.cli.support import setup_logging; "
            "setup_logging(Settings(_env_file=None)); "
            "logging.getLogger('hub.service').info('hub started')")
    env = os.environ | {"SMARTSCHOOL_LOG_FORMAT": "json", "SMARTSCHOOL_LOG_LEVEL": "INFO",
                        "PYTHONPATH": os.getcwd()}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd="/",
                          capture_output=True, text=True, timeout=60, check=True)
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert line["logger"] == "hub.service" and line["message"] == "hub started"
    bad = subprocess.run([sys.executable, "-c", code], check=False, env=env | {
        "SMARTSCHOOL_LOG_FORMAT": "xml"}, cwd="/", capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "log_format" in bad.stderr
