"""What the hub exports to Prometheus at /metrics (issue #16).

Counts only: no host names, no persons, no device ids (labels are fixed vocabularies:
reasons, roles, states, severities). Ingest figures come from the in-process writer's
``IngestStats``; what the database holds (devices by state, open alarms, the parents'
notification outbox) is read at scrape time, at most once per ``DB_CACHE_S``, so any
number of Prometheus servers scraping costs the database a few small queries a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import psycopg
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from psycopg_pool import ConnectionPool, PoolTimeout

from core.version import __version__
from hub.db import Conn
from hub.ingest.latency import HistogramSnapshot
from hub.ingest.store import STORAGE_REJECTED
from hub.ingest.worker import IngestStats
from protocol import Reason

log = logging.getLogger(__name__)

DB_CACHE_S = 10.0  # a scrape every 15 s (Prometheus' usual) reads the database each time
DB_TIMEOUT_S = 2.0  # a scrape must answer even when the database hangs

# name -> (IngestStats attribute, help): every counter the writer keeps.
INGEST_COUNTERS: dict[str, tuple[str, str]] = {
    "smartschool_ingest_received": ("received", "Messages taken off the broker and written"),
    "smartschool_ingest_stored": ("stored", "Messages stored (duplicates included)"),
    "smartschool_ingest_batches": ("batches", "Transactions committed by the writer"),
    "smartschool_ingest_redelivered": ("redelivered",
                                       "Deliveries the broker marked as resent (DUP)"),
    "smartschool_ingest_duplicates_dropped": (
        "duplicates_dropped", "Stored messages whose rows were already there"),
    "smartschool_ingest_db_errors": ("db_errors", "Batch writes that failed and were retried"),
    "smartschool_ingest_broker_connections": ("connections",
                                              "Connections the broker accepted (CONNACK)"),
    "smartschool_ingest_acks_published": ("acks_published",
                                          "Delivery acknowledgements published to devices"),
}


class IngestView(Protocol):
    """What /metrics needs of an in-process ingest worker (hub.ingest.worker.Ingest)."""

    @property
    def stats(self) -> IngestStats: ...

    @property
    def backlog(self) -> int: ...


@dataclass(frozen=True, slots=True)
class DbFigures:
    devices: list[tuple[str, str, int]]  # role, state, count
    alarms_open: list[tuple[str, int]]  # severity, count
    notifications: list[tuple[str, int]]  # status, count


def read_db_figures(conn: Conn) -> DbFigures:
    devices = conn.execute(
        "select role, state, count(*) from devices group by role, state").fetchall()
    alarms = conn.execute(
        "select severity, count(*) from alarms where state in ('active_unack', 'active_ack')"
        " group by severity").fetchall()
    # Sent rows are history, not depth; the retention sweep keeps them from piling up.
    notifications = conn.execute(
        "select status, count(*) from notification_outbox where status <> 'sent'"
        " group by status").fetchall()
    return DbFigures([(str(r), str(s), int(n)) for r, s, n in devices],
                     [(str(s), int(n)) for s, n in alarms],
                     [(str(s), int(n)) for s, n in notifications])


class DbCache:
    """The last figures read, re-read when older than ``ttl``; None while unreachable."""

    def __init__(self, pool: ConnectionPool[Conn], ttl: float = DB_CACHE_S) -> None:
        self.pool = pool
        self.ttl = ttl
        self._lock = threading.Lock()
        self._at = -float("inf")
        self._figures: DbFigures | None = None
        self.reads = 0  # how many times the database was asked: the cache's own test

    def get(self) -> DbFigures | None:
        with self._lock:  # concurrent scrapes wait for one read rather than each doing it
            if time.monotonic() - self._at >= self.ttl:
                self._figures = self._read()
                self._at = time.monotonic()
            return self._figures

    def _read(self) -> DbFigures | None:
        self.reads += 1
        try:
            with self.pool.connection(timeout=DB_TIMEOUT_S) as conn:
                return read_db_figures(conn)
        except (psycopg.Error, PoolTimeout) as exc:
            log.warning("metrics: database unreachable: %s", type(exc).__name__)
            return None


# The vocabularies the schema allows: every series is present (at 0) from the first
# scrape, so a rate() or an alert on it needs no `or vector(0)`.
ROLES = ("gate", "classroom")
DEVICE_STATES = ("unknown", "online", "offline")
SEVERITIES = ("critical", "major", "minor", "warning")
NOTIFICATION_STATES = ("pending", "failed")
DEAD_LETTER_REASONS = (*(r.value for r in Reason), STORAGE_REJECTED)


class HubCollector(Collector):
    def __init__(self, db: DbCache, ingest: IngestView | None) -> None:
        self.db = db
        self.ingest = ingest

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("smartschool_hub_info", "The hub's release",
                                 labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        yield from self._database()
        if self.ingest is not None:
            yield from self._ingest(self.ingest)

    def _database(self) -> Iterator[Metric]:
        figures = self.db.get()
        yield GaugeMetricFamily("smartschool_database_up",
                                "1 when the last read of the database succeeded",
                                value=1 if figures is not None else 0)
        if figures is None:
            return  # unknown is not zero: no series rather than false counts
        devices = GaugeMetricFamily("smartschool_devices", "Registered devices by role and "
                                    "state", labels=["role", "state"])
        counts = {(r, s): n for r, s, n in figures.devices}
        for role in ROLES:
            for state in DEVICE_STATES:
                devices.add_metric([role, state], counts.get((role, state), 0))
        yield devices
        alarms = GaugeMetricFamily("smartschool_alarms_open", "Active alarms (acknowledged "
                                   "or not) by severity", labels=["severity"])
        open_by = dict(figures.alarms_open)
        for severity in SEVERITIES:
            alarms.add_metric([severity], open_by.get(severity, 0))
        yield alarms
        outbox = GaugeMetricFamily("smartschool_notifications_outbox", "Parents' "
                                   "notifications not sent, by state", labels=["state"])
        depth = dict(figures.notifications)
        for state in NOTIFICATION_STATES:
            outbox.add_metric([state], depth.get(state, 0))
        yield outbox

    def _ingest(self, ingest: IngestView) -> Iterator[Metric]:
        stats = ingest.stats
        for name, (attribute, text) in INGEST_COUNTERS.items():
            yield CounterMetricFamily(name, text, value=getattr(stats, attribute))
        dead = CounterMetricFamily("smartschool_ingest_dead_letters", "Messages dead-lettered"
                                   " by reason", labels=["reason"])
        # Every reason there is, at 0 until it happens (as the gauges above), plus any
        # the writer met that this list lacks.
        counted = dict.fromkeys(DEAD_LETTER_REASONS, 0) | stats.dead_letters_by_reason()
        for reason, n in sorted(counted.items()):
            dead.add_metric([reason], n)
        yield dead
        yield _histogram("smartschool_ingest_batch_seconds",
                         "Time from a batch's first write attempt to its commit",
                         stats.batch_seconds.snapshot())
        yield _histogram("smartschool_ingest_commit_delay_seconds",
                         "Time from receiving a batch's oldest message to its commit",
                         stats.commit_delay_seconds.snapshot())
        yield GaugeMetricFamily("smartschool_ingest_backlog", "Messages received and not "
                                "yet taken by the writer", value=ingest.backlog)
        last = stats.last_commit
        if last is not None:
            yield GaugeMetricFamily("smartschool_ingest_last_commit_timestamp_seconds",
                                    "Unix time of the writer's last commit",
                                    value=last.timestamp())
        yield GaugeMetricFamily("smartschool_broker_connected", "1 while the ingest's "
                                "connection to the broker is up", value=int(stats.connected))
        yield GaugeMetricFamily("smartschool_broker_subscribed", "1 once the broker "
                                "confirmed the ingest's subscriptions on this connection",
                                value=int(stats.subscribed))


def _histogram(name: str, text: str, snap: HistogramSnapshot) -> HistogramMetricFamily:
    buckets = [(_bound(b), float(n)) for b, n in zip(snap.bounds, snap.cumulative, strict=False)]
    buckets.append(("+Inf", float(snap.count)))
    return HistogramMetricFamily(name, text, buckets=buckets, sum_value=snap.total)


def _bound(value: float) -> str:
    return repr(float(value))


def build_registry(pool: ConnectionPool[Conn], ingest: IngestView | None) -> CollectorRegistry:
    """A registry of its own per app (not the process-wide default), so two hubs in one
    process, as in the tests, never export each other's figures."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector(DbCache(pool, ttl=DB_CACHE_S), ingest))
    return registry
