"""Collectors: the scheduler, failure isolation, pure helpers, drivers and the config."""

from __future__ import annotations

import struct
import time
from collections import namedtuple
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from edge import metrics as metrics_module
from edge.clock import DISTRICT_TZ
from edge.collectors.base import CollectorScheduler, error_text, run_collector
from edge.collectors.build import asset_collectors, guarded, projector_sources, secret
from edge.collectors.environment import EnvCollector, IioEnvDriver, SimulatedEnvDriver
from edge.collectors.projector import ProjectorCollector
from edge.collectors.reachability import (
    ICMP_ECHO_REPLY,
    Probe,
    ReachabilityCollector,
    SimulatedReachability,
    checksum,
    echo_request,
    parse_echo_reply,
    parse_ping_rtt,
)
from edge.config.classroom import ClassroomConfig
from edge.metrics import cpu_temp_c, host_metrics
from edge.projector.client import PjlinkProjector
from edge.projector.source import SimulatedProjector

T0 = datetime(2025, 9, 8, 7, 0, tzinfo=DISTRICT_TZ)


class Fake:
    def __init__(self, name, asset, interval_s, result=None, error=None):
        self.name, self.asset, self.interval_s = name, asset, interval_s
        self.result, self.error, self.calls = result or {"x.y": 1}, error, 0

    def collect(self, now):
        self.calls += 1
        if self.error:
            raise self.error
        return self.result


# -- scheduler ----------------------------------------------------------------------------


def test_each_collector_on_its_own_interval():
    fast, slow = Fake("fast", "A", 10), Fake("slow", "B", 60)
    scheduler = CollectorScheduler([fast, slow], start=T0, key="room")
    for second in range(0, 600, 5):
        scheduler.run_due(T0 + timedelta(seconds=second))
    assert fast.calls in (59, 60) and slow.calls in (9, 10)


def test_phase_keeps_rooms_apart_but_is_stable():
    def first_due(key):
        scheduler = CollectorScheduler([Fake("c", "A", 60)], start=T0, key=key)
        return next(s for s in range(61) if scheduler.due(T0 + timedelta(seconds=s)))

    assert first_due("room-1") == first_due("room-1")
    assert len({first_due(f"room-{n}") for n in range(10)}) > 3


def test_a_late_tick_skips_rather_than_bursts():
    collector = Fake("c", "A", 60)
    scheduler = CollectorScheduler([collector], start=T0, key="k")
    assert len(scheduler.run_due(T0 + timedelta(hours=1))) == 1
    assert scheduler.run_due(T0 + timedelta(hours=1, seconds=1)) == []
    assert len(scheduler.run_due(T0 + timedelta(hours=1, seconds=60))) == 1


def test_a_failing_collector_never_stops_the_others():
    broken = Fake("projector", "PJ-1", 60, error=ConnectionAbortedError("boom"))
    fine = Fake("net", "PC-1", 60, result={"net.reachable": True})
    scheduler = CollectorScheduler([broken, fine], start=T0, key="k")
    readings = scheduler.run_due(T0 + timedelta(minutes=2))
    assert {r.asset: dict(r.metrics) for r in readings} == {
        "PJ-1": {"collector.projector.ok": False,
                 "collector.projector.error": "ConnectionAbortedError: boom"},
        "PC-1": {"net.reachable": True, "collector.net.ok": True},
    }
    readings = scheduler.run_due(T0 + timedelta(minutes=4))  # and it keeps being polled
    assert broken.calls == 2 and fine.calls == 2 and len(readings) == 2


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (ValueError("bad"), "ValueError: bad"),
        (TimeoutError(), "TimeoutError"),
        (RuntimeError("x" * 300), "RuntimeError: " + "x" * 103 + "..."),
    ],
)
def test_error_text_is_short(exc, text):
    assert error_text(exc) == text
    assert len(error_text(exc)) <= 120


@pytest.mark.parametrize(("name", "interval"), [("Bad-Name", 60), ("ok", 0)])
def test_scheduler_refuses_bad_collectors(name, interval):
    with pytest.raises(ValueError):
        CollectorScheduler([Fake(name, None, interval)], start=T0, key="k")


def test_guarded_reading_reports_instead_of_raising():
    def boom():
        raise OSError("no /proc")

    assert guarded("host", boom)() == {"collector.host.ok": False,
                                       "collector.host.error": "OSError: no /proc"}
    assert guarded("host", lambda: {"a": 1})() == {"a": 1}


# -- reachability helpers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x00\x01\xf2\x03\xf4\xf5\xf6\xf7", 0x220D),  # RFC 1071 example
        (b"", 0xFFFF),
        (b"\xff", 0x00FF),
    ],
)
def test_internet_checksum(data, expected):
    assert checksum(data) == expected


def test_echo_request_checksums_to_zero_and_reply_parses():
    packet = echo_request(0x1234, 7)
    assert packet[0] == 8 and checksum(packet) == 0
    reply = bytes([ICMP_ECHO_REPLY]) + packet[1:]
    assert parse_echo_reply(reply, raw=False) == (0x1234, 7)
    ip_header = bytes([0x45]) + bytes(19)
    assert parse_echo_reply(ip_header + reply, raw=True) == (0x1234, 7)
    assert parse_echo_reply(packet, raw=False) is None  # a request is not a reply
    assert parse_echo_reply(b"\x00\x00", raw=False) is None
    assert struct.unpack("!H", packet[4:6])[0] == 0x1234


@pytest.mark.parametrize(
    ("output", "rtt"),
    [
        ("64 bytes from 10.0.0.5: icmp_seq=1 ttl=64 time=0.412 ms", 0.412),
        ("64 bytes from 10.0.0.5: seq=0 ttl=64 time=12.3 ms", 12.3),  # busybox
        ("64 bytes from 10.0.0.5: icmp_seq=1 ttl=128 time<1 ms", 1.0),
        ("1 packets transmitted, 0 received, 100% packet loss", None),
    ],
)
def test_ping_output(output, rtt):
    assert parse_ping_rtt(output) == rtt


@pytest.mark.parametrize(
    ("probe", "metrics"),
    [
        (Probe(True, 1.23456, "icmp"),
         {"net.reachable": True, "net.rtt_ms": 1.23, "net.method": "icmp"}),
        (Probe(False, None, "tcp"), {"net.reachable": False, "net.method": "tcp"}),
    ],
)
def test_probe_metrics(probe, metrics):
    assert probe.metrics() == metrics


def test_simulated_reachability():
    assert SimulatedReachability("PC-1").collect(T0)["net.reachable"] is True
    assert "net.rtt_ms" not in SimulatedReachability("PC-1", reachable=False).collect(T0)


# -- host and environment ------------------------------------------------------------------

Temp = namedtuple("Temp", "label current high critical")


@pytest.mark.parametrize(
    ("sensors", "temp"),
    [
        ({}, None),
        ({"cpu_thermal": [Temp("", 51.54, None, None)]}, 51.5),
        ({"nvme": [Temp("", 40, 0, 0)], "coretemp": [Temp("Package", 61.0, 0, 0)]}, 61.0),
        ({"nvme": [Temp("", 40, 0, 0)]}, 40.0),
        ({"acpitz": []}, None),
    ],
)
def test_cpu_temperature_pick(sensors, temp):
    assert cpu_temp_c(sensors) == temp


def test_host_reading_has_the_device_metrics(tmp_path):
    metrics = host_metrics(tmp_path)
    assert {"cpu.load1", "mem.used_pct", "disk.used_pct", "uptime_s"} <= set(metrics)
    assert 0 <= metrics["mem.used_pct"] <= 100 and metrics["uptime_s"] > 0


class _FakePsutil:
    """The few psutil calls edge.metrics makes, answering like a Pi."""

    @staticmethod
    def sensors_temperatures():
        return {"cpu_thermal": [Temp("", 48.0, None, None)]}

    @staticmethod
    def virtual_memory():
        return namedtuple("Mem", "percent")(37.5)

    @staticmethod
    def disk_usage(_path):
        return namedtuple("Disk", "percent")(12.0)

    @staticmethod
    def boot_time():
        return time.time() - 3600


@pytest.mark.parametrize("with_psutil", [False, True], ids=["stdlib", "psutil"])
def test_host_metrics_have_the_same_names_with_or_without_psutil(tmp_path, monkeypatch,
                                                                 with_psutil):
    # Gates and classrooms send these names whichever reader the image has; the simulator
    # and the hub's rules read them.
    monkeypatch.setattr(metrics_module, "_psutil", lambda: _FakePsutil if with_psutil else None)
    names = set(host_metrics(tmp_path))
    assert {"cpu.load1", "mem.used_pct", "disk.used_pct", "uptime_s"} <= names
    assert names <= {"cpu.load1", "cpu.temp_c", "mem.used_pct", "disk.used_pct", "uptime_s"}


def test_simulated_environment_is_plausible_and_stable():
    driver = SimulatedEnvDriver("ENV-1")
    readings = [driver.read(T0 + timedelta(hours=h)) for h in range(24)]
    assert all(20 < r.temp_c < 35 and 50 < r.humidity_pct <= 100 for r in readings)
    assert SimulatedEnvDriver("ENV-1").read(T0) == readings[0]
    afternoon, night = readings[8], readings[20]  # 15:00 and 03:00
    assert afternoon.temp_c > night.temp_c and afternoon.humidity_pct < night.humidity_pct


def test_iio_driver(tmp_path):
    device = tmp_path / "iio:device0"
    device.mkdir()
    (device / "in_temp_input").write_text("28350\n")
    (device / "in_humidityrelative_input").write_text("71200\n")
    collector = EnvCollector("ENV-1", IioEnvDriver("iio:device0", root=tmp_path))
    assert collector.collect(T0) == {"env.temp_c": 28.4, "env.humidity_pct": 71.2}
    (device / "in_humidityrelative_input").unlink()
    assert collector.collect(T0) == {"env.temp_c": 28.4}
    missing = EnvCollector("ENV-2", IioEnvDriver("iio:device9", root=tmp_path))
    reading = run_collector(missing, T0)
    assert reading.metrics["collector.env.ok"] is False
    assert "iio:device9" in str(reading.metrics["collector.env.error"])


def test_simulated_projector_as_a_collector():
    projector = SimulatedProjector("PJ-1", lamp_hours=10, power="on")
    assert ProjectorCollector(projector).collect(T0) == {
        "projector.reachable": True, "projector.power": "on", "projector.lamp_hours": 10,
        "projector.error": "ok", "projector.lamp_on": True,
    }


# -- config --------------------------------------------------------------------------------


def room(*assets, **kw):
    return ClassroomConfig.model_validate({"assets": list(assets), **kw})


def test_config_builds_the_right_collectors(monkeypatch):
    monkeypatch.setenv("PJ_PW", "s3cret")
    config = room(
        {"tag": "PJ-1", "kind": "projector", "source": "pjlink",
         "pjlink": {"host": "10.0.0.20", "password_env": "PJ_PW"}, "interval_s": 30},
        {"tag": "PJ-2", "lamp_hours": 100},
        {"tag": "PC-1", "kind": "pc", "source": "reachability",
         "reachability": {"host": "10.0.0.30", "port": 445}},
        {"tag": "TV-1", "kind": "tv"},
        {"tag": "ENV-1", "kind": "sensor"},
        {"tag": "ENV-2", "kind": "sensor", "source": "iio", "iio": {"device": "iio:device1"}},
        {"tag": "PJ-3", "kind": "projector", "source": "reachability",
         "reachability": {"host": "pj3.local", "method": "icmp"}},
        telemetry_interval_s=120,
    )
    sources = projector_sources(config)
    assert [type(s) for s in sources] == [PjlinkProjector, SimulatedProjector]
    assert sources[0]._password == "s3cret"  # type: ignore[union-attr]
    collectors = asset_collectors(config, {s.tag: s for s in sources})
    kinds = {c.asset: (type(c).__name__, c.interval_s) for c in collectors}
    assert kinds == {
        "PJ-1": ("ProjectorCollector", 30), "PJ-2": ("ProjectorCollector", 120),
        "PC-1": ("ReachabilityCollector", 120), "TV-1": ("SimulatedReachability", 120),
        "ENV-1": ("EnvCollector", 120), "ENV-2": ("EnvCollector", 120),
        "PJ-3": ("ReachabilityCollector", 120),
    }
    pc = next(c for c in collectors if c.asset == "PC-1")
    assert isinstance(pc, ReachabilityCollector) and pc.port == 445 and pc.method == "auto"


@pytest.mark.parametrize(
    ("asset", "message"),
    [
        ({"tag": "A", "kind": "pc", "source": "pjlink", "pjlink": {"host": "h"}},
         "a pc cannot have source pjlink"),
        ({"tag": "A", "kind": "sensor", "source": "reachability"},
         "a sensor cannot have source reachability"),
        ({"tag": "A", "source": "pjlink"}, "source pjlink needs a pjlink section"),
        ({"tag": "A", "kind": "tv", "source": "reachability"},
         "source reachability needs a reachability section"),
        ({"tag": "A", "source": "simulated", "pjlink": {"host": "h"}},
         "source is simulated but the asset has a pjlink section"),
        ({"tag": "A", "kind": "pc", "source": "reachability",
          "reachability": {"host": "h", "method": "tcp"}}, "method tcp needs a port"),
        ({"tag": "A", "source": "pjlink", "pjlink": {"host": "h", "password": "x"}},
         "Extra inputs"),
        ({"tag": "A", "source": "pjlink", "pjlink": {"host": "h", "password_env": "lower"}},
         "should match pattern"),
        ({"tag": "A", "interval_s": 1}, "greater than or equal to 5"),
        ({"tag": "A", "kind": "printer"}, "'projector', 'pc', 'tv' or 'sensor'"),
    ],
)
def test_config_mistakes(asset, message):
    with pytest.raises(ValidationError, match=message):
        room(asset)


def test_old_classroom_configs_still_load():
    config = room({"tag": "PJ-1", "kind": "projector", "source": "simulated", "lamp_hours": 1200})
    assert config.assets[0].source == "simulated" and config.assets[0].interval_s is None


def test_password_from_env_then_credential(tmp_path, monkeypatch):
    monkeypatch.delenv("PJ_PW", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    assert secret("PJ_PW", "pjlink-101") is None
    (tmp_path / "pjlink-101").write_text("from-systemd\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert secret("PJ_PW", "pjlink-101") == "from-systemd"
    monkeypatch.setenv("PJ_PW", "from-env")
    assert secret("PJ_PW", "pjlink-101") == "from-env"
    assert secret(None, None) is None


def test_equipment_example_loads():
    from pathlib import Path

    from edge.config import load_config

    example = Path(__file__).resolve().parents[2] / "firmware_configs"
    config = load_config(example / "classroom-equipment.example.yaml")
    assert config.classroom is not None
    assert [(a.kind, a.source) for a in config.classroom.assets] == [
        ("projector", "pjlink"), ("pc", "reachability"), ("tv", "reachability"),
        ("sensor", "iio"),
    ]
