"""The agent's own figures for node_exporter's textfile collector (issue #16).

A Pi usually runs node_exporter already (CPU, disk, temperature); its textfile collector
reads ``*.prom`` files from one directory, so the agent needs no port of its own, no HTTP
server and no firewall rule: it rewrites one small file every ``EVERY_S`` seconds. The
file is written beside its final name and renamed over it, so the collector never reads
half a file. What it shows: the outbox's backlog (rows the hub has not confirmed, and of
them rows the broker has not acknowledged) and how long ago the broker last acknowledged
anything, the figures that tell a stuck gate from a quiet one.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

EVERY_S = 15.0  # node_exporter is usually scraped every 15-60 s


@dataclass(frozen=True, slots=True)
class EdgeFigures:
    device: str
    role: str
    outbox_rows: int  # held until the hub confirms them stored
    outbox_unsent: int  # of those, not yet acknowledged by the broker (PUBACK)
    puback_age_s: float | None  # None: no PUBACK since the agent started
    connected: bool
    connects: int
    resent: int


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(f: EdgeFigures) -> str:
    """The Prometheus text format (0.0.4) of one agent's figures."""
    labels = f'{{device="{_label(f.device)}",role="{_label(f.role)}"}}'
    series: list[tuple[str, str, str, float | None]] = [
        ("smartschool_edge_outbox_rows", "gauge",
         "Messages in the outbox the hub has not confirmed stored", f.outbox_rows),
        ("smartschool_edge_outbox_unsent", "gauge",
         "Messages in the outbox the broker has not acknowledged (PUBACK)", f.outbox_unsent),
        ("smartschool_edge_last_puback_age_seconds", "gauge",
         "Seconds since the broker last acknowledged a message of the agent",
         f.puback_age_s),
        ("smartschool_edge_broker_connected", "gauge",
         "1 while the agent is connected to the broker", int(f.connected)),
        ("smartschool_edge_broker_connects_total", "counter",
         "Connections the broker accepted since the agent started", f.connects),
        ("smartschool_edge_resent_total", "counter",
         "Messages resent because the hub had not confirmed them", f.resent),
    ]
    lines: list[str] = []
    for name, kind, text, value in series:
        if value is None:
            continue  # unknown is no sample, not a false zero
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}",
                  f"{name}{labels} {float(value):g}"]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)  # node_exporter runs as its own user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class TextfileExporter:
    """Rewrites ``path`` at most every ``every_s``; a failure is logged, never raised:
    a full disk must not stop a gate from opening."""

    def __init__(self, path: Path, every_s: float = EVERY_S) -> None:
        self.path = path
        self.every_s = every_s
        self._next = 0.0
        self._failed = False
        self._connected: bool | None = None  # as last written

    def due(self, connected: bool) -> bool:
        """Every ``every_s``, and at once when the broker connection comes or goes."""
        return time.monotonic() >= self._next or connected != self._connected

    def write(self, figures: EdgeFigures) -> None:
        self._next = time.monotonic() + self.every_s
        self._connected = figures.connected
        try:
            write_atomically(self.path, render(figures))
        except OSError as exc:
            if not self._failed:  # once, not every 15 s
                log.warning("cannot write metrics to %s: %s", self.path, exc)
            self._failed = True
        else:
            self._failed = False
