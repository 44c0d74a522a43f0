"""The simulated district: the real edge agent code, driven by a planned school day.

One process holds every agent of the district (a gate agent per gate, a
classroom agent per room), each with its own device id, MQTT connection, Last
Will and SQLite outbox. They share one network thread (``smartschool.demo.netloop``) and one
compressed clock; a single driver thread feeds card taps from the day plan to
the gates and ticks every agent, so the simulation is the agents' own logic at a
faster clock, not a separate model of it.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time as systime
import zlib
from collections import defaultdict
from datetime import datetime, time, tzinfo
from pathlib import Path

from edge.agent import Agent, build_agent, raise_open_files_limit, stop_agents
from edge.classroom import ClassroomAgent
from edge.clock import CompressedClock
from edge.config import AgentConfig
from edge.config.attendance import AttendanceConfig
from edge.config.classroom import AssetConfig, ClassroomConfig
from edge.config.gate import GateConfig
from edge.config.mqtt import MqttConfig
from edge.config.outbox import OutboxConfig
from edge.gate.agent import GateAgent
from edge.gate.policy import CardEntry
from edge.metrics import MetricValue
from edge.projector.source import SimulatedProjector
from smartschool.demo.district import District
from smartschool.demo.lessons import RoomTap, plan_room_taps
from smartschool.demo.netloop import NetLoop
from smartschool.demo.pjlink_simulator import ProjectorFarm, ProjectorState
from smartschool.demo.schedule import DayPlan, EquipmentEvent, plan_day

log = logging.getLogger(__name__)

DAY_STARTS_AT = time(6, 5)  # just before the earliest arrivals
DRIVER_STEP_S = 0.05  # real seconds between looks at the plan
TICK_EVERY_S = 1.0  # real seconds between ticks of every agent
# Devices report on a real-time cadence whatever the speed, or a 60x demo would
# send 60x the traffic of a real district.
HEARTBEAT_REAL_S = 30
TELEMETRY_REAL_S = 10
LESSON_BLOCKS = ((time(7, 0), time(11, 15)), (time(13, 30), time(16, 30)))
PROJECTOR_USE_SHARE = 0.7
# The projectors of the first schools answer over real PJLink TCP (the simulator in
# edge/pjlink, MD5 handshake and all), so the demo runs the same client a real
# classroom does; the rest stay in-process to keep a 2-core laptop's CPU for the rest.
PJLINK_SCHOOLS = 3
PJLINK_PASSWORD_ENV = "SMARTSCHOOL_SIM_PJLINK_PASSWORD"  # noqa: S105  # a variable name


def _sim_seconds(real_s: float, speed: float, *, low: int, high: int) -> int:
    return max(low, min(high, round(real_s * speed)))


def _host_metrics(device: str) -> dict[str, MetricValue]:
    # Plausible, stable per device; the real machine's figures would be one value x 500.
    rnd = random.Random(zlib.crc32(device.encode()))
    return {
        "cpu.temp_c": round(rnd.uniform(42, 62), 1),
        "cpu.load1": round(rnd.uniform(0.05, 0.6), 2),
        "mem.used_pct": round(rnd.uniform(25, 60), 1),
        "disk.used_pct": round(rnd.uniform(20, 70), 1),
    }


class DistrictSimulator:
    def __init__(
        self,
        district: District,
        *,
        mqtt_url: str,
        work_dir: Path,
        speed: float,
        tz: tzinfo,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        allow_plaintext: bool = False,
    ) -> None:
        """``ca_file`` and ``allow_plaintext`` as in a device YAML's ``mqtt:`` section: the
        demo against a district's own broker passes the hub's settings on."""
        self.district = district
        self.mqtt_url = mqtt_url
        self.ca_file = ca_file
        self.allow_plaintext = allow_plaintext
        self.work_dir = work_dir
        self.speed = speed
        self.tz = tz
        self.password = password
        self.username = username
        today = datetime.now(self.tz).date()
        self.clock = CompressedClock(datetime.combine(today, DAY_STARTS_AT, self.tz), speed)
        self.netloop = NetLoop("sim-netloop")
        self.gates: dict[str, GateAgent] = {}
        self.rooms: dict[str, ClassroomAgent] = {}
        self.plan: DayPlan | None = None
        self.room_taps: tuple[RoomTap, ...] = ()
        self._lesson_schools = {s.id for s in district.schools if s.level != "mam_non"}
        self.taps_done = 0
        self._stop = threading.Event()
        self._driver = threading.Thread(target=self._drive, name="sim-driver", daemon=True)
        self._projector_use: dict[str, bool] = {}
        self.pjlink = ProjectorFarm()
        self._pjlink_states: dict[str, ProjectorState] = {}

    @property
    def agents(self) -> list[Agent]:
        return [*self.gates.values(), *self.rooms.values()]

    def _config(self, device: str, school: str, role: str, **section: object) -> AgentConfig:
        return AgentConfig.model_validate({
            "device": device, "school": school, "role": role,
            "mqtt": MqttConfig(url=self.mqtt_url, ca_file=self.ca_file,
                               allow_plaintext=self.allow_plaintext),
            "outbox": OutboxConfig(synchronous="normal"),
            "heartbeat_s": _sim_seconds(HEARTBEAT_REAL_S, self.speed, low=5, high=3600),
            **section,
        })

    def _build(self) -> None:
        students = {s.code: s for s in self.district.students}
        cards: dict[str, dict[str, CardEntry]] = defaultdict(dict)
        for card in self.district.cards:
            school = students[card.student_code].school_id
            cards[school][card.uid] = CardEntry(person=card.student_code, status=card.status)
        rnd = random.Random(self.district.seed)
        pjlink_schools = {school.id for school in self.district.schools[:PJLINK_SCHOOLS]}
        os.environ.setdefault(PJLINK_PASSWORD_ENV, f"sim-{self.district.seed}")
        telemetry_s = _sim_seconds(TELEMETRY_REAL_S, self.speed, low=5, high=3600)
        for device in self.district.devices:
            if device.role == "gate":
                config = self._config(device.id, device.school_id, "gate",
                                      gate=GateConfig(direction="in"))
                agent = self._agent(config, cards=cards[device.school_id])
                assert isinstance(agent, GateAgent)
                self.gates[device.id] = agent
            else:
                assets = []
                if device.projector_asset:
                    # A district's projectors are of all ages; some lamps are near their end.
                    hours = round(rnd.uniform(50, 3900))
                    if device.school_id in pjlink_schools:
                        assets.append(self._pjlink_asset(device.id, device.projector_asset,
                                                         hours))
                    else:
                        assets.append(AssetConfig(tag=device.projector_asset, lamp_hours=hours))
                # Classroom attendance (issue 14): a card reader at every room's door
                door = (AttendanceConfig(room=device.room_name)
                        if device.room_name and device.school_id in self._lesson_schools
                        else None)
                config = self._config(device.id, device.school_id, "classroom",
                                      classroom=ClassroomConfig(
                                          telemetry_interval_s=telemetry_s, assets=assets,
                                          attendance=door))
                agent = self._agent(config, cards=cards[device.school_id] if door else None)
                assert isinstance(agent, ClassroomAgent)
                self.rooms[device.id] = agent
                self._projector_use[device.id] = rnd.random() < PROJECTOR_USE_SHARE

    def _pjlink_asset(self, device: str, tag: str, lamp_hours: float) -> AssetConfig:
        state = ProjectorState(lamp_hours=lamp_hours, clock=self.clock.now, name=tag,
                               password=os.environ[PJLINK_PASSWORD_ENV])
        server = self.pjlink.add(state)
        self._pjlink_states[device] = state
        return AssetConfig.model_validate({
            "tag": tag, "kind": "projector", "source": "pjlink",
            "pjlink": {"host": "127.0.0.1", "port": server.port,
                       "password_env": PJLINK_PASSWORD_ENV}})

    def _agent(self, config: AgentConfig, cards: dict[str, CardEntry] | None = None) -> Agent:
        device = config.device
        return build_agent(config, clock=self.clock, cards=cards, data_dir=self.work_dir,
                           password=self.password, netloop=self.netloop,
                           host_metrics=lambda: _host_metrics(device))

    def start(self) -> None:
        limit = raise_open_files_limit()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        started = systime.monotonic()
        self.netloop.start()
        self.pjlink.start()
        self._build()
        for agent in self.agents:
            agent.start()
        self.plan = plan_day(self.district, self.clock.now().date(), self.tz,
                             seed=self.district.seed)
        # Classroom attendance (issue 14): planned beside the driver, off the start's path
        # (the first lesson is a simulated half hour after the first arrivals)
        plan = self.plan
        threading.Thread(target=lambda: setattr(self, "room_taps", plan_room_taps(
            self.district, plan, self.tz, seed=self.district.seed)), name="sim-rooms",
            daemon=True).start()
        log.info("simulating %d gates and %d classrooms (fd limit %d), %d taps planned, "
                 "clock %s at %gx; started in %.1fs", len(self.gates), len(self.rooms), limit,
                 len(self.plan.taps), self.clock.now().strftime("%H:%M"), self.speed,
                 systime.monotonic() - started)
        self._driver.start()

    def stop(self) -> None:
        self._stop.set()
        self._driver.join(10)
        stop_agents(self.agents)
        self.netloop.stop()
        self.pjlink.stop()

    # -- the driver thread ----------------------------------------------------------------

    def _projectors(self, now: datetime) -> None:
        local = now.astimezone(self.tz).time()
        in_lesson = any(start <= local < end for start, end in LESSON_BLOCKS)
        for device, agent in self.rooms.items():
            want = in_lesson and self._projector_use[device]
            state = self._pjlink_states.get(device)
            if state is not None:
                with state.lock:
                    power, faulty = state.power, any(v == 2 for v in state.faults.values())
                if (power == "on") != want and not (want and faulty):
                    state.set_power("on" if want else "off")
            for projector in agent.projectors.values():
                if not isinstance(projector, SimulatedProjector):
                    continue
                faulty = projector.read(now).error != "ok"
                if (projector.power == "on") != want and not (want and faulty):
                    projector.set_power(want, now)

    def _drive(self) -> None:
        assert self.plan is not None
        taps, equipment = self.plan.taps, self.plan.equipment
        next_tap = next_equipment = next_room = 0
        last_tick = 0.0
        last_report = systime.monotonic()
        while not self._stop.is_set():
            now = self.clock.now()
            while next_tap < len(taps) and taps[next_tap].at <= now:
                tap = taps[next_tap]
                gate = self.gates.get(tap.gate)
                if gate is not None:
                    gate.handle_tap(tap.uid, direction=tap.direction)
                    self.taps_done += 1
                next_tap += 1
            while next_room < len(self.room_taps) and self.room_taps[next_room].at <= now:
                room = self.rooms.get(self.room_taps[next_room].device)
                if room is not None and room.door is not None:
                    room.door.handle_tap(self.room_taps[next_room].uid)
                next_room += 1
            while next_equipment < len(equipment) and equipment[next_equipment].at <= now:
                self._equipment(equipment[next_equipment], now)
                next_equipment += 1
            if systime.monotonic() - last_tick >= TICK_EVERY_S:
                last_tick = systime.monotonic()
                self._projectors(now)
                for agent in self.agents:
                    agent.tick(now)
            if systime.monotonic() - last_report > 30:
                last_report = systime.monotonic()
                log.info("simulated %s: %d of %d taps", now.strftime("%H:%M"),
                         self.taps_done, len(taps))
            self._stop.wait(DRIVER_STEP_S)

    def _equipment(self, event: EquipmentEvent, now: datetime) -> None:
        agent = self.rooms.get(event.device)
        if agent is None:
            return
        if event.kind == "fault" and event.fault:
            state = self._pjlink_states.get(event.device)
            if state is not None:
                state.set_fault(event.fault)
            for projector in agent.projectors.values():
                if isinstance(projector, SimulatedProjector):
                    projector.set_fault(event.fault, now)
            log.info("simulated fault: %s projector %s", event.device, event.fault)
        elif event.kind == "offline":
            log.info("simulated power cut: %s", event.device)
            agent.link.power_cut()
