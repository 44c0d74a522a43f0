"""A latency histogram the writer thread fills and /metrics reads (issue #16).

Plain counts per upper bound, as Prometheus histograms are: the exporter turns a snapshot
into cumulative buckets. Kept free of prometheus_client so a worker without the API pays
nothing for it and tests can read it directly.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field

# Seconds: a batch commits in a few ms on a quiet hub and in hundreds under a morning wave;
# beyond 10 s the database is in trouble and the exact figure matters less.
LATENCY_BUCKETS_S: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                        0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class HistogramSnapshot:
    bounds: tuple[float, ...]
    cumulative: tuple[int, ...]  # observations <= each bound, then +Inf (= count)
    total: float  # sum of the observations

    @property
    def count(self) -> int:
        return self.cumulative[-1]


@dataclass
class Histogram:
    bounds: tuple[float, ...] = LATENCY_BUCKETS_S
    _counts: list[int] = field(default_factory=list, repr=False)
    _sum: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if list(self.bounds) != sorted(set(self.bounds)):
            raise ValueError("histogram bounds must be increasing")
        self._counts = [0] * (len(self.bounds) + 1)  # the last slot is +Inf

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound belongs to that bound's bucket (le).
        slot = bisect.bisect_left(self.bounds, value)
        with self._lock:
            self._counts[slot] += 1
            self._sum += value

    def snapshot(self) -> HistogramSnapshot:
        with self._lock:
            counts, total = list(self._counts), self._sum
        running, cumulative = 0, []
        for c in counts:
            running += c
            cumulative.append(running)
        return HistogramSnapshot(self.bounds, tuple(cumulative), total)
