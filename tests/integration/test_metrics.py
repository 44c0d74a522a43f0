"""Observability on real parts (issue #16): /metrics and /api/health of a real hub while
real messages go through Mosquitto into PostgreSQL; the series move as ingest works."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry
from psycopg_pool import ConnectionPool

from core.settings import Settings
from hub import metrics as hub_metrics
from hub.service import Hub
from tests.conftest import Broker, free_port, wait_until
from tests.integration.test_edge_link import run_agent_process, write_yaml
from tests.integration.test_ingest import GATE, SCHOOL, gate_event, publish, seed

pytestmark = pytest.mark.integration

TOKEN = "metrics-" + "t" * 32

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(base: str, **headers: str) -> Samples:
    answer = httpx.get(f"{base}/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.text)
            for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def start_hub(pg_url: str, broker: Broker, tmp_path: Any, **settings: Any) -> Hub:
    service = Hub(Settings(_env_file=None, api_port=free_port(), data_dir=tmp_path,
                           hub_client_id=f"hub-{uuid.uuid4().hex[:6]}", **settings),
                  database_url=pg_url, mqtt_url=broker.url)
    service.start()
    wait_until(lambda: service.ingest and service.ingest.stats.subscribed,
               what="hub subscribed")
    return service


@pytest.fixture
def hub(pg_url: str, broker: Broker, tmp_path: Any,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    # Every scrape reads the database here, so a test sees a change at once; the cache
    # itself has its own test below.
    monkeypatch.setattr(hub_metrics, "DB_CACHE_S", 0.0)
    seed(pg_url)
    service = start_hub(pg_url, broker, tmp_path)
    yield service
    service.stop()


@pytest.fixture
def publisher(broker: Broker) -> Iterator[mqtt.Client]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2,
                         client_id=f"pub-{uuid.uuid4().hex[:6]}")
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def base(service: Hub) -> str:
    assert service.api is not None
    return f"http://127.0.0.1:{service.api.port}"


def test_metrics_move_with_real_ingest(hub: Hub, publisher: mqtt.Client,
                                       pg_url: str) -> None:
    url = base(hub)
    before = scrape(url)
    assert value(before, "smartschool_database_up") == 1
    assert value(before, "smartschool_broker_connected") == 1
    assert value(before, "smartschool_broker_subscribed") == 1
    assert value(before, "smartschool_ingest_received_total") == 0
    assert value(before, "smartschool_ingest_batch_seconds_count") == 0
    # every reason present from the start, so an alert needs no `or vector(0)`
    assert value(before, "smartschool_ingest_dead_letters_total", reason="not-json") == 0
    assert ("smartschool_ingest_dead_letters_total",
            (("reason", "storage-rejected"),)) in before
    assert value(before, "smartschool_devices", role="gate", state="unknown") == 1
    assert value(before, "smartschool_devices", role="gate", state="online") == 0
    assert value(before, "smartschool_alarms_open", severity="major") == 0
    assert ("smartschool_ingest_last_commit_timestamp_seconds", ()) not in before

    topic = f"ss/v1/{SCHOOL}/{GATE}/event"
    for seq in range(1, 6):
        publish(publisher, topic, gate_event(seq))
    publish(publisher, topic, gate_event(5))  # a replay: stored once, counted as duplicate
    publish(publisher, topic, b"{not json")
    publish(publisher, topic, gate_event(7, direction="sideways"))
    now = datetime.now(UTC).isoformat()
    status = {"v": 1, "type": "status", "device": GATE, "seq": 100, "ts": now,
              "state": "online", "fw": "0.1.0", "role": "gate", "ip": "10.0.0.7",
              "boot": now}
    publish(publisher, f"ss/v1/{SCHOOL}/{GATE}/status", json.dumps(status).encode())

    def counted() -> Samples | None:
        s = scrape(url)
        return s if value(s, "smartschool_ingest_received_total") >= 9 else None

    after = wait_until(counted, what="every message counted in /metrics")
    assert value(after, "smartschool_ingest_received_total") == 9
    assert value(after, "smartschool_ingest_stored_total") == 7  # 5 + replay + status
    assert value(after, "smartschool_ingest_duplicates_dropped_total") == 1
    assert value(after, "smartschool_ingest_dead_letters_total", reason="not-json") == 1
    assert value(after, "smartschool_ingest_dead_letters_total", reason="invalid") == 1
    assert value(after, "smartschool_ingest_dead_letters_total", reason="too-large") == 0
    batches = value(after, "smartschool_ingest_batches_total")
    assert batches >= 1
    # every committed batch is observed once in each histogram, +Inf holding them all
    assert value(after, "smartschool_ingest_batch_seconds_count") == batches
    assert value(after, "smartschool_ingest_batch_seconds_bucket", le="+Inf") == batches
    assert value(after, "smartschool_ingest_commit_delay_seconds_count") == batches
    assert value(after, "smartschool_ingest_batch_seconds_sum") > 0
    assert value(after, "smartschool_devices", role="gate", state="online") == 1
    assert value(after, "smartschool_devices", role="gate", state="unknown") == 0
    committed = value(after, "smartschool_ingest_last_commit_timestamp_seconds")
    assert abs(committed - datetime.now(UTC).timestamp()) < 60
    with psycopg.connect(pg_url) as conn:
        stored = conn.execute("select count(*) from gate_events").fetchone()
    assert stored == (5,)


def test_open_alarms_and_unsent_notifications_are_counted(hub: Hub, pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute(
            "insert into alarms (subject, device_id, school_id, type, severity, state,"
            " message, raised_at, last_raised_at) values"
            " (%(d)s, %(d)s, %(s)s, 'offline', 'major', 'active_unack', 'x', now(), now()),"
            " (%(d)s, %(d)s, %(s)s, 'temp', 'critical', 'active_ack', 'x', now(), now()),"
            " (%(d)s, %(d)s, %(s)s, 'old', 'critical', 'cleared', 'x', now(), now())",
            {"d": GATE, "s": SCHOOL})
        conn.execute(
            "insert into notification_outbox (idempotency_key, student_id, channel, kind,"
            " day, payload, status) select k, id, 'webhook', 'entry', current_date, '{}',"
            " st from students, (values ('a', 'pending'), ('b', 'pending'),"
            " ('c', 'failed'), ('d', 'sent')) v(k, st)")
    samples = scrape(base(hub))
    assert value(samples, "smartschool_alarms_open", severity="major") == 1
    assert value(samples, "smartschool_alarms_open", severity="critical") == 1
    assert value(samples, "smartschool_alarms_open", severity="minor") == 0
    assert value(samples, "smartschool_notifications_outbox", state="pending") == 2
    assert value(samples, "smartschool_notifications_outbox", state="failed") == 1


def test_health_reports_ingest_liveness(hub: Hub, publisher: mqtt.Client) -> None:
    url = base(hub)
    first = httpx.get(f"{url}/api/health").json()
    assert first["status"] == "ok"
    assert first["ingest"] == {"broker": "connected", "subscribed": True,
                               "last_commit_age_s": None, "backlog": 0}
    assert first["mqtt"] is None and first["database"] is None  # no hosts without a token
    publish(publisher, f"ss/v1/{SCHOOL}/{GATE}/event", gate_event(1))
    def ingest_health(ready: Any) -> Any:
        h = httpx.get(f"{url}/api/health").json()
        return h if ready(h["ingest"]) else None

    live = wait_until(lambda: ingest_health(lambda i: i["last_commit_age_s"] is not None),
                      what="a commit in /api/health")
    assert 0 <= live["ingest"]["last_commit_age_s"] < 30
    assert hub.ingest is not None
    hub.ingest.client.disconnect()  # the broker connection goes; health says so
    gone = wait_until(lambda: ingest_health(lambda i: i["broker"] == "disconnected"),
                      what="the lost broker in /api/health")
    assert gone["ingest"]["subscribed"] is False
    metrics = scrape(url)
    assert value(metrics, "smartschool_broker_connected") == 0


def test_metrics_token_when_set(pg_url: str, broker: Broker, tmp_path: Any) -> None:
    seed(pg_url)
    service = start_hub(pg_url, broker, tmp_path, metrics_token=TOKEN)
    try:
        url = base(service)
        refused = httpx.get(f"{url}/metrics")
        assert refused.status_code == 401
        assert "smartschool_" not in refused.text
        assert httpx.get(f"{url}/metrics",
                         headers={"Authorization": "Bearer wrong"}).status_code == 401
        samples = scrape(url, Authorization=f"Bearer {TOKEN}")
        assert value(samples, "smartschool_database_up") == 1
    finally:
        service.stop()


def test_database_figures_are_cached_and_an_outage_is_database_up_0(pg_url: str) -> None:
    seed(pg_url)
    with ConnectionPool(pg_url, min_size=1, max_size=2, open=True) as pool:
        cache = hub_metrics.DbCache(pool, ttl=60.0)
        first = cache.get()
        assert first is not None
        assert ("gate", "unknown", 1) in first.devices
        for _ in range(5):
            assert cache.get() == first
        assert cache.reads == 1  # six scrapes within the window: one query round
        cache.ttl = 0.0
        cache.get()
        assert cache.reads == 2
    # a database nobody answers: no figures (not zeros), and the gauge says so
    with ConnectionPool(f"postgresql://postgres@127.0.0.1:{free_port()}/x", min_size=0,
                        max_size=1, open=True, reconnect_timeout=1.0) as pool:
        down = hub_metrics.DbCache(pool, ttl=0.0)
        assert down.get() is None
        registry = CollectorRegistry(auto_describe=False)
        registry.register(hub_metrics.HubCollector(down, None))
        text = generate_latest(registry).decode()
        assert "smartschool_database_up 0.0" in text
        assert "smartschool_devices" not in text


def test_edge_agent_writes_its_textfile(broker: Broker, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A real agent process with SMARTSCHOOL_EDGE_METRICS_FILE: the file shows the link up
    and a recent PUBACK, then the broker's loss at once (not at the next 15 s round)."""
    prom = tmp_path / "textfile" / "gate.prom"
    monkeypatch.setenv("SMARTSCHOOL_EDGE_METRICS_FILE", str(prom))
    proc = run_agent_process(write_yaml(broker, tmp_path))

    def edge_samples(ready: Any) -> Samples | None:
        if not prom.exists():
            return None
        s = {(x.name, tuple(sorted(x.labels.items()))): x.value
             for fam in text_string_to_metric_families(prom.read_text()) for x in fam.samples}
        return s if ready(s) else None

    labels = {"device": GATE, "role": "gate"}
    try:
        up = wait_until(lambda: edge_samples(
            lambda s: value(s, "smartschool_edge_broker_connected", **labels) == 1
            and ("smartschool_edge_last_puback_age_seconds",
                 tuple(sorted(labels.items()))) in s),
            timeout=40, what="the agent's textfile with a PUBACK")
        assert 0 <= value(up, "smartschool_edge_last_puback_age_seconds", **labels) < 30
        assert value(up, "smartschool_edge_broker_connects_total", **labels) >= 1
        assert value(up, "smartschool_edge_outbox_unsent", **labels) >= 0
        broker.stop()
        down = wait_until(lambda: edge_samples(
            lambda s: value(s, "smartschool_edge_broker_connected", **labels) == 0),
            timeout=30, what="the broker's loss in the textfile")
        assert ("smartschool_edge_outbox_rows", tuple(sorted(labels.items()))) in down
    finally:
        proc.terminate()
        proc.wait(15)
