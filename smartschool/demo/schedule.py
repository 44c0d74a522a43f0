"""A simulated school day, planned in advance: who taps which gate when, and what breaks.

Pure and seeded: the same district, date and seed give the same day, so a demo
shows the same morning every time it is started on a fresh database.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal

from smartschool.demo.district import District

# Shares of a school's pupils on an ordinary day (Dương Kinh-like, before exams).
ABSENT_SHARE = 0.04
LATE_SHARE = 0.07
DOUBLE_TAP_SHARE = 0.02  # a second tap within seconds: the gate's anti-passback absorbs it
OLD_CARD_SHARE = 0.5
STRANGER_TAPS_PER_SCHOOL = 2  # cards the school never issued
FAULTY_PROJECTOR_SHARE = 0.03
OFFLINE_DEVICES = 2  # classroom agents that lose power during the morning

EARLIEST_ARRIVAL_MIN = 50  # minutes before the start of lessons
LATEST_LATE_MIN = 25  # minutes after it
DEPARTURE = time(16, 30)
DEPARTURE_SPREAD_MIN = 45

Direction = Literal["in", "out"]
Fault = Literal["lamp", "temp", "fan", "filter"]


@dataclass(frozen=True, slots=True, order=True)
class Tap:
    at: datetime
    gate: str
    uid: str
    direction: Direction


@dataclass(frozen=True, slots=True, order=True)
class EquipmentEvent:
    at: datetime
    device: str
    kind: Literal["fault", "offline"]
    fault: Fault | None = None


@dataclass(frozen=True, slots=True)
class DayPlan:
    day: date
    taps: tuple[Tap, ...]
    equipment: tuple[EquipmentEvent, ...]


def plan_day(district: District, day: date, tz: tzinfo, *, seed: int = 0) -> DayPlan:
    rng = random.Random(f"{district.seed}/{day.isoformat()}/{seed}")
    gates: dict[str, list[str]] = defaultdict(list)
    classrooms: dict[str, list[str]] = defaultdict(list)
    for device in district.devices:
        (gates if device.role == "gate" else classrooms)[device.school_id].append(device.id)
    cards_of = {c.student_code: c.uid for c in district.cards if c.status == "active"}
    # A pupil whose old card was lost or blocked sometimes still tries it first.
    old_cards = {c.student_code: c.uid for c in district.cards if c.status != "active"}
    starts = {s.id: datetime.combine(day, s.start_time, tz) for s in district.schools}
    taps: list[Tap] = []
    for student in district.students:
        uid = cards_of.get(student.code)
        school_gates = gates.get(student.school_id)
        if uid is None or not school_gates:
            continue
        draw = rng.random()
        if draw < ABSENT_SHARE:
            continue
        start = starts[student.school_id]
        if draw < ABSENT_SHARE + LATE_SHARE:
            arrival = start + timedelta(minutes=rng.uniform(1, LATEST_LATE_MIN))
        else:
            # Most pupils come 10-25 minutes early, a few much earlier.
            early = rng.triangular(2, EARLIEST_ARRIVAL_MIN, 18)
            arrival = start - timedelta(minutes=early)
        gate = rng.choice(school_gates)
        old = old_cards.get(student.code)
        if old and rng.random() < OLD_CARD_SHARE:
            taps.append(Tap(arrival - timedelta(seconds=5), gate, old, "in"))
        taps.append(Tap(arrival, gate, uid, "in"))
        if rng.random() < DOUBLE_TAP_SHARE:
            taps.append(Tap(arrival + timedelta(seconds=rng.uniform(1, 8)), gate, uid, "in"))
        leave = datetime.combine(day, DEPARTURE, tz) + timedelta(
            minutes=rng.uniform(0, DEPARTURE_SPREAD_MIN))
        taps.append(Tap(leave, rng.choice(school_gates), uid, "out"))
    for school in district.schools:
        for _ in range(STRANGER_TAPS_PER_SCHOOL):
            if gates.get(school.id):
                at = starts[school.id] - timedelta(minutes=rng.uniform(0, 40))
                taps.append(Tap(at, rng.choice(gates[school.id]), f"{rng.getrandbits(32):08X}",
                                "in"))
    equipment: list[EquipmentEvent] = []
    all_rooms = sorted(d for devices in classrooms.values() for d in devices)
    first_start = min(starts.values())
    # Faults early in the morning so that a demo shows some within its first minute.
    for room in rng.sample(all_rooms, k=max(1, int(len(all_rooms) * FAULTY_PROJECTOR_SHARE))):
        at = first_start - timedelta(minutes=rng.uniform(5, 35))
        fault: Fault = rng.choice(("lamp", "temp", "fan", "filter"))
        equipment.append(EquipmentEvent(at, room, "fault", fault))
    for room in rng.sample(all_rooms, k=min(OFFLINE_DEVICES, len(all_rooms))):
        equipment.append(EquipmentEvent(first_start - timedelta(minutes=rng.uniform(0, 30)),
                                        room, "offline"))
    return DayPlan(day, tuple(sorted(taps)), tuple(sorted(equipment)))
