"""Hub ingest benchmark: the hub against its ceiling and a naive baseline, in one run.

    .venv/bin/python bench/ingest.py [--messages 200000] [--rounds 2] [--latency-seconds 20]

One private Mosquitto (deploy/mosquitto/hub.conf settings), one scratch database
on SMARTSCHOOL_TEST_PG's server, one publisher process that sends the same
deterministic message set (gate events and telemetry of registered devices, QoS 1)
to each consumer in turn:

1. stock ceiling: a bare stock-paho subscriber that only receives and parses the JSON;
2. like-for-like ceiling (A) and hub (B), interleaved A B A B ... (``--rounds``), so
   that drift over the run (caches, the database's checkpoints, a neighbour's load)
   falls on both alike. A is the same bare subscriber on the hub's own MQTT client
   (hub/ingest/client.py: buffered reads); B is one ``hub.ingest.worker.Ingest``
   worker, publish -> committed rows. ``ratio`` = median B / median A: what the
   hub's pipeline (decode, route, COPY, commit, ack) costs on top of receiving;
3. naive: one INSERT per message, autocommit (the table's keys, and nothing more).

``ratio_stock_paho`` (hub / stock ceiling) is reported too: it mixes the hub's
faster client into the comparison, so it is not the headline.

Each rate is messages / (last message consumed or committed - first publish).
Then the hub again at a paced 1,000 msg/s for publish -> commit latency (the
publish time travels in the payload's ``ts``). Lost = messages published and not
stored (the database's distinct keys); redelivered and duplicated are what the hub
counted: deliveries the broker marked DUP, and messages its key absorbed (a row
count under a unique key could not show them). Prints a table, then one final
line of JSON.

Targets: ratio (like for like) >= 0.9, lost 0, p99 <= 250 ms.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
import psycopg  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402
from paho.mqtt.properties import Properties  # noqa: E402

from bench.common import start_broker  # noqa: E402
from hub.db import migrate  # noqa: E402
from hub.devices.registry import add_device, upsert_school  # noqa: E402
from hub.ingest import worker as hub_ingest  # noqa: E402
from hub.ingest.client import ConsumerClient  # noqa: E402
from hub.ingest.routing import Incoming  # noqa: E402

ADMIN_PG = os.environ.get("SMARTSCHOOL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
VN = timezone(timedelta(hours=7))
SCHOOLS = 5
GATES_PER_SCHOOL = 4
CLASSROOMS_PER_SCHOOL = 20
GATE_SHARE = 0.6  # of the messages; the rest is telemetry with three metrics each
PUBLISH_WINDOW = 20_000  # unacknowledged publishes the publisher keeps in flight
LATENCY_RATE = 1000.0  # msg/s offered in the latency phase
TARGETS = {"ratio": 0.9, "lost": 0, "p99_ms": 250.0}


# -- the message set ---------------------------------------------------------------------

def devices() -> list[tuple[str, str, str]]:
    """(school, device, role) of every simulated device."""
    out = []
    for s in range(SCHOOLS):
        school = f"bench-s{s}"
        out += [(school, f"{school}-g{g}", "gate") for g in range(GATES_PER_SCHOOL)]
        out += [(school, f"{school}-c{c}", "classroom") for c in range(CLASSROOMS_PER_SCHOOL)]
    return out


def plan(count: int, seq_base: int) -> list[tuple[str, str, str, int]]:
    """Deterministic (topic, device, type, seq) list; a gate / telemetry mix."""
    devs = devices()
    gates = [d for d in devs if d[2] == "gate"]
    rooms = [d for d in devs if d[2] == "classroom"]
    seqs: dict[str, int] = {}
    out = []
    for i in range(count):
        # every 5th message in 3 of 5 slots is a gate event: a fixed, reproducible mix
        if (i % 5) < GATE_SHARE * 5:
            school, device, _ = gates[i % len(gates)]
            kind, channel = "gate", "event"
        else:
            school, device, _ = rooms[i % len(rooms)]
            kind, channel = "telemetry", "telemetry"
        seq = seqs.get(device, seq_base) + 1
        seqs[device] = seq
        out.append((f"ss/v1/{school}/{device}/{channel}", device, kind, seq))
    return out


def body(device: str, kind: str, seq: int, ts: str) -> bytes:
    if kind == "gate":
        doc: dict[str, Any] = {
            "v": 1, "type": "gate", "device": device, "seq": seq, "ts": ts,
            "direction": "in" if seq % 2 else "out", "method": "card",
            "card_uid": f"{seq % 4096:08X}", "person": None, "distance": None,
            "decision": "granted", "reason": None, "clock_synced": True}
    else:
        doc = {"v": 1, "type": "telemetry", "device": device, "seq": seq, "ts": ts,
               "asset": f"{device}-proj", "clock_synced": True,
               "metrics": {"projector.power": seq % 2 == 0, "env.temp_c": 20 + seq % 15,
                           "projector.lamp_hours": 1000 + seq}}
    return json.dumps(doc, separators=(",", ":")).encode()


def publisher_main(url_port: int, conn: Any) -> None:
    """The one publisher process: each command publishes a message set and reports timing."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{os.getpid()}",
                         protocol=MQTTProtocolVersion.MQTTv5)
    client.max_queued_messages_set(0)
    acked = 0
    lock = threading.Lock()

    def on_publish(*_a: Any) -> None:
        nonlocal acked
        with lock:
            acked += 1

    client.on_publish = on_publish
    client.connect("127.0.0.1", url_port)
    client.loop_start()
    fixed_ts = datetime(2026, 11, 30, 6, 50, tzinfo=VN).isoformat(timespec="milliseconds")
    while True:
        cmd = conn.recv()
        if cmd is None:
            break
        count, seq_base, rate = cmd
        items = plan(count, seq_base)
        # Bodies are built before the clock starts except in the paced run, whose ts is
        # the publish moment (that is how its latency is measured).
        prebuilt = [body(d, k, s, fixed_ts) for _, d, k, s in items] if not rate else []
        with lock:
            acked = 0
        started = time.time()
        for i, (topic, device, kind, seq) in enumerate(items):
            if rate:
                due = started + i / rate
                pause = due - time.time()
                if pause > 0:
                    time.sleep(pause)
                payload = body(device, kind, seq,
                                datetime.now(VN).isoformat(timespec="microseconds"))
            else:
                payload = prebuilt[i]
                while i - acked > PUBLISH_WINDOW:
                    time.sleep(0.001)
            client.publish(topic, payload, qos=1)
        sent = time.time()
        while acked < count:
            time.sleep(0.002)
        conn.send((started, sent, time.time()))
    client.disconnect()
    client.loop_stop()


# -- the environment ---------------------------------------------------------------------



def create_database() -> tuple[str, str]:
    name = f"ss_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_PG, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = f"{ADMIN_PG.rpartition('/')[0]}/{name}"
    migrate(url)
    with psycopg.connect(url) as conn:
        for s in range(SCHOOLS):
            upsert_school(conn, code=f"bench-s{s}", name=f"Bench {s}", level="thcs",
                          ward="Bench", start_time="07:00")
        for school, device, role in devices():
            add_device(conn, school=school, device=device, role=role)
    return name, url


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_PG, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def reset(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("truncate gate_events, telemetry, attendance_daily, dead_letters, "
                     "device_status")


def counts(url: str) -> dict[str, int]:
    """Stored messages (distinct (device, seq) over events and telemetry), dead letters."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select (select count(*) from (select distinct device_id, seq from gate_events) g)"
            " + (select count(*) from (select distinct device_id, seq from telemetry) t),"
            " (select count(*) from dead_letters)").fetchone()
    assert row is not None
    return {"distinct": int(row[0]), "dead": int(row[1])}


# -- the consumers -----------------------------------------------------------------------

def v5_connect(client: mqtt.Client, port: int, *, expiry: int = 0) -> None:
    """Connect with a fresh session that ends at disconnect unless ``expiry`` says
    otherwise: a session left behind would make the broker queue every later phase's
    messages for it, and slow the phases after it."""
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = expiry
    props.ReceiveMaximum = hub_ingest.RECEIVE_MAXIMUM
    client.connect("127.0.0.1", port, clean_start=True, properties=props)


def subscriber(client_id: str, port: int, on_message: Any,
               client_class: type[mqtt.Client] = mqtt.Client) -> mqtt.Client:
    """A plain paho subscriber to the bench's topics, returned once subscribed."""
    client = client_class(CallbackAPIVersion.VERSION2, client_id=client_id,
                          protocol=MQTTProtocolVersion.MQTTv5)
    client.on_message = on_message
    subscribed = threading.Event()
    client.on_subscribe = lambda *_a: subscribed.set()
    v5_connect(client, port)
    client.loop_start()
    client.subscribe([("ss/v1/+/+/event", 1), ("ss/v1/+/+/telemetry", 1)])
    subscribed.wait(10)
    return client


def run_ceiling(port: int, pub: Any, count: int, seq_base: int,
                client_class: type[mqtt.Client] = mqtt.Client) -> float:
    received = 0
    last = 0.0
    done = threading.Event()

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        nonlocal received, last
        json.loads(msg.payload)
        received += 1
        if received >= count:
            last = time.time()
            done.set()

    client = subscriber(f"bench-ceiling-{client_class.__name__}", port, on_message,
                        client_class)
    pub.send((count, seq_base, 0.0))
    started, _, _ = pub.recv()
    done.wait(600)
    client.disconnect()
    client.loop_stop()
    return float(count / (last - started))


def run_hub(port: int, url: str, pub: Any, count: int, seq_base: int, rate: float,
            ) -> tuple[float, list[float], hub_ingest.IngestStats]:
    """The hub worker in this process; returns (msg/s, latencies in ms, its stats)."""
    committed = 0
    last = 0.0
    latencies: list[float] = []
    done = threading.Event()

    def on_commit(batch: Sequence[Incoming]) -> None:
        nonlocal committed, last
        now = time.time()
        if rate:
            for m in batch:
                # the ts of a paced message is its publish moment
                start = m.payload.index(b'"ts":"') + 6
                ts = m.payload[start:m.payload.index(b'"', start)].decode()
                latencies.append((now - datetime.fromisoformat(ts).timestamp()) * 1000)
        committed += len(batch)
        if committed >= count:
            last = now
            done.set()

    client_id = f"bench-hub-{uuid.uuid4().hex[:6]}"
    worker = hub_ingest.Ingest(database_url=url, mqtt_url=f"mqtt://127.0.0.1:{port}",
                               client_id=client_id,
                               tz="Asia/Ho_Chi_Minh", on_commit=on_commit)
    worker.start()
    # the SUBACK, not the CONNACK: until then the broker would drop the messages
    deadline = time.monotonic() + 30
    while not worker.stats.subscribed:
        if time.monotonic() > deadline:
            raise RuntimeError("the hub did not subscribe")
        time.sleep(0.01)
    pub.send((count, seq_base, rate))
    started, _, _ = pub.recv()
    done.wait(900)
    worker.stop()
    end_session(port, client_id)
    return count / (last - started), latencies, worker.stats


def end_session(port: int, client_id: str) -> None:
    """Drop the hub's persistent session (see ``v5_connect``)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=MQTTProtocolVersion.MQTTv5)
    v5_connect(client, port)
    client.loop_start()
    deadline = time.monotonic() + 10
    while not client.is_connected() and time.monotonic() < deadline:
        time.sleep(0.01)
    client.disconnect()
    client.loop_stop()


def run_naive(port: int, url: str, pub: Any, count: int, seq_base: int) -> float:
    """One INSERT per message, autocommit; dedup by the same keys."""
    db = psycopg.connect(url, autocommit=True)
    registry = {d: s for s, d, _ in devices()}
    handled = 0
    last = 0.0
    done = threading.Event()

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        nonlocal handled, last
        p = json.loads(msg.payload)
        now = datetime.now(UTC)
        if p["type"] == "gate":
            db.execute(
                "insert into gate_events (device_id, seq, ts, received_at, school_id,"
                " direction, method, card_uid, decision, resolved)"
                " values (%s,%s,%s,%s,%s,%s,%s,%s,%s,false)"
                " on conflict do nothing",
                (p["device"], p["seq"], p["ts"], now, registry[p["device"]], p["direction"],
                 p["method"], p["card_uid"], p["decision"]))
        else:
            rows = [(p["device"], p["seq"], k, p["ts"], now, p["asset"], float(v))
                    for k, v in p["metrics"].items()]
            db.execute(
                "insert into telemetry (device_id, seq, metric, ts, received_at, asset,"
                " value_num) values " + ",".join(["(%s,%s,%s,%s,%s,%s,%s)"] * len(rows))
                + " on conflict do nothing", [x for r in rows for x in r])
        handled += 1
        if handled >= count:
            last = time.time()
            done.set()

    client = subscriber("bench-naive", port, on_message)
    pub.send((count, seq_base, 0.0))
    started, _, _ = pub.recv()
    done.wait(1800)
    client.disconnect()
    client.loop_stop()
    db.close()
    return float(count / (last - started))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2,
                        help="like-for-like ceiling / hub pairs, interleaved (ABAB)")
    parser.add_argument("--naive-messages", type=int, default=None,
                        help="messages for the naive baseline (default: --messages)")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args(argv)
    n = args.messages
    import logging
    logging.basicConfig(level=logging.WARNING)

    # SIGTERM unwinds like Ctrl-C, so the broker and the scratch database go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(tempfile.mkdtemp(prefix="ss-bench-"))
    broker, port = start_broker(workdir)
    name, url = create_database()
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    pub = ctx.Process(target=publisher_main, args=(port, child), daemon=True)
    pub.start()
    results: dict[str, Any] = {"messages": n, "cores": os.cpu_count(), "rounds": args.rounds}
    try:
        ceiling = run_ceiling(port, parent, n, 0)
        print(f"stock paho ceiling (receive + json.loads): {ceiling:10,.0f} msg/s", flush=True)

        # A B A B: the like-for-like ceiling and the hub, each round on fresh seqs.
        ceilings_cc: list[float] = []
        hubs: list[float] = []
        lost = redelivered = duplicated = received = batches = 0
        for r in range(args.rounds):
            base = (r + 1) * 1_000_000
            ceilings_cc.append(run_ceiling(port, parent, n, base, ConsumerClient))
            reset(url)
            hub_rate, _, stats = run_hub(port, url, parent, n, base + 500_000, 0.0)
            hubs.append(hub_rate)
            c = counts(url)
            lost += n - c["distinct"]
            redelivered += stats.redelivered
            duplicated += stats.duplicates_dropped
            received += stats.received
            batches += stats.batches
            print(f"round {r + 1}: ceiling on the hub's client {ceilings_cc[-1]:10,.0f} msg/s;"
                  f" hub, one worker (committed) {hub_rate:10,.0f} msg/s"
                  f" (this round {hub_rate / ceilings_cc[-1]:.2f}); lost {n - c['distinct']}"
                  f"  redelivered {stats.redelivered}  duplicated {stats.duplicates_dropped}"
                  f"  {stats.received} received in {stats.batches} batches", flush=True)
        ceiling_cc = statistics.median(ceilings_cc)
        hub_rate = statistics.median(hubs)
        print(f"like for like, medians: hub {hub_rate:,.0f} / ceiling {ceiling_cc:,.0f} = "
              f"{hub_rate / ceiling_cc:.2f} (target {TARGETS['ratio']}); hub / stock paho "
              f"ceiling {hub_rate / ceiling:.2f}", flush=True)

        naive_rate = None
        if not args.skip_naive:
            reset(url)
            nn = args.naive_messages or n
            naive_rate = run_naive(port, url, parent, nn, 90_000_000)
            print(f"naive (INSERT per message):     {naive_rate:10,.0f} msg/s "
                  f"({nn} messages)", flush=True)

        reset(url)
        paced = int(LATENCY_RATE * args.latency_seconds)
        _, latencies, _ = run_hub(port, url, parent, paced, 10_000_000, LATENCY_RATE)
        p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
        lc = counts(url)
        print(f"latency at {LATENCY_RATE:,.0f} msg/s ({paced} messages): p50 {p50:.1f} ms "
              f"p99 {p99:.1f} ms  max {max(latencies):.1f} ms  stored {lc['distinct']}",
              flush=True)
        results.update(
            ceiling_msg_s=round(ceiling), hub_msg_s=round(hub_rate),
            naive_msg_s=round(naive_rate) if naive_rate else None,
            ratio=round(hub_rate / ceiling_cc, 3),
            ceiling_consumer_client_msg_s=round(ceiling_cc),
            ratio_like_for_like=round(hub_rate / ceiling_cc, 3),
            ratio_stock_paho=round(hub_rate / ceiling, 3),
            ceiling_consumer_client_runs_msg_s=[round(x) for x in ceilings_cc],
            hub_runs_msg_s=[round(x) for x in hubs],
            hub_vs_naive=round(hub_rate / naive_rate, 1) if naive_rate else None,
            lost=lost, duplicated=duplicated, redelivered=redelivered,
            received=received, batches=batches,
            latency_msg_s=LATENCY_RATE, p50_ms=round(p50, 1), p99_ms=round(p99, 1),
            latency_lost=paced - lc["distinct"],
            mean_latency_ms=round(statistics.fmean(latencies), 1),
            targets=TARGETS)
        results["targets_met"] = bool(
            results["ratio"] >= TARGETS["ratio"] and lost == 0
            and p99 <= TARGETS["p99_ms"] and results["latency_lost"] == 0)
    finally:
        parent.send(None)
        pub.join(10)
        broker.terminate()
        broker.wait(10)
        drop_database(name)
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(results))
    return 0 if results.get("targets_met") else 1


if __name__ == "__main__":
    raise SystemExit(main())
