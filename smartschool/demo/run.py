"""`smartschool demo`: the whole system on one machine, on real parts.

Order of start: database, broker, schema, records, hub (ingest + API), dashboard,
then the simulated district; stop is the reverse, so nothing the simulator sends
is left unacknowledged by a hub that already went away.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import psycopg

from core.settings import Settings
from hub.accounts.auth import ensure_admin, generate_password
from hub.db import Conn, migrate
from hub.service import Hub
from smartschool.demo.district import generate_district
from smartschool.demo.embedded import EmbeddedPostgres, ManagedBroker
from smartschool.demo.lessons import seed_timetables
from smartschool.demo.records_gaps import seed_records_gaps
from smartschool.demo.seed import seed_assets, seed_district

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DemoOptions:
    speed: float = 60.0
    students: int = 15_000
    seed: int = 2025
    duration: float | None = None
    fresh: bool = False
    broker: Literal["auto", "mosquitto", "amqtt"] = "auto"


def ensure_school_day(conn: Conn, day: date) -> bool:
    """Make ``day`` a school day for the whole district when it falls on a weekend.

    The simulated district goes to school every day the demo runs; without this, on
    a Saturday or Sunday the attendance rules (rightly) expect nobody and the pages
    would call every arrival a pass on a day off. Returns whether an entry was added.
    """
    if day.isoweekday() <= 5:
        return False
    added = conn.execute(
        "insert into school_calendar (day, school_id, kind, note)"
        " values (%s, null, 'makeup', 'smartschool demo: a simulated school day')"
        " on conflict do nothing", (day,))
    return added.rowcount == 1


def held_at_day_end(now: Callable[[], datetime], tz: ZoneInfo) -> Callable[[], datetime]:
    """The simulation's clock for the wall, held at the last second of the day it started
    on: the simulator plans that one day, and a demo left running past its midnight would
    otherwise show the next, empty day."""
    end = datetime.combine(now().astimezone(tz).date(), time(23, 59, 59), tz)
    return lambda: min(now(), end)


def _admin_password(settings: Settings, conn: Conn, demo_dir: Path) -> str:
    """The env password wins; else the one generated on an earlier run, kept 0600."""
    if settings.admin_password:
        password = settings.admin_password.get_secret_value()
        ensure_admin(conn, password=password)
        return password
    remembered = demo_dir / "admin_password"
    if remembered.exists():
        password = remembered.read_text().strip()
    else:
        password = generate_password()
        # Created 0600 in the same call: a chmod afterwards would leave a moment in which
        # the file is readable under the umask's mode.
        fd = os.open(remembered, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                     stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(password + "\n")
    ensure_admin(conn, password=password)
    return password


class Demo:
    def __init__(self, settings: Settings, options: DemoOptions) -> None:
        self.settings = settings
        self.options = options
        self.dir = settings.data_dir / "demo"
        self._stops: list[tuple[str, Callable[[], None]]] = []
        self.database_url = ""
        self.mqtt_url = ""
        self.admin_password = ""
        self.broker_kind = "external"
        self.dashboard_url = ""

    def _started(self, name: str, stop: Callable[[], None]) -> None:
        self._stops.append((name, stop))

    def start(self) -> None:  # noqa: PLR0915  # one step per service, in order
        from dashboard.app import DashboardServer
        from smartschool.demo.simulator import DistrictSimulator

        s, o = self.settings, self.options
        # Five hundred simulated agents each logging their connects would drown the demo.
        logging.getLogger("edge.link").setLevel(logging.WARNING)
        if o.fresh and self.dir.exists() and not s.database_url:
            log.info("--fresh: removing %s", self.dir)
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)

        if s.database_url:
            self.database_url = s.database_url
        else:
            pg = EmbeddedPostgres(self.dir / "pg")
            self.database_url = pg.start()
            self._started("PostgreSQL", pg.stop)
        if s.mqtt_url:
            self.mqtt_url = s.mqtt_url
        else:
            broker = ManagedBroker(self.dir / "broker", prefer=o.broker)
            self.mqtt_url = broker.start()
            self.broker_kind = broker.kind
            self._started("broker", broker.stop)

        migrate(self.database_url)
        log.info("generating the simulated district (%d students)", o.students)
        district = generate_district(seed=o.seed, students_target=o.students)
        with psycopg.connect(self.database_url) as conn:
            counts = seed_district(conn, district)
            seed_assets(conn, district)
            # The plan's targets (issue #13): records incomplete as a real district's
            seed_records_gaps(conn, district)
            ensure_school_day(conn, datetime.now(ZoneInfo(s.timezone)).date())
            # Warnings (issue 15): a few weeks of history for them to find
            from smartschool.demo.backfill import backfill

            backfill(conn, district, tz=ZoneInfo(s.timezone), seed=o.seed)
            self.admin_password = _admin_password(s, conn, self.dir)
            # Exchange with the city (issue 15): a receiver the hub pushes to
            from smartschool.demo.receiver import DemoReceiver

            receiver = DemoReceiver()
            receiver.start(conn)
            self._started("demo receiver", receiver.stop)
            # Alarm dispatch (issue #13): facility managers and the control room, told
            # through a webhook the demo receives (before the hub reads its settings)
            from smartschool.demo.notify_sink import start_alarm_recipients

            sink = start_alarm_recipients(conn, [(x.id, x.name) for x in district.schools])
            self._started("demo notifications", sink.stop)
        log.info("records: %s", counts)

        simulator = DistrictSimulator(
            district,
            mqtt_url=self.mqtt_url,
            work_dir=self.dir / "edge",
            speed=o.speed,
            tz=ZoneInfo(s.timezone),
            username=s.mqtt_username,
            password=s.mqtt_password.get_secret_value() if s.mqtt_password else None,
            ca_file=str(s.mqtt_ca_file) if s.mqtt_ca_file else None,
            allow_plaintext=s.mqtt_allow_plaintext,
        )
        # Lessons' "not in class" notices by the simulated school day too (issue 14)
        hub = Hub(s, database_url=self.database_url, mqtt_url=self.mqtt_url,
                  school_clock=held_at_day_end(simulator.clock.now, ZoneInfo(s.timezone)))
        hub.start()
        self._started("hub", hub.stop)
        # The wall counts the simulated morning by the simulation's clock: against the
        # real one, a demo started in the afternoon would find every pupil absent.
        dashboard = DashboardServer(s, database_url=self.database_url,
                                    host=s.dashboard_host, port=s.dashboard_port,
                                    mqtt_url=self.mqtt_url,
                                    now=held_at_day_end(simulator.clock.now,
                                                        ZoneInfo(s.timezone)))
        dashboard.start()
        self.dashboard_url = dashboard.url
        self._started("dashboard", dashboard.stop)

        simulator.start()
        self._started("simulator", simulator.stop)
        # Classroom attendance (issue 14): the timetables, once the gates are busy (the
        # first lesson is a simulated half hour away)
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            seed_timetables(conn, district)

    def stop(self) -> None:
        while self._stops:
            name, stop = self._stops.pop()
            log.info("stopping %s", name)
            try:
                stop()
            except Exception:
                log.exception("stopping %s failed", name)

    def banner(self) -> str:
        s = self.settings
        db = self.database_url if s.database_url else f"embedded PostgreSQL in {self.dir / 'pg'}"
        password_from = ("SMARTSCHOOL_ADMIN_PASSWORD" if s.admin_password
                         else f"generated, kept in {self.dir / 'admin_password'}")
        return "\n".join([
            "",
            "smartschool demo is running (Ctrl-C stops it)",
            f"  dashboard   {self.dashboard_url}",
            f"  API         http://{s.api_host}:{s.api_port}/api/health   "
            f"docs: http://{s.api_host}:{s.api_port}/docs",
            f"  login       admin / {self.admin_password}   ({password_from})",
            f"  broker      {self.mqtt_url} ({self.broker_kind})",
            f"  database    {db}",
            f"  simulation  {self.options.speed:g}x: a simulated minute every "
            f"{60 / self.options.speed:.2g} s",
            "",
        ])


def run_demo(settings: Settings, options: DemoOptions) -> None:
    demo = Demo(settings, options)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        demo.start()
        print(demo.banner(), flush=True)
        stop.wait(options.duration)
    finally:
        demo.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("demo stopped")
