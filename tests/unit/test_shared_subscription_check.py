"""The hub notices a broker without MQTT 5 shared subscriptions (CONNACK property 0x2A)."""

from __future__ import annotations

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hub.ingest.worker import shared_subscriptions_available


def _connack(value: int | None) -> Properties:
    props = Properties(PacketTypes.CONNACK)
    if value is not None:
        props.SharedSubscriptionAvailable = value
    return props


@pytest.mark.parametrize(
    ("props", "available"),
    [
        (_connack(None), True),   # property absent: MQTT 5 says shared subscriptions exist
        (_connack(1), True),
        (_connack(0), False),     # e.g. ejabberd's mod_mqtt
        (None, True),             # MQTT 3.1.1 CONNACK carries no properties
    ],
)
def test_shared_subscriptions_available(props: Properties | None, available: bool) -> None:
    assert shared_subscriptions_available(props) is available
