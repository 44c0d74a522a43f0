"""The hub's one MQTT client for commands to devices (docs/protocol.md, ``cmd``).

The gallery publisher and the operators' commands (hub.devices.commands) share it: one
connection per hub process, made on first use and kept, never one per request.
Thread-safe: API worker threads and the publisher thread publish through it.
"""

from __future__ import annotations

import logging
import threading
from typing import Final

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from core.mqtt import BrokerAddress, TlsFiles, make_client
from protocol.messages import CmdPayload, to_json
from protocol.topics import Channel, Topic

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S: Final = 5.0  # waiting for the broker's CONNACK, or PUBACK of one command


class CommandSender:
    def __init__(self, mqtt_url: str, *, client_id: str, username: str | None = None,
                 password: str | None = None, tls: TlsFiles | None = None) -> None:
        self.address = BrokerAddress.parse(mqtt_url, tls)
        self.client_id = client_id
        self.username, self.password = username, password
        self._client: mqtt.Client | None = None
        self._connected = threading.Event()
        self._lock = threading.Lock()

    def _mqtt(self) -> mqtt.Client:
        with self._lock:
            if self._client is None:
                client = make_client(self.address, self.client_id, username=self.username,
                                     password=self.password)

                def on_connect(_c: object, _u: object, _f: object, reason: ReasonCode,
                               _p: object) -> None:
                    if reason.is_failure:
                        log.warning("commands: broker refused the connection: %s", reason)
                    else:
                        self._connected.set()

                def on_disconnect(*_args: object) -> None:
                    self._connected.clear()

                client.on_connect = on_connect
                client.on_disconnect = on_disconnect
                client.connect_async(self.address.host, self.address.port, keepalive=30)
                client.loop_start()
                self._client = client
            return self._client

    def ready(self, timeout: float = PUBLISH_TIMEOUT_S) -> bool:
        """Connect if not yet; whether the broker accepted us within ``timeout``."""
        self._mqtt()
        return self._connected.wait(timeout)

    def publish(self, command: CmdPayload, school: str, *, retain: bool = False,
                timeout: float = PUBLISH_TIMEOUT_S) -> bool:
        """Publish at QoS 1; True once the broker acknowledged it (PUBACK)."""
        if not self.ready(timeout):
            log.warning("commands: broker %s unreachable", self.address)
            return False
        topic = str(Topic(school, command.device, Channel.CMD))
        try:
            info = self._mqtt().publish(topic, to_json(command), qos=1, retain=retain)
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError) as exc:  # paho: not connected, queue full
            log.warning("commands: cannot publish to %s: %s", topic, exc)
            return False
        return info.is_published()

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
        self._connected.clear()
