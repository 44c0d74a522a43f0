"""Ingest under faults, on real parts: every message stored exactly once.

A hub killed with SIGKILL mid-stream, PostgreSQL restarted mid-stream (a private
server: the machine's shared cluster is never touched), the broker restarted
while the hub holds unacknowledged messages, two workers on a shared subscription,
and a flood of bad input. Each test is bounded in time.

Two things are checked separately, because a row count under the ``(device, seq)``
key cannot show a duplicate: the stored keys are exactly the keys produced (none
lost, none invented), and the fault really happened: the process was killed while
it held work, the broker redelivered (the worker counts DUP deliveries and the
messages the key absorbed), the database or the broker restart was seen.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from hub.db import migrate
from hub.devices.registry import add_device, upsert_school
from hub.ingest.worker import Ingest
from tests.conftest import ROOT, Broker, wait_until

pytestmark = pytest.mark.integration

SCHOOL = "th-fault"
GATES = [f"{SCHOOL}-g{i}" for i in range(8)]
STREAM_TIMEOUT_S = 180.0  # generous: two cores shared with other engineers' tests


def seed(url: str) -> None:
    with psycopg.connect(url) as conn:
        upsert_school(conn, code=SCHOOL, name="Trường Thử Lỗi", level="thcs", ward="Hải Thành",
                      start_time="07:00")
        for gate in GATES:
            add_device(conn, school=SCHOOL, device=gate, role="gate")


def gate_event(device: str, seq: int, **extra: Any) -> bytes:
    body = {"v": 1, "type": "gate", "device": device, "seq": seq,
            "ts": "2026-11-30T06:50:00.000+07:00", "direction": "in", "method": "card",
            "card_uid": None, "person": None, "distance": None, "decision": "granted",
            "reason": None, **extra}
    return json.dumps(body).encode()


def topic(device: str) -> str:
    return f"ss/v1/{SCHOOL}/{device}/event"


def stream(count: int, first_seq: int = 1) -> list[tuple[str, bytes]]:
    """``count`` good gate events spread over the gates, seqs from ``first_seq``."""
    return [(topic(GATES[i % len(GATES)]), gate_event(GATES[i % len(GATES)],
                                                      first_seq + i // len(GATES)))
            for i in range(count)]


def publish_all(port: int, messages: list[tuple[str, bytes]], window: int = 5000) -> None:
    """Publish QoS 1 and return once the broker has acknowledged every message."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:6]}",
                         protocol=MQTTProtocolVersion.MQTTv5)
    client.max_queued_messages_set(0)
    acked = 0
    lock = threading.Lock()

    def on_publish(*_a: Any) -> None:
        nonlocal acked
        with lock:
            acked += 1

    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for i, (t, payload) in enumerate(messages):
            while i - acked > window:
                time.sleep(0.002)
            client.publish(t, payload, qos=1)
        wait_until(lambda: acked >= len(messages), 60, "the broker's PUBACKs")
    finally:
        client.disconnect()
        client.loop_stop()




def scalar(url: str, sql: str) -> int:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            row = conn.execute(sql).fetchone()
    except psycopg.OperationalError:
        return -1  # the private server is down on purpose
    assert row is not None
    return int(row[0])


def stored(url: str) -> int:
    return scalar(url, "select count(*) from gate_events")


def keys(messages: list[tuple[str, bytes]]) -> list[tuple[str, int]]:
    """The (device, seq) of every distinct event produced."""
    return sorted({(body["device"], body["seq"])
                   for body in (json.loads(payload) for _, payload in messages)})


def assert_exactly_once(url: str, produced: list[tuple[str, int]]) -> None:
    """Every event produced is stored, once, and nothing else is."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("select device_id, seq from gate_events "
                            "order by device_id, seq").fetchall()
        dead = conn.execute("select count(*) from dead_letters").fetchone()
    assert len(rows) == len(produced)
    assert rows == produced
    assert dead == (0,)


def start_ingest(url: str, broker: Broker, client_id: str, *, shared: bool = False,
                 on_commit: Callable[[Any], None] | None = None) -> Ingest:
    worker = Ingest(database_url=url, mqtt_url=broker.url, client_id=client_id,
                    tz="Asia/Ho_Chi_Minh", shared=shared, on_commit=on_commit)
    worker.start()
    wait_until(lambda: worker.stats.subscribed, 20, f"{client_id} subscribed")
    return worker


@pytest.fixture
def ingest_factory() -> Iterator[Callable[..., Ingest]]:
    started: list[Ingest] = []

    def make(*args: Any, **kwargs: Any) -> Ingest:
        worker = start_ingest(*args, **kwargs)
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.stop()


# -- kill -9 ------------------------------------------------------------------------------

def spawn_hub(url: str, broker: Broker, client_id: str, data_dir: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "SMARTSCHOOL_DATABASE_URL": url, "SMARTSCHOOL_MQTT_URL": broker.url,
        "SMARTSCHOOL_HUB_CLIENT_ID": client_id, "SMARTSCHOOL_DATA_DIR": str(data_dir),
        "SMARTSCHOOL_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "smartschool", "hub", "--no-api"],
                            cwd=ROOT, env=env)


def test_kill_9_mid_stream_stores_every_message_once(
    pg_url: str, broker: Broker, tmp_path: Path, ingest_factory: Callable[..., Ingest]
) -> None:
    seed(pg_url)
    client_id = f"hub-kill-{uuid.uuid4().hex[:6]}"
    hub = spawn_hub(pg_url, broker, client_id, tmp_path)
    try:
        # The persistent session exists once the hub has subscribed; until then the
        # broker has nowhere to keep messages, so prove it with a first message.
        probe = [(topic(GATES[0]), gate_event(GATES[0], 0))]
        wait_until(lambda: publish_all(broker.port, probe) or stored(pg_url) == 1, 60,
                   "the hub's first commit")
        total = 50_000
        messages = stream(total)
        publisher = threading.Thread(target=publish_all, args=(broker.port, messages))
        publisher.start()
        wait_until(lambda: stored(pg_url) >= 5_000, STREAM_TIMEOUT_S, "a part of the stream")
        assert hub.poll() is None, "the hub must be alive when it is killed"
        hub.send_signal(signal.SIGKILL)
        assert hub.wait(10) == -signal.SIGKILL
        at_kill = stored(pg_url)
        assert at_kill < total + 1, "the kill must land mid-stream"
        # The same session again, in this process, so its counters can be read.
        worker = ingest_factory(pg_url, broker, client_id)
        publisher.join(STREAM_TIMEOUT_S)
        wait_until(lambda: stored(pg_url) >= total + 1, STREAM_TIMEOUT_S, "the whole stream")
        assert_exactly_once(pg_url, keys([*probe, *messages]))
        # The killed hub held messages it had not acknowledged: the broker resent them.
        assert worker.stats.redelivered > 0, "nothing was in flight at the kill"
        assert worker.stats.received >= total + 1 - at_kill
    finally:
        if hub.poll() is None:
            hub.terminate()
            hub.wait(15)


# -- PostgreSQL restart -------------------------------------------------------------------

class PrivatePostgres:
    """A PostgreSQL of this test's own (the pgserver wheel), safe to stop and start."""

    def __init__(self) -> None:
        import pgserver

        self.dir = tempfile.mkdtemp(prefix="ss-fault-pg-")
        self.server = pgserver.get_server(self.dir, cleanup_mode="delete")
        self.url = self.server.get_uri()

    def stop(self) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata,
               user=self.server.system_user)

    def start(self) -> None:
        self.server.ensure_postgres_running()


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    try:
        yield pg
    finally:
        pg.server.cleanup()


def test_postgres_restart_mid_stream_recovers_by_itself(
    private_pg: PrivatePostgres, broker: Broker, ingest_factory: Callable[..., Ingest]
) -> None:
    url = private_pg.url
    migrate(url)
    seed(url)
    worker = ingest_factory(url, broker, f"hub-pg-{uuid.uuid4().hex[:6]}")
    total = 20_000
    messages = stream(total)
    publisher = threading.Thread(target=publish_all, args=(broker.port, messages))
    publisher.start()
    wait_until(lambda: stored(url) >= 2_000, STREAM_TIMEOUT_S, "a part of the stream")
    private_pg.stop()
    # the outage starts mid-stream and the hub runs into it
    wait_until(lambda: worker.stats.db_errors >= 1, 30, "the hub to meet the outage")
    time.sleep(3.0)  # an outage the hub must sit through, not a blip
    at_restart = worker.stats.stored
    private_pg.start()
    publisher.join(STREAM_TIMEOUT_S)
    wait_until(lambda: stored(url) >= total, STREAM_TIMEOUT_S, "the whole stream")
    assert at_restart < total, "the outage must land mid-stream"
    assert_exactly_once(url, keys(messages))
    assert worker.stats.connections == 1  # the broker side never broke


# -- broker restart -----------------------------------------------------------------------

def test_broker_restart_while_the_hub_holds_messages(
    pg_url: str, broker: Broker, ingest_factory: Callable[..., Ingest]
) -> None:
    """The broker goes down while the hub holds delivered, unacknowledged messages; they
    come back from the broker's persistence file, already stored: the key absorbs them."""
    seed(pg_url)
    release = threading.Event()
    holding = threading.Event()

    def hold_after_first_commit(_batch: Any) -> None:
        # runs on the writer thread after a commit and its acks: while it waits,
        # deliveries pile up in the hub unwritten and unacknowledged
        if not holding.is_set():
            holding.set()
            release.wait(60)

    worker = ingest_factory(pg_url, broker, f"hub-br-{uuid.uuid4().hex[:6]}",
                            on_commit=hold_after_first_commit)
    first = stream(5_000)
    publish_all(broker.port, first)
    wait_until(holding.is_set, 30, "the first commit")
    wait_until(lambda: worker.backlog > 0, 30, "deliveries held by the hub")
    broker.stop()
    wait_until(lambda: not worker.stats.connected, 10, "the hub to notice")
    release.set()  # the held messages are written; their acks have no connection to go on
    broker.start()  # same port; the hub's session comes back from the persistence file
    # Published before the hub is back: the restored session has to hold it.
    second = stream(5_000, first_seq=10_000)
    publish_all(broker.port, second)
    wait_until(lambda: worker.stats.connections >= 2, 60, "the hub to reconnect")
    wait_until(lambda: stored(pg_url) >= 10_000, STREAM_TIMEOUT_S, "the second burst")
    # every delivery written: the stored ones, and the redelivered copies the key absorbed
    wait_until(lambda: worker.stats.received - worker.stats.duplicates_dropped >= 10_000, 30,
               "the hub's counters")
    assert_exactly_once(pg_url, keys([*first, *second]))
    assert worker.stats.redelivered > 0, "the restored session resent nothing"
    assert worker.stats.duplicates_dropped > 0, "no stored message came back"
    assert worker.stats.duplicates_dropped <= worker.stats.redelivered


# -- shared subscription ------------------------------------------------------------------

def test_two_workers_split_the_load_and_store_once(
    pg_url: str, broker: Broker, ingest_factory: Callable[..., Ingest]
) -> None:
    seed(pg_url)
    base = f"hub-sh-{uuid.uuid4().hex[:6]}"
    workers = [ingest_factory(pg_url, broker, f"{base}-w{i}", shared=True) for i in range(2)]
    total = 20_000
    messages = stream(total)
    publish_all(broker.port, messages)
    wait_until(lambda: stored(pg_url) >= total, STREAM_TIMEOUT_S, "the stream")
    wait_until(lambda: sum(w.stats.received for w in workers) >= total, 30, "the acks")
    assert_exactly_once(pg_url, keys(messages))
    received = [w.stats.received for w in workers]
    assert sum(received) == total  # each message went to exactly one worker
    assert [w.stats.redelivered + w.stats.duplicates_dropped for w in workers] == [0, 0]
    assert min(received) > total // 5, f"the load did not split: {received}"


# -- bad input flood ----------------------------------------------------------------------

def test_flood_of_bad_input_costs_only_itself(
    pg_url: str, broker: Broker, ingest_factory: Callable[..., Ingest]
) -> None:
    seed(pg_url)
    ingest_factory(pg_url, broker, f"hub-bad-{uuid.uuid4().hex[:6]}")
    good = stream(4_000)
    bad_kinds: dict[str, Callable[[int], tuple[str, bytes]]] = {
        "not-json": lambda i: (topic(GATES[0]), b'{"v": 1, "type": "gate", oops'),
        "too-large": lambda i: (topic(GATES[1]), gate_event(GATES[1], 900_000 + i,
                                                            reason="x" * (65 * 1024))),
        "device-mismatch": lambda i: (topic(GATES[2]), gate_event(GATES[3], 900_000 + i)),
        "unknown-version": lambda i: (topic(GATES[4]), gate_event(GATES[4], 900_000 + i, v=2)),
        "unregistered-device": lambda i: (topic("th-fault-ghost"),
                                          gate_event("th-fault-ghost", i)),
        "invalid": lambda i: (topic(GATES[5]), gate_event(GATES[5], 900_000 + i,
                                                          direction="sideways")),
    }
    per_kind = 100
    messages: list[tuple[str, bytes]] = []
    bad = [make(i) for make in bad_kinds.values() for i in range(per_kind)]
    # one bad message after every few good ones, so nearly every batch carries poison
    step = len(good) // len(bad)
    for i, item in enumerate(good):
        messages.append(item)
        if i % step == 0 and bad:
            messages.append(bad.pop())
    messages.extend(bad)
    publish_all(broker.port, messages)
    expected_dead = per_kind * len(bad_kinds)
    wait_until(lambda: stored(pg_url) >= len(good)
               and scalar(pg_url, "select count(*) from dead_letters") >= expected_dead,
               STREAM_TIMEOUT_S, "every message handled")
    with psycopg.connect(pg_url) as conn:
        reasons = dict(conn.execute(
            "select reason, count(*) from dead_letters group by reason").fetchall())
        gate_rows = conn.execute("select device_id, seq from gate_events "
                                 "order by device_id, seq").fetchall()
        capped = conn.execute("select max(length(payload)), max(payload_size) "
                              "from dead_letters where reason = 'too-large'").fetchone()
    assert gate_rows == keys(good)
    assert reasons == dict.fromkeys(bad_kinds, per_kind)
    assert capped is not None
    assert capped[0] <= 4096 < capped[1]
