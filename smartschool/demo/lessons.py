"""Lessons in the simulated district (issue 14): each school's timetable, and who is seen
at which room door when. Pure and seeded like the day plan (smartschool/demo/schedule.py).

The timetable is the morning of a Vietnamese school: four 45-minute periods from the
school's start time, five minutes apart, each class in its own room (teachers move,
classes stay). Kindergartens have no periods. The same lessons every weekday, Saturday
and Sunday included: the demo's calendar makes any day it runs a school day.

At each lesson's door: every pupil who came through the gate before it is seen, most a
few minutes before the start, some late; a few pupils per school and period "wander"
(entered the school, not in the room), so the lesson registers and the "in school, not
in class" flags fill within the first simulated hour.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Final

from hub.db import Conn
from hub.spreadsheets import csv_bytes
from smartschool.demo.district import District
from smartschool.demo.schedule import DayPlan

PERIODS: Final = 4
PERIOD_MIN: Final = 45
BREAK_MIN: Final = 5
WEEKDAYS: Final = range(1, 8)
LATE_SHARE: Final = 0.05
WANDERERS_PER_PERIOD: Final = 2  # per school
SUBJECTS: Final[dict[str, tuple[str, ...]]] = {
    "tieu_hoc": ("Tiếng Việt", "Toán", "Tự nhiên và Xã hội", "Tiếng Anh", "Âm nhạc"),
    "thcs": ("Toán", "Ngữ văn", "Tiếng Anh", "Khoa học tự nhiên", "Lịch sử và Địa lí",
             "Tin học", "Giáo dục công dân"),
}
HEADER: Final = ("Lớp", "Thứ", "Tiết", "Bắt đầu", "Kết thúc", "Môn", "Giáo viên", "Phòng")


@dataclass(frozen=True, slots=True, order=True)
class RoomTap:
    at: datetime
    device: str
    uid: str


def period_times(start: time, period: int) -> tuple[time, time]:
    begin = datetime.combine(date(2000, 1, 1), start) + timedelta(
        minutes=(period - 1) * (PERIOD_MIN + BREAK_MIN))
    return begin.time(), (begin + timedelta(minutes=PERIOD_MIN)).time()


def timetable_rows(district: District) -> dict[str, list[tuple[str, ...]]]:
    """School id -> the rows of its timetable spreadsheet (Vietnamese headers first)."""
    out: dict[str, list[tuple[str, ...]]] = {}
    schools = {s.id: s for s in district.schools}
    for klass in district.classes:
        school = schools[klass.school_id]
        if school.level == "mam_non":
            continue
        subjects = SUBJECTS["tieu_hoc" if klass.grade <= 5 else "thcs"]
        rows = out.setdefault(school.id, [HEADER])
        for weekday in WEEKDAYS:
            for period in range(1, PERIODS + 1):
                begin, end = period_times(school.start_time, period)
                subject = subjects[(weekday * PERIODS + period + klass.grade) % len(subjects)]
                rows.append((klass.name, str(weekday + 1) if weekday < 7 else "CN", str(period),
                             begin.strftime("%H:%M"), end.strftime("%H:%M"), subject,
                             klass.homeroom_teacher, klass.room_name))
    return out


def plan_room_taps(district: District, plan: DayPlan, tz: tzinfo, *,
                   seed: int = 0) -> tuple[RoomTap, ...]:
    """The taps at the room doors of ``plan``'s day, from who came through the gates."""
    rng = random.Random(f"{district.seed}/{plan.day.isoformat()}/{seed}/rooms")
    card_of = {c.student_code: c.uid for c in district.cards if c.status == "active"}
    arrived: dict[str, datetime] = {}
    for tap in plan.taps:
        if tap.direction == "in":
            arrived.setdefault(tap.uid, tap.at)
    door = {(d.school_id, d.room_name): d.id for d in district.devices
            if d.role == "classroom" and d.room_name is not None}
    pupils: dict[tuple[str, str], list[str]] = defaultdict(list)
    for student in district.students:
        uid = card_of.get(student.code)
        if uid is not None and uid in arrived:
            pupils[student.school_id, student.class_name].append(uid)
    taps: list[RoomTap] = []
    for school in district.schools:
        if school.level == "mam_non":
            continue
        classes = [k for k in district.classes if k.school_id == school.id]
        for period in range(1, PERIODS + 1):
            begin, _ = period_times(school.start_time, period)
            start = datetime.combine(plan.day, begin, tz)
            present = [(k, uid) for k in classes for uid in pupils[school.id, k.name]
                       if arrived[uid] < start + timedelta(minutes=10)]
            wanderers = set(rng.sample(range(len(present)),
                                       k=min(WANDERERS_PER_PERIOD, len(present))))
            for i, (klass, uid) in enumerate(present):
                device = door.get((school.id, klass.room_name))
                if device is None or i in wanderers:
                    continue
                if rng.random() < LATE_SHARE:
                    at = start + timedelta(minutes=rng.uniform(6, 12))
                else:
                    at = start - timedelta(minutes=rng.uniform(0.2, 6))
                taps.append(RoomTap(max(at, arrived[uid] + timedelta(minutes=1)), device, uid))
    return tuple(sorted(taps))


def seed_timetables(conn: Conn, district: District) -> int:
    """Import each school's timetable through the real importer (idempotent: a restarted
    demo changes nothing); returns the lessons stored."""
    from hub.timetable.importer import import_timetable

    stored = 0
    for school, rows in timetable_rows(district).items():
        data = csv_bytes(rows[0], rows[1:])
        report = import_timetable(conn, data, file=f"tkb-{school}.csv", school=school)
        if report.errors:
            raise ValueError("; ".join(report.lines()[:3]))
        stored += report.inserted + report.updated + report.unchanged
    return stored
