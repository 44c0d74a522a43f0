"""The device itself: CPU temperature, load, memory, disk, uptime.

psutil when it is installed (the ``edge`` extra), else the standard-library
readings of ``edge.metrics``. A reading the platform lacks (no thermal zone in a
container) is left out, not faked.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Mapping
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from edge.metrics import THERMAL_ZONE, MetricValue, host_metrics

TEMP_SENSORS = ("cpu_thermal", "coretemp", "k10temp", "soc_thermal", "acpitz")  # Pi first


def _psutil() -> Any | None:
    try:  # no stubs needed: the few calls below are read defensively
        return importlib.import_module("psutil")
    except ImportError:
        return None


def cpu_temp_c(sensors: Mapping[str, list[Any]]) -> float | None:
    """The first known CPU sensor's first reading (pure over psutil's mapping)."""
    for name in (*TEMP_SENSORS, *sorted(sensors)):
        entries = sensors.get(name)
        if entries:
            return round(float(entries[0].current), 1)
    return None


def read_host(data_dir: Path) -> dict[str, MetricValue]:
    psutil = _psutil()
    if psutil is None:
        out = host_metrics(data_dir)
        if "mem.avail_pct" in out:
            out["mem.used_pct"] = round(100 - float(out.pop("mem.avail_pct")), 1)
        if "disk.free_pct" in out:
            out["disk.used_pct"] = round(100 - float(out.pop("disk.free_pct")), 1)
        with suppress(OSError, ValueError):
            out["uptime_s"] = int(float(Path("/proc/uptime").read_text().split()[0]))
        return out
    out = {}
    with suppress(OSError, AttributeError):
        out["cpu.load1"] = round(os.getloadavg()[0], 2)
    temp = None
    with suppress(OSError, AttributeError):
        temp = cpu_temp_c(psutil.sensors_temperatures())
    if temp is None:
        with suppress(OSError, ValueError):
            temp = round(int(THERMAL_ZONE.read_text()) / 1000, 1)
    if temp is not None:
        out["cpu.temp_c"] = temp
    out["mem.used_pct"] = round(float(psutil.virtual_memory().percent), 1)
    with suppress(OSError):
        out["disk.used_pct"] = round(float(psutil.disk_usage(str(data_dir)).percent), 1)
    out["uptime_s"] = int(time.time() - psutil.boot_time())
    return out


class HostCollector:
    """The device's own health; its telemetry has no asset."""

    name = "host"

    def __init__(self, data_dir: Path, *, interval_s: float = 60) -> None:
        self.asset: str | None = None
        self.data_dir = data_dir
        self.interval_s = interval_s

    def collect(self, now: datetime) -> Mapping[str, MetricValue]:
        return read_host(self.data_dir)
