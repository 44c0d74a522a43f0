"""A classroom agent takes attendance at its room door, on the real broker and the real hub
and PostgreSQL, through to the lesson register the API serves; the "in school, not in
class" notice reaches the outbox exactly once per pupil and lesson.

Real parts: Mosquitto, the hub (ingest, API, notifier) on PostgreSQL, a gate agent and a
classroom agent built from their configs by edge.agent.build_agent, each with a simulated
card reader (the only stand-in: the hardware) and driven by its owner's poll/tick loop.
Both agents run on a manual clock set to a past Monday morning, so the register of that
day is a finished one whatever the wall clock says.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from edge.agent import build_agent
from edge.cards.readers import SimulatedCardReader
from edge.classroom import ClassroomAgent
from edge.clock import ManualClock
from edge.config import AgentConfig, ClassroomConfig, GateConfig, MqttConfig, OutboxConfig
from edge.config.attendance import AttendanceConfig
from edge.gate.agent import DEBOUNCE_S, GateOutcome
from edge.gate.policy import CardEntry
from edge.hardware.relay import NoopRelay
from hub.accounts.auth import create_user, ensure_admin
from hub.attendance.lessons_flags import enqueue_not_in_class
from hub.devices.registry import add_device, upsert_school
from hub.service import Hub
from hub.timetable.importer import import_timetable
from tests.conftest import Broker, running_hub, wait_until
from tests.integration.test_notify_support import VN

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

SCHOOL = "thcs-lop"
GATE = "thcs-lop-gate-1"
ROOM = "thcs-lop-p101"
PASSWORD = "pass-123456"
DAY = "2025-09-08"  # a Monday
PUPILS = {"HS01": ("04A10001", "An"), "HS02": ("04A10002", "Bình"),
          "HS03": ("04A10003", "Cường"), "HS04": ("04A10004", "Dung")}
TIMETABLE = ("Lớp,Thứ,Tiết,Bắt đầu,Kết thúc,Môn,Giáo viên,Phòng\n"
             "6A1,2,1,07:00,07:45,Toán,Cô Lan,P101\n"
             "6A1,2,2,07:50,08:35,Tin học,Thầy Nam,P101\n")


def at(hh: int, mm: int) -> datetime:
    return datetime(2025, 9, 8, hh, mm, tzinfo=VN)


def seed(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        upsert_school(conn, code=SCHOOL, name="THCS Thử Lớp", level="thcs", ward="Hải Thành")
        add_device(conn, school=SCHOOL, device=GATE, role="gate")
        add_device(conn, school=SCHOOL, device=ROOM, role="classroom")
        ensure_admin(conn, password=PASSWORD)
        create_user(conn, username="gv.lan", password=PASSWORD, role="teacher",
                    school_id=SCHOOL)
        conn.execute("update users set notify_channel = 'zalo', zalo_id = 'zalo-gv-lan'"
                     " where username = 'gv.lan'")
        conn.execute("insert into classes (school_id, name, grade, teacher_username)"
                     " values (%s, '6A1', 6, 'gv.lan')", (SCHOOL,))
        for code, (uid, name) in PUPILS.items():
            row = conn.execute(
                "insert into students (code, school_id, class_id, full_name, birth_date, gender)"
                " values (%s, %s, (select id from classes where name = '6A1'), %s,"
                " '2014-03-04', 'F') returning id", (code, SCHOOL, f"Học sinh {name}")).fetchone()
            assert row is not None
            conn.execute("insert into cards (uid, student_id) values (%s, %s)", (uid, row[0]))
        report = import_timetable(conn, TIMETABLE.encode(), file="tkb.csv", school=SCHOOL)
        assert report.written, report.lines()


class Owner:
    """Drives an agent as edge.agent.run does: poll (the reader), then tick."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.agent.poll(0.02)
            self.agent.tick()

    def __enter__(self) -> Owner:
        self.agent.start()
        self._thread.start()
        assert self.agent.link.wait_connected(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.agent.stop()


@pytest.fixture
def hub(pg_url: str, broker: Broker, tmp_path: Path) -> Iterator[Hub]:
    seed(pg_url)
    with running_hub(pg_url, broker, tmp_path) as service:
        yield service


def api(hub: Hub, user: str) -> httpx.Client:
    assert hub.api is not None
    base = f"http://127.0.0.1:{hub.api.port}"
    token = httpx.post(f"{base}/api/v1/auth/token",
                       data={"username": user, "password": PASSWORD}).json()["access_token"]
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def stored(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("select count(*) from gate_events").fetchone()
    assert row is not None
    return int(row[0])


def test_room_door_to_lesson_register_and_notice(hub: Hub, pg_url: str, broker: Broker,
                                                 tmp_path: Path) -> None:
    cards = {uid: CardEntry(code) for code, (uid, _) in PUPILS.items()}
    clock = ManualClock(at(6, 45))
    gate_reader, room_reader = SimulatedCardReader(), SimulatedCardReader()
    outcomes: list[GateOutcome] = []
    gate = build_agent(
        AgentConfig(device=GATE, school=SCHOOL, role="gate",
                    mqtt=MqttConfig(url=broker.url, keepalive_s=5),
                    outbox=OutboxConfig(path=tmp_path / "gate.sqlite3"), heartbeat_s=3600,
                    gate=GateConfig()),
        clock=clock, cards=cards, relay=NoopRelay(), card_reader=gate_reader, password="")
    room = build_agent(
        AgentConfig(device=ROOM, school=SCHOOL, role="classroom",
                    mqtt=MqttConfig(url=broker.url, keepalive_s=5),
                    outbox=OutboxConfig(path=tmp_path / "room.sqlite3"), heartbeat_s=3600,
                    classroom=ClassroomConfig(attendance=AttendanceConfig(room="P101"))),
        clock=clock, cards=cards, card_reader=room_reader, password="",
        on_decision=outcomes.append)
    assert isinstance(room, ClassroomAgent) and room.door is not None

    def tap(reader: SimulatedCardReader, code: str, hh: int, mm: int, expect: int) -> None:
        time.sleep(DEBOUNCE_S)  # real seconds: a card held on the reader is read once
        clock.set(at(hh, mm))
        reader.tap(PUPILS[code][0])
        wait_until(lambda: stored(pg_url) >= expect, 20, f"event {expect} stored")

    with Owner(gate), Owner(room):
        tap(gate_reader, "HS01", 6, 50, 1)   # An: gate, period 1 and period 2
        tap(room_reader, "HS01", 6, 55, 2)
        tap(gate_reader, "HS02", 6, 52, 3)   # Bình: gate, late for period 1, then gone
        tap(room_reader, "HS02", 7, 9, 4)
        tap(room_reader, "HS03", 7, 2, 5)    # Cường: the gate never saw him
        tap(gate_reader, "HS04", 6, 58, 6)   # Dung: in school, never in class
        tap(room_reader, "HS01", 7, 47, 7)
        tap(room_reader, "HS01", 7, 49, 8)   # within the door's 10 minutes: a repeat

    assert [(o.decision.decision, getattr(o.decision.reason, "value", None))
            for o in outcomes][-2:] == [("granted", None), ("denied", "anti-passback")]
    with psycopg.connect(pg_url) as conn:
        rooms = conn.execute("select distinct device_id, room from gate_events"
                             " order by device_id").fetchall()
        dead = conn.execute("select count(*) from dead_letters").fetchone()
    assert rooms == [(GATE, None), (ROOM, "P101")]
    assert dead == (0,)

    teacher = api(hub, "gv.lan")
    timetable = teacher.get(f"/api/v1/timetable?school={SCHOOL}").json()
    class_id = timetable[0]["class_id"]
    r = teacher.get(f"/api/v1/attendance/lessons?class_id={class_id}&date={DAY}")
    assert r.status_code == 200, r.text
    got = [{p["student"]: (p["status"], p["flags"]) for p in lesson["students"]}
           for lesson in r.json()["lessons"]]
    assert got == [
        {"HS01": ("present", []), "HS02": ("late", []), "HS03": ("present", ["no-gate-entry"]),
         "HS04": ("absent", ["in-school-not-in-class"])},
        {"HS01": ("present", []), "HS02": ("absent", ["in-school-not-in-class"]),
         "HS03": ("absent", []), "HS04": ("absent", ["in-school-not-in-class"])},
    ]
    events = teacher.get("/api/v1/events", params={"device": ROOM}).json()
    assert {e["room"] for e in events} == {"P101"} and len(events) == 5
    assert {e["room"] for e in teacher.get("/api/v1/events", params={"device": GATE}).json()
            } == {None}
    daily = teacher.get(f"/api/v1/attendance/register?class_id={class_id}&date={DAY}").json()
    assert {row["student"]: row["status"] for row in daily["students"]}["HS03"] == "late"

    # The notifier's sweep after each lesson's cutoff, run twice (and once more from
    # scratch, as a second hub worker without the watermark would): one notice each.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for moment in (at(7, 16), at(7, 16), at(8, 6), at(8, 30)):
            enqueue_not_in_class(conn, now=moment, tz=VN)
        conn.execute("delete from notify_state where name = 'lesson-sweep'")
        enqueue_not_in_class(conn, now=at(8, 30), tz=VN)
        notices = conn.execute(
            "select st.code, t.period, o.username, o.channel, o.payload->>'text'"
            " from notification_outbox o join students st on st.id = o.student_id"
            " join timetable_lessons t on t.id = o.lesson_id"
            " where o.kind = 'not-in-class' order by t.period, st.code").fetchall()
    assert [(c, p, u, ch) for c, p, u, ch, _ in notices] == [
        ("HS04", 1, "gv.lan", "zalo"), ("HS02", 2, "gv.lan", "zalo"),
        ("HS04", 2, "gv.lan", "zalo")]
    assert notices[0][4] == ("Học sinh Học sinh Dung (lớp 6A1) đã vào trường lúc 06:58 nhưng "
                             "chưa có mặt ở tiết 1 (Toán, phòng P101) lúc 07:15 ngày 08/09/2025.")
