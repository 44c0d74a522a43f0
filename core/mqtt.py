"""Broker addresses and paho client construction shared by edge agents and the hub.

paho 2.x with the VERSION2 callback API. MQTT 5 is preferred; brokers that only
speak 3.1.1 (the embedded amqtt fallback) are detected once per address and the
client falls back, since everything the protocol needs works on both.
"""

from __future__ import annotations

import logging
import ssl
import threading
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts://")
        tls = parts.scheme in ("mqtts", "ssl")
        if not parts.hostname:
            raise ValueError(f"broker URL {url!r} has no host")
        return cls(parts.hostname, parts.port or (8883 if tls else 1883), tls)

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


@lru_cache(maxsize=32)
def negotiate_protocol(address: BrokerAddress) -> MQTTProtocolVersion:
    """MQTT 5 if the broker accepts it, else 3.1.1. Remembered per address."""
    result: dict[str, MQTTProtocolVersion] = {}
    done = threading.Event()

    def on_connect(client: mqtt.Client, _u: object, _f: object, rc: ReasonCode,
                   _p: object) -> None:
        result["v"] = (MQTTProtocolVersion.MQTTv5 if not rc.is_failure
                       else MQTTProtocolVersion.MQTTv311)
        done.set()

    def on_disconnect(*_args: object) -> None:
        result.setdefault("v", MQTTProtocolVersion.MQTTv311)
        done.set()

    probe = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    if address.tls:
        probe.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    probe.on_connect = on_connect
    probe.on_disconnect = on_disconnect
    try:
        probe.connect(address.host, address.port, keepalive=10)
        probe.loop_start()
        done.wait(PROBE_TIMEOUT_S)
    except OSError:
        # Unreachable now; assume MQTT 5 and let the real client's reconnects sort it out.
        return MQTTProtocolVersion.MQTTv5
    finally:
        probe.disconnect()
        probe.loop_stop()
    version = result.get("v", MQTTProtocolVersion.MQTTv311)
    log.info("broker %s speaks %s", address, version.name)
    return version


def make_client(
    address: BrokerAddress,
    client_id: str,
    *,
    username: str | None = None,
    password: str | None = None,
    persistent: bool = False,
    protocol: MQTTProtocolVersion | None = None,
    manual_ack: bool = False,
    client_class: type[mqtt.Client] = mqtt.Client,
) -> mqtt.Client:
    """A configured, not yet connected client.

    ``persistent`` asks for a broker session that outlives the connection
    (clean_session false on 3.1.1; on 5 pass clean_start/session expiry to connect).
    ``client_class`` is paho's ``Client`` or a subclass (the hub's consumer client).
    """
    version = protocol or negotiate_protocol(address)
    if version == MQTTProtocolVersion.MQTTv5:
        client = client_class(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=version,
            manual_ack=manual_ack,
        )
    else:
        client = client_class(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=version,
            clean_session=not persistent,
            manual_ack=manual_ack,
        )
    if username:
        client.username_pw_set(username, password)
    if address.tls:
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


def is_v5(client: mqtt.Client) -> bool:
    return client.protocol == MQTTProtocolVersion.MQTTv5
