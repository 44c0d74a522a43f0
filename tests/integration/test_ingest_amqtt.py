"""The hub's ingest on the demo's fallback broker: amqtt, which speaks MQTT 3.1.1 only.

`smartschool demo` runs amqtt where Mosquitto is not installed; the hub's consumer
client (buffered reads, batched PUBACKs) must work there too, on the 3.1.1 fallback.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from core.mqtt import BrokerAddress, negotiate_protocol
from hub.ingest.client import ConsumerClient
from hub.ingest.worker import Ingest
from smartschool.demo.embedded import ManagedBroker
from tests.conftest import wait_until
from tests.integration.test_ingest import GATE, SCHOOL, gate_event, seed

pytestmark = pytest.mark.integration

MESSAGES = 300


def test_ingest_over_amqtt_stores_every_message_once(pg_url: str, tmp_path: Path) -> None:
    seed(pg_url)
    broker = ManagedBroker(tmp_path / "amqtt", prefer="amqtt")
    broker.start()
    worker = Ingest(database_url=pg_url, mqtt_url=broker.url,
                    client_id=f"hub-{uuid.uuid4().hex[:6]}", tz="Asia/Ho_Chi_Minh")
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv311)
    try:
        assert broker.kind == "amqtt"
        assert negotiate_protocol(BrokerAddress.parse(broker.url)) == MQTTProtocolVersion.MQTTv311
        assert isinstance(worker.client, ConsumerClient)
        worker.start()
        wait_until(lambda: worker.stats.subscribed, what="the hub subscribed on amqtt")
        publisher.connect("127.0.0.1", broker.port)
        publisher.loop_start()
        topic = f"ss/v1/{SCHOOL}/{GATE}/event"
        infos = [publisher.publish(topic, gate_event(seq), qos=1)
                 for seq in range(1, MESSAGES + 1)]
        # a replay of the first ten: stored once
        infos += [publisher.publish(topic, gate_event(seq), qos=1) for seq in range(1, 11)]
        for info in infos:
            info.wait_for_publish(20)
        wait_until(lambda: worker.stats.received >= MESSAGES + 10, timeout=60,
                   what="every message through the hub")
        with psycopg.connect(pg_url) as conn:
            row = conn.execute("select count(*), count(distinct seq), min(seq), max(seq)"
                               " from gate_events where device_id = %s", (GATE,)).fetchone()
        assert row == (MESSAGES, MESSAGES, 1, MESSAGES)
        assert worker.stats.dead_lettered == 0
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        worker.stop()
        broker.stop()
