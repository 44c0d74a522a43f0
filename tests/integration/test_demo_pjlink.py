"""The demo's simulated district reads its first schools' projectors over real PJLink TCP."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from smartschool.demo.district import generate_district
from smartschool.demo.simulator import PJLINK_SCHOOLS, DistrictSimulator
from tests.conftest import Broker, wait_until

pytestmark = pytest.mark.integration


def test_classrooms_of_the_first_schools_query_pjlink_simulators(broker: Broker,
                                                                 tmp_path: Path) -> None:
    district = generate_district(seed=5, students_target=600)
    pjlink_schools = {s.id for s in district.schools[:PJLINK_SCHOOLS]}
    rooms = {d.id for d in district.devices
             if d.role == "classroom" and d.projector_asset and d.school_id in pjlink_schools}
    assert rooms
    seen: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        body = json.loads(msg.payload)
        metrics = body.get("metrics", {})
        if body.get("device") in rooms and "projector.manufacturer" in metrics:
            with lock:
                seen[body["device"]] = metrics

    listener = mqtt.Client(CallbackAPIVersion.VERSION2)
    listener.on_message = on_message
    listener.connect("127.0.0.1", broker.port)
    listener.subscribe("ss/v1/+/+/telemetry", qos=1)
    listener.loop_start()
    sim = DistrictSimulator(district, mqtt_url=broker.url, work_dir=tmp_path / "edge",
                            speed=60.0, tz=ZoneInfo("Asia/Ho_Chi_Minh"))
    try:
        sim.start()
        assert len(sim.pjlink.servers) == len(rooms)
        # every room of those schools answers over TCP with the simulator's identity
        wait_until(lambda: len(seen) == len(rooms), timeout=60,
                   what="PJLink readings from every projector of the first schools")
        with lock:
            sample = next(iter(seen.values()))
        assert sample["projector.manufacturer"] == "SmartSchool"
        assert sample["projector.model"] == "SIM-1"
        sessions = sum(s.sessions for s in sim.pjlink.servers)
        assert sessions >= len(rooms)
        # password-protected: one MD5 digest per session (edge/pjlink/client.py)
        assert sum(s.digests for s in sim.pjlink.servers) == pytest.approx(sessions, abs=2)
    finally:
        sim.stop()
        listener.disconnect()
        listener.loop_stop()
