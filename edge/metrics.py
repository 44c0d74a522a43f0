"""What a device reports about itself. Standard library only: psutil is not on the Pi image."""

from __future__ import annotations

import os
import shutil
from contextlib import suppress
from pathlib import Path

MetricValue = bool | int | float | str

THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")
MEMINFO = Path("/proc/meminfo")


def _meminfo_kib(text: str, key: str) -> int | None:
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def host_metrics(data_dir: Path) -> dict[str, MetricValue]:
    """Load, temperature, memory and disk of the machine the agent runs on.

    Each reading is skipped, not faked, where the platform lacks it (no thermal
    zone in a container, no /proc on macOS).
    """
    out: dict[str, MetricValue] = {}
    with suppress(OSError):
        out["cpu.load1"] = round(os.getloadavg()[0], 2)
    with suppress(OSError, ValueError):
        out["cpu.temp_c"] = round(int(THERMAL_ZONE.read_text()) / 1000, 1)
    with suppress(OSError, ValueError):
        text = MEMINFO.read_text()
        total, avail = _meminfo_kib(text, "MemTotal"), _meminfo_kib(text, "MemAvailable")
        if total and avail is not None:
            out["mem.avail_pct"] = round(100 * avail / total, 1)
    with suppress(OSError):
        usage = shutil.disk_usage(data_dir)
        out["disk.free_pct"] = round(100 * usage.free / usage.total, 1)
    return out
