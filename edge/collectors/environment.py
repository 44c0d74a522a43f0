"""Room temperature and humidity, behind a small driver interface.

Drivers: ``simulated`` (a school day's curve, stable per sensor) and ``iio``
(the Linux IIO sysfs files that the kernel's dht11, bme280, sht3x and similar
drivers expose once their device-tree overlay is enabled on the Pi).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from edge.metrics import MetricValue

IIO_ROOT = Path("/sys/bus/iio/devices")


@dataclass(frozen=True, slots=True)
class EnvReading:
    temp_c: float | None
    humidity_pct: float | None

    def metrics(self) -> dict[str, MetricValue]:
        out: dict[str, MetricValue] = {}
        if self.temp_c is not None:
            out["env.temp_c"] = round(self.temp_c, 1)
        if self.humidity_pct is not None:
            out["env.humidity_pct"] = round(self.humidity_pct, 1)
        return out


class EnvDriver(Protocol):
    def read(self, now: datetime) -> EnvReading: ...


class SimulatedEnvDriver:
    """Warmer and drier in the afternoon, a per-sensor offset; deterministic."""

    def __init__(self, key: str, *, base_temp_c: float = 27.0, base_humidity_pct: float = 75.0
                 ) -> None:
        offset = zlib.crc32(key.encode()) % 1000 / 1000
        self.temp_c = base_temp_c + 2 * offset - 1
        self.humidity_pct = base_humidity_pct + 10 * offset - 5

    def read(self, now: datetime) -> EnvReading:
        hour = now.hour + now.minute / 60
        swing = math.sin((hour - 9) / 24 * 2 * math.pi)  # peaks mid-afternoon
        return EnvReading(self.temp_c + 3 * swing, min(100.0, self.humidity_pct - 8 * swing))


class IioEnvDriver:
    """Reads ``in_temp_input`` (milli-degrees C) and ``in_humidityrelative_input`` (milli-%)."""

    def __init__(self, device: str, *, root: Path = IIO_ROOT) -> None:
        self.path = root / device

    def _value(self, name: str) -> float | None:
        file = self.path / name
        if not file.exists():
            return None
        return int(file.read_text().strip()) / 1000  # OSError/ValueError: the collector fails

    def read(self, now: datetime) -> EnvReading:
        if not self.path.is_dir():
            raise FileNotFoundError(f"no IIO device {self.path}")
        reading = EnvReading(self._value("in_temp_input"),
                             self._value("in_humidityrelative_input"))
        if reading.temp_c is None and reading.humidity_pct is None:
            raise FileNotFoundError(f"{self.path} has neither temperature nor humidity")
        return reading


class EnvCollector:
    """``env.temp_c`` and ``env.humidity_pct`` of one sensor asset."""

    name = "env"

    def __init__(self, asset: str, driver: EnvDriver, *, interval_s: float = 300) -> None:
        self.asset: str | None = asset
        self.driver = driver
        self.interval_s = interval_s

    def collect(self, now: datetime) -> Mapping[str, MetricValue]:
        return self.driver.read(now).metrics()
