"""What a device reports about itself, gate or classroom alike: one reader, one set of names.

``cpu.load1``, ``cpu.temp_c``, ``mem.used_pct``, ``disk.used_pct`` (of the agent's data
directory) and ``uptime_s`` (of the machine; the agent's own is ``agent.uptime_s``). Used,
not free: a threshold on a filling disk or memory then reads the same way as one on a
rising temperature.

psutil when it is installed (the ``edge`` extra), else the standard library's readings:
the plain Pi image has no psutil, and both give the same names. A reading the platform
lacks (no thermal zone in a container, no /proc on macOS) is left out, not faked.
"""

from __future__ import annotations

import importlib
import os
import shutil
import time
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

MetricValue = bool | int | float | str

THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")
MEMINFO = Path("/proc/meminfo")
UPTIME = Path("/proc/uptime")
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


def _meminfo_kib(text: str, key: str) -> int | None:
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def _stdlib_metrics(data_dir: Path) -> dict[str, MetricValue]:
    out: dict[str, MetricValue] = {}
    with suppress(OSError, ValueError):
        out["cpu.temp_c"] = round(int(THERMAL_ZONE.read_text()) / 1000, 1)
    with suppress(OSError, ValueError):
        text = MEMINFO.read_text()
        total, avail = _meminfo_kib(text, "MemTotal"), _meminfo_kib(text, "MemAvailable")
        if total and avail is not None:
            out["mem.used_pct"] = round(100 - 100 * avail / total, 1)
    with suppress(OSError):
        usage = shutil.disk_usage(data_dir)
        out["disk.used_pct"] = round(100 - 100 * usage.free / usage.total, 1)
    with suppress(OSError, ValueError):
        out["uptime_s"] = int(float(UPTIME.read_text().split()[0]))
    return out


def _psutil_metrics(psutil: Any, data_dir: Path) -> dict[str, MetricValue]:
    out: dict[str, MetricValue] = {}
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


def host_metrics(data_dir: Path) -> dict[str, MetricValue]:
    """Load, temperature, memory, disk and uptime of the machine the agent runs on."""
    out: dict[str, MetricValue] = {}
    with suppress(OSError, AttributeError):
        out["cpu.load1"] = round(os.getloadavg()[0], 2)
    psutil = _psutil()
    out.update(_stdlib_metrics(data_dir) if psutil is None else _psutil_metrics(psutil, data_dir))
    return out
