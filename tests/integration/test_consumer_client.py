"""The hub's consumer client on the real Mosquitto: buffered reads, batched acks."""

from __future__ import annotations

import socket
import threading
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hub.ingest.client import READ_CHUNK, BufferedSocket, ConsumerClient
from tests.conftest import Broker, wait_until

TOPIC = "ss/v1/s1/d1/event"


def test_buffered_socket_serves_small_reads_from_one_large_one() -> None:
    left, right = socket.socketpair()
    left.setblocking(False)
    sock = BufferedSocket(left)
    try:
        with pytest.raises(BlockingIOError):
            sock.recv(1)  # nothing there: exactly what a non-blocking socket raises
        right.sendall(b"\x30\x05hello" + b"x" * (READ_CHUNK + 10))
        assert sock.recv(1) == b"\x30"
        assert sock.recv(1) == b"\x05"
        assert sock.pending() == sock.buffered() > 0
        assert sock.recv(5) == b"hello"
        rest = b""
        while len(rest) < READ_CHUNK + 10:
            rest += sock.recv(READ_CHUNK + 10 - len(rest))
        assert rest == b"x" * (READ_CHUNK + 10)
        assert sock.buffered() == 0
        assert sock.fileno() == left.fileno()  # everything else is the real socket's
        right.close()
        assert sock.recv(10) == b""  # the peer closed
    finally:
        left.close()


def _consumer(broker: Broker, client_id: str, on_message: Any) -> ConsumerClient:
    client = ConsumerClient(CallbackAPIVersion.VERSION2, client_id=client_id,
                            protocol=MQTTProtocolVersion.MQTTv5, manual_ack=True)
    client.on_message = on_message
    subscribed = threading.Event()
    client.on_subscribe = lambda *_a: subscribed.set()
    client.user_data_set(subscribed)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 600
    props.ReceiveMaximum = 4000
    client.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
    client.loop_start()
    client.subscribe(TOPIC, qos=1)
    assert subscribed.wait(10)
    return client


def barrier(client: ConsumerClient) -> None:
    """Return once the broker has handled everything sent so far: it answers a
    SUBSCRIBE after the packets before it on the connection."""
    subscribed: threading.Event = client.user_data_get()
    subscribed.clear()
    client.subscribe("ss/v1/barrier/none/event", qos=1)
    assert subscribed.wait(10), "no SUBACK: the acks did not go through"


def test_burst_received_whole_and_only_acked_messages_are_forgotten(broker: Broker) -> None:
    """3,000 QoS 1 messages arrive back to back (many packets per buffered read);
    2,000 are acknowledged in two ``ack_many`` calls; after a reconnect the broker
    redelivers exactly the other 1,000."""
    received: dict[bytes, int] = {}
    lock = threading.Lock()

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with lock:
            received[bytes(msg.payload)] = msg.mid

    consumer = _consumer(broker, "consumer-test", on_message)
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    publisher.connect("127.0.0.1", broker.port)
    publisher.loop_start()
    bodies = [f"m{i:05d}".encode() for i in range(3000)]
    infos = [publisher.publish(TOPIC, body, qos=1) for body in bodies]
    for info in infos:
        info.wait_for_publish(10)
    publisher.disconnect()
    publisher.loop_stop()

    wait_until(lambda: len(received) == 3000, what="all 3,000 messages")
    assert sorted(received) == bodies
    with lock:
        first, second = bodies[:1000], bodies[1000:2000]
        consumer.ack_many(received[b] for b in first)
        consumer.ack_many(received[b] for b in second)
    acked = set(first) | set(second)
    barrier(consumer)
    consumer.disconnect()
    consumer.loop_stop()

    redelivered: dict[bytes, int] = {}

    def again(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with lock:
            redelivered[bytes(msg.payload)] = msg.mid

    consumer = _consumer(broker, "consumer-test", again)
    try:
        wait_until(lambda: len(redelivered) >= 1000, what="the unacknowledged redelivered")
        with lock:
            consumer.ack_many(redelivered.values())
        assert set(redelivered) == set(bodies) - acked
    finally:
        consumer.disconnect()
        consumer.loop_stop()
