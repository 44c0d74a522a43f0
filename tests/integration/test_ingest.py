"""The thin path on real parts: a plain MQTT client -> Mosquitto -> hub ingest ->
PostgreSQL -> API, and bad input into the dead letters without stopping ingest."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core.settings import Settings
from hub.accounts.auth import ensure_admin
from hub.devices.registry import add_device, upsert_school
from hub.service import Hub
from tests.conftest import Broker, free_port, wait_until

pytestmark = pytest.mark.integration

VN = timezone(timedelta(hours=7))
# A fixed school day: no test depends on the day or hour it runs.
DAY = datetime(2025, 9, 8, tzinfo=VN).date()
SCHOOL = "th-test"
GATE = "th-test-gate-1"
CARD = "04A1B2C3"
PASSWORD = "correct horse battery staple"




def seed(url: str) -> None:
    with psycopg.connect(url) as conn:
        upsert_school(conn, code=SCHOOL, name="Trường Tiểu học Thử", level="tieu_hoc",
                      ward="Hải Thành", start_time="07:00")
        add_device(conn, school=SCHOOL, device=GATE, role="gate")
        with conn.transaction():
            conn.execute("insert into classes (school_id, name, grade) values (%s, '1A1', 1)",
                         (SCHOOL,))
            conn.execute(
                "insert into students (code, school_id, class_id, full_name, birth_date, gender)"
                " select %s, %s, id, 'Nguyễn Văn An', '2019-05-01', 'M' from classes",
                (f"{SCHOOL}-00001", SCHOOL),
            )
            conn.execute("insert into cards (uid, student_id) select %s, id from students",
                         (CARD,))
        ensure_admin(conn, password=PASSWORD)


def gate_event(seq: int, *, device: str = GATE, card: str = CARD, at: datetime | None = None,
               **extra: Any) -> bytes:
    moment = at or datetime(DAY.year, DAY.month, DAY.day, 6, 50, tzinfo=VN)
    body = {"v": 1, "type": "gate", "device": device, "seq": seq,
            "ts": moment.isoformat(timespec="milliseconds"), "direction": "in",
            "method": "card", "card_uid": card, "person": None, "distance": None,
            "decision": "granted", "reason": None, **extra}
    return json.dumps(body).encode()


@pytest.fixture
def publisher(broker: Broker) -> Iterator[mqtt.Client]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:6]}")
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def hub(pg_url: str, broker: Broker, tmp_path: Any) -> Iterator[Hub]:
    seed(pg_url)
    settings = Settings(api_port=free_port(), data_dir=tmp_path,
                        hub_client_id=f"hub-{uuid.uuid4().hex[:6]}")
    service = Hub(settings, database_url=pg_url, mqtt_url=broker.url)
    service.start()
    assert service.ingest is not None
    # the SUBACK, not the CONNACK: a message published before it would find no subscriber
    wait_until(lambda: service.ingest and service.ingest.stats.subscribed, what="hub subscribed")
    yield service
    service.stop()


def publish(client: mqtt.Client, topic: str, payload: bytes) -> None:
    client.publish(topic, payload, qos=1).wait_for_publish(5)


def api(hub: Hub) -> httpx.Client:
    assert hub.api is not None
    base = f"http://127.0.0.1:{hub.api.port}"
    token = httpx.post(f"{base}/api/v1/auth/token",
                       data={"username": "admin", "password": PASSWORD}).json()["access_token"]
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})


def test_gate_event_reaches_the_api(hub: Hub, publisher: mqtt.Client) -> None:
    # How fast is bench/ingest.py's business (publish -> commit p99); here only that it does.
    client = api(hub)
    publish(publisher, f"ss/v1/{SCHOOL}/{GATE}/event", gate_event(1))
    events = wait_until(lambda: client.get("/api/v1/events", params={"school": SCHOOL}).json(),
                        timeout=30.0, what="the event in the API")
    assert events[0]["device"] == GATE
    assert events[0]["seq"] == 1
    assert events[0]["card_uid"] == CARD
    assert events[0]["person"] == f"{SCHOOL}-00001"
    assert events[0]["resolved"] is True
    summary = client.get("/api/v1/attendance/summary",
                         params={"date": DAY.isoformat()}).json()
    school = next(s for s in summary["schools"] if s["school"] == SCHOOL)
    assert school["enrolled"] == 1
    assert school["present"] == 1
    assert school["absent"] == 0


def count(url: str, sql: str, *args: Any) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql, args).fetchone()
        assert row is not None
        return int(row[0])


def test_bad_input_is_dead_lettered_and_ingest_continues(
    hub: Hub, publisher: mqtt.Client, pg_url: str
) -> None:
    topic = f"ss/v1/{SCHOOL}/{GATE}/event"
    publish(publisher, topic, b"{not json")
    publish(publisher, topic, gate_event(2, direction="sideways"))
    publish(publisher, topic, gate_event(3, device="intruder"))
    publish(publisher, f"ss/v1/{SCHOOL}/unknown-gate/event", gate_event(4, device="unknown-gate"))
    publish(publisher, f"ss/v1/other-school/{GATE}/event", gate_event(5))
    publish(publisher, topic, json.dumps({"v": 9, "type": "gate"}).encode())
    publish(publisher, topic, b"x" * (70 * 1024))
    publish(publisher, topic, gate_event(6, reason="nul\u0000byte"))  # PostgreSQL refuses NUL
    publish(publisher, topic, gate_event(10))
    publish(publisher, topic, gate_event(10))  # a replay: stored once
    publish(publisher, topic, gate_event(11, card="FFFF0000"))  # unknown card: kept, flagged

    wait_until(lambda: count(pg_url, "select count(*) from gate_events where seq = 11"),
               what="the last good event")
    wait_until(lambda: count(pg_url, "select count(*) from dead_letters") >= 8,
               what="dead letters")
    with psycopg.connect(pg_url) as conn:
        reasons = sorted(r[0] for r in conn.execute("select reason from dead_letters"))
        stored = conn.execute(
            "select seq, resolved from gate_events order by seq").fetchall()
    assert reasons == sorted([
        "not-json", "invalid", "device-mismatch", "unregistered-device", "school-mismatch",
        "unknown-version", "too-large", "storage-rejected",
    ])
    assert stored == [(10, True), (11, False)]
    assert hub.ingest is not None
    assert hub.ingest.stats.dead_lettered == 8
    assert hub.ingest.stats.duplicates_dropped == 1  # the replay of seq 10
    client = api(hub)
    letters = client.get("/api/v1/dead-letters", params={"limit": 50}).json()
    assert {d["reason"] for d in letters} == set(reasons)
    assert all(d["topic"] and d["received_at"] for d in letters)


def test_status_and_telemetry_update_the_device(
    hub: Hub, publisher: mqtt.Client, pg_url: str
) -> None:
    now = datetime.now(VN).isoformat()
    status = {"v": 1, "type": "status", "device": GATE, "seq": 100, "ts": now,
              "state": "online", "fw": "0.1.0", "role": "gate", "ip": "10.0.0.7", "boot": now}
    publish(publisher, f"ss/v1/{SCHOOL}/{GATE}/status", json.dumps(status).encode())
    tele = {"v": 1, "type": "telemetry", "device": GATE, "seq": 101, "ts": now, "asset": None,
            "metrics": {"cpu.temp_c": 48.5, "net.reachable": True, "fw.channel": "stable"}}
    publish(publisher, f"ss/v1/{SCHOOL}/{GATE}/telemetry", json.dumps(tele).encode())
    wait_until(lambda: count(pg_url, "select count(*) from telemetry") == 3, what="telemetry")
    client = api(hub)
    devices = wait_until(
        lambda: [d for d in client.get("/api/v1/devices").json() if d["state"] == "online"],
        what="device online")
    assert devices[0]["id"] == GATE
    assert devices[0]["last_seen"]
    will = status | {"seq": 50, "state": "offline"}  # a Last Will carries an older seq
    publish(publisher, f"ss/v1/{SCHOOL}/{GATE}/status", json.dumps(will).encode())
    wait_until(lambda: client.get("/api/v1/devices").json()[0]["state"] == "offline",
               what="device offline after its will")
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("select metric, value_num, value_bool, value_text from telemetry "
                            "order by metric").fetchall()
    assert rows == [("cpu.temp_c", 48.5, None, None), ("fw.channel", None, None, "stable"),
                    ("net.reachable", 1.0, True, None)]


def test_a_classroom_device_cannot_mark_attendance(
    hub: Hub, publisher: mqtt.Client, pg_url: str
) -> None:
    """The hub trusts the account's registered role, not the payload: a classroom Pi's
    `gate` event is dead-lettered (wrong-role); what a classroom may send is stored."""
    classroom = f"{SCHOOL}-room-1"
    with psycopg.connect(pg_url) as conn:
        add_device(conn, school=SCHOOL, device=classroom, role="classroom")
    # registered after the hub started: the worker reloads its registry on an unknown device
    now = datetime.now(VN).isoformat()
    tele = {"v": 1, "type": "telemetry", "device": classroom, "seq": 1, "ts": now,
            "asset": None, "metrics": {"cpu.temp_c": 40.0}}
    publish(publisher, f"ss/v1/{SCHOOL}/{classroom}/event", gate_event(2, device=classroom))
    publish(publisher, f"ss/v1/{SCHOOL}/{classroom}/telemetry", json.dumps(tele).encode())
    publish(publisher, f"ss/v1/{SCHOOL}/{GATE}/event", gate_event(3))
    wait_until(lambda: count(pg_url, "select count(*) from gate_events where device_id = %s",
                             GATE), what="the gate's own event")
    wait_until(lambda: count(pg_url, "select count(*) from telemetry where device_id = %s",
                             classroom), what="the classroom's telemetry")
    wait_until(lambda: count(pg_url, "select count(*) from dead_letters"), what="dead letter")
    with psycopg.connect(pg_url) as conn:
        letters = conn.execute("select reason, topic, detail from dead_letters").fetchall()
        forged = count(pg_url, "select count(*) from gate_events where device_id = %s",
                       classroom)
    assert forged == 0
    assert letters == [("wrong-role", f"ss/v1/{SCHOOL}/{classroom}/event", letters[0][2])]
    assert "classroom" in letters[0][2]
    client = api(hub)
    events = client.get("/api/v1/events", params={"school": SCHOOL}).json()
    assert [e["device"] for e in events] == [GATE]
