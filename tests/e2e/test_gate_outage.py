"""A broker outage of 30 s in the middle of the morning rush, end to end on real parts.

The real GateAgent (simulated card reader, the owner loop on its own thread), the
private Mosquitto of ``tests/conftest.py`` (persistence on) and the real hub
ingest on PostgreSQL: 500 taps spread before, during and after the outage all
land in ``gate_events`` exactly once. The outage is shown to have happened: the
gate held taps in its outbox while the broker was down, and the hub reconnected.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from core.settings import Settings
from edge.agent import build_agent
from edge.cards.readers import SimulatedCardReader
from edge.clock import DISTRICT_TZ
from edge.config import AgentConfig, GateConfig, MqttConfig, OutboxConfig
from edge.gate.agent import GateAgent, GateOutcome
from edge.gate.policy import CardEntry
from edge.hardware.relay import NoopRelay
from hub.devices.registry import add_device, upsert_school
from hub.service import Hub
from tests.conftest import Broker, free_port, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

SCHOOL = "th-outage"
GATE = "th-outage-gate-1"
PUPILS = 50
TAPS_BEFORE, TAPS_DURING, TAPS_AFTER = 100, 300, 100
OUTAGE_S = 30.0


def uid(n: int) -> str:
    return f"{0x04A10000 + n:08X}"




def seed(url: str) -> None:
    with psycopg.connect(url) as conn:
        upsert_school(conn, code=SCHOOL, name="Trường Thử Mất Mạng", level="tieu_hoc",
                      ward="Hải Thành", start_time="07:00")
        add_device(conn, school=SCHOOL, device=GATE, role="gate")
        with conn.transaction():
            conn.execute("insert into classes (school_id, name, grade) values (%s, '1A1', 1)",
                         (SCHOOL,))
            for n in range(PUPILS):
                conn.execute(
                    "insert into students (code, school_id, class_id, full_name, birth_date,"
                    " gender) select %s, %s, id, %s, '2019-05-01', 'F' from classes",
                    (f"{SCHOOL}-{n:05d}", SCHOOL, f"Học sinh {n}"),
                )
                conn.execute(
                    "insert into cards (uid, student_id) select %s, id from students"
                    " where code = %s", (uid(n), f"{SCHOOL}-{n:05d}"),
                )


def count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql, (GATE,)).fetchone()
        assert row is not None
        return int(row[0])


def test_500_taps_across_a_30s_broker_outage_arrive_exactly_once(
    broker: Broker, pg_url: str, tmp_path: Path
) -> None:
    seed(pg_url)
    hub = Hub(Settings(api_port=free_port(), data_dir=tmp_path,
                       hub_client_id=f"hub-{uuid.uuid4().hex[:6]}"),
              database_url=pg_url, mqtt_url=broker.url, api=False)
    hub.start()
    reader = SimulatedCardReader()
    outcomes: list[GateOutcome] = []
    config = AgentConfig(
        device=GATE, school=SCHOOL, role="gate",
        mqtt=MqttConfig(url=broker.url, keepalive_s=5),
        outbox=OutboxConfig(path=tmp_path / "gate.sqlite3", synchronous="normal"),
        heartbeat_s=3600,
        gate=GateConfig(anti_passback_minutes=0),
    )
    cards = {uid(n): CardEntry(f"{SCHOOL}-{n:05d}") for n in range(PUPILS)}
    agent = build_agent(config, cards=cards, relay=NoopRelay(), card_reader=reader,
                        password="", on_decision=outcomes.append)
    assert isinstance(agent, GateAgent)
    stop = threading.Event()

    def owner_loop() -> None:  # what edge.agent.run does on the Pi
        while not stop.is_set():
            agent.poll(0.05)
            agent.tick()

    owner = threading.Thread(target=owner_loop, name="gate-owner", daemon=True)
    try:
        assert hub.ingest is not None
        # the SUBACK, not the CONNACK: until then the broker keeps nothing for the hub
        wait_until(lambda: hub.ingest and hub.ingest.stats.subscribed, 15, "hub subscribed")
        agent.start()
        owner.start()
        assert agent.link.wait_connected(10)
        tapped = 0

        def taps(n: int, over_s: float) -> None:
            nonlocal tapped
            for _ in range(n):
                # 50 cards in turn: one card comes back every ~5 s, past the debounce
                reader.tap(uid(tapped % PUPILS))
                tapped += 1
                time.sleep(over_s / n)

        taps(TAPS_BEFORE, 5.0)
        broker.stop()
        outage_started = time.monotonic()
        taps(TAPS_DURING, OUTAGE_S - 1.0)
        time.sleep(max(OUTAGE_S - (time.monotonic() - outage_started), 0.0))
        assert not agent.link.connected
        held = len(agent.outbox)
        assert held >= TAPS_DURING, f"the outbox held {held} taps through the outage"
        broker.start()
        taps(TAPS_AFTER, 5.0)
        wait_until(lambda: len(outcomes) == 500, 20, "the agent decides all 500 taps")
        assert all(o.decision.decision == "granted" for o in outcomes)
        assert agent.link.wait_connected(30)
        assert agent.link.wait_drained(60)
        wait_until(lambda: count(pg_url, "select count(*) from gate_events where device_id = %s")
                   >= 500, 90, "500 rows in gate_events")
        with psycopg.connect(pg_url) as conn:
            stored = sorted(r[0] for r in conn.execute(
                "select seq from gate_events where device_id = %s", (GATE,)))
            resolved = conn.execute(
                "select count(*) from gate_events where device_id = %s and resolved",
                (GATE,)).fetchone()
        # the seqs the gate decided, each stored once: none lost, none invented
        assert len(set(o.seq for o in outcomes)) == 500
        assert stored == sorted(o.seq for o in outcomes)
        assert hub.ingest.stats.connections >= 2, "the hub never saw the broker go"
        assert resolved is not None and resolved[0] == 500  # every card is in the records
        assert outcomes[0].at.tzinfo is not None
        assert outcomes[-1].at > datetime(2025, 1, 1, tzinfo=DISTRICT_TZ)
    finally:
        stop.set()
        owner.join(5)
        agent.stop()
        hub.stop()
