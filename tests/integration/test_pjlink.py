"""The PJLink client against the simulator server, over real TCP on free ports."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime, timedelta

import pytest
from typer.testing import CliRunner

from edge.clock import DISTRICT_TZ, ManualClock
from edge.projector.client import PjlinkProjector, query, read_projector
from edge.projector.codec import PjlinkAuthError, PjlinkProtocolError
from smartschool.cli.pjlink import PASSWORD_ENV, app
from smartschool.demo.pjlink_simulator import ProjectorServerThread, ProjectorState
from tests.conftest import free_port

pytestmark = pytest.mark.integration

T0 = datetime(2025, 9, 8, 7, 0, tzinfo=DISTRICT_TZ)


@pytest.fixture
def projector():
    with ProjectorServerThread(ProjectorState(power="on", lamp_hours=1500)) as sim:
        yield sim


def test_reads_a_projector_without_password(projector):
    reading = read_projector("127.0.0.1", projector.port)
    assert reading.reachable and reading.power == "on" and reading.lamp_hours == 1500
    assert reading.lamp_on is True and reading.error == "ok" and reading.input == "digital-1"
    assert reading.name == "Simulated projector" and reading.model == "SIM-1"
    assert projector.server.sessions == 1  # every query in one session


def test_md5_handshake():
    with ProjectorServerThread(ProjectorState(password="JBMIAProjectorLink")) as sim:
        reading = read_projector("127.0.0.1", sim.port, "JBMIAProjectorLink")
        assert reading.reachable and reading.power == "off" and reading.lamp_on is False
        # the digest authenticates the session with its first command only (PJLink spec)
        assert (sim.server.sessions, sim.server.digests) == (1, 1)
        assert reading.input is None  # ERR3 while off: unknown, not an error
        with pytest.raises(PjlinkAuthError, match="ERRA"):
            read_projector("127.0.0.1", sim.port, "wrong")
        with pytest.raises(PjlinkAuthError, match="none is configured"):
            read_projector("127.0.0.1", sim.port)


def test_faults_and_power_states(projector):
    projector.state.set_fault("filter", 1)
    reading = read_projector("127.0.0.1", projector.port)
    assert reading.error == "filter" and reading.errors["filter"] == 1
    assert reading.power == "on"
    projector.state.set_fault("lamp", 2)  # a lamp error switches the projector off
    reading = read_projector("127.0.0.1", projector.port)
    assert (reading.error, reading.power, reading.lamp_on) == ("lamp", "off", False)
    assert reading.errors == {"fan": 0, "lamp": 2, "temp": 0, "cover": 0, "filter": 1,
                              "other": 0}
    projector.state.clear_faults()
    for power in ("warming", "cooling"):
        projector.state.set_power(power)
        assert read_projector("127.0.0.1", projector.port).power == power


def test_power_command_and_errors(projector):
    answers = query("127.0.0.1", projector.port, commands=["POWR", "XXXX", "CLSS"])
    assert answers["POWR"].value == "1" and answers["XXXX"].error == "ERR1"
    assert answers["CLSS"].value == "1"


def test_lamp_hours_advance_with_the_clock():
    clock = ManualClock(T0)
    state = ProjectorState(power="off", lamp_hours=100, clock=clock.now)
    with ProjectorServerThread(state) as sim:
        assert read_projector("127.0.0.1", sim.port).lamp_hours == 100
        clock.advance(3600)
        assert read_projector("127.0.0.1", sim.port).lamp_hours == 100  # off: no wear
        state.set_power("on")
        clock.advance(3 * 3600)
        assert read_projector("127.0.0.1", sim.port).lamp_hours == 103


def test_off_at_the_mains_is_a_reading_not_an_error():
    port = free_port()  # nothing listens: connection refused
    started = time.monotonic()
    reading = PjlinkProjector("PJ-1", "127.0.0.1", port).read(T0)
    assert not reading.reachable and reading.telemetry() == {"projector.reachable": False}
    assert time.monotonic() - started < 5


def test_a_silent_peer_times_out_as_unreachable():
    with socket.socket() as listener:  # accepts (the kernel does) but never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        started = time.monotonic()
        reading = read_projector("127.0.0.1", port, connect_timeout=1, session_timeout=1.0)
        assert not reading.reachable
        assert time.monotonic() - started < 5


def test_a_peer_that_is_not_a_projector_raises():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def serve():
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
                time.sleep(0.5)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        with pytest.raises(PjlinkProtocolError):
            read_projector("127.0.0.1", port, session_timeout=5)
        thread.join(5)


def test_several_controllers_at_once(projector):
    results: list[bool] = []

    def ask():
        results.append(read_projector("127.0.0.1", projector.port).reachable)

    threads = [threading.Thread(target=ask) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert results == [True] * 5


# -- the technician's tool --------------------------------------------------------------


def test_cli_prints_json(projector, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    result = CliRunner().invoke(app, ["127.0.0.1", "--port", str(projector.port)])
    assert result.exit_code == 0, result.output
    state = json.loads(result.output)
    assert state["projector.power"] == "on" and state["projector.lamp_hours"] == 1500
    assert state["port"] == projector.port and state["projector.reachable"] is True


def test_cli_password_unreachable_and_bad_password(monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with ProjectorServerThread(ProjectorState(password="pw", lamp_hours=7)) as sim:
        ok = CliRunner().invoke(app, ["127.0.0.1", "--port", str(sim.port), "--password", "pw"])
        assert ok.exit_code == 0 and json.loads(ok.output)["projector.lamp_hours"] == 7
        monkeypatch.setenv(PASSWORD_ENV, "pw")
        env = CliRunner().invoke(app, ["127.0.0.1", "--port", str(sim.port)])
        assert env.exit_code == 0, env.output
        bad = CliRunner().invoke(app, ["127.0.0.1", "--port", str(sim.port), "--password", "x"])
        assert bad.exit_code == 2 and "ERRA" in json.loads(bad.output)["error"]
    off = CliRunner().invoke(app, ["127.0.0.1", "--port", str(free_port()), "--timeout", "1"])
    assert off.exit_code == 1 and json.loads(off.output)["projector.reachable"] is False


def test_lamp_hours_over_a_day_of_the_simulated_clock():
    # the demo's use: a compressed clock wears the lamp while the projector is on
    clock = ManualClock(T0)
    state = ProjectorState(power="on", lamp_hours=0, clock=clock.now)
    with ProjectorServerThread(state) as sim:
        for _ in range(8):
            clock.advance(timedelta(hours=1).total_seconds())
        assert read_projector("127.0.0.1", sim.port).lamp_hours == 8


def test_mounted_under_smartschool_edge(projector):
    from smartschool.cli.edge import app as edge_app

    result = CliRunner().invoke(edge_app, ["pjlink", "127.0.0.1", "--port", str(projector.port)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["projector.power"] == "on"


def test_simulator_wants_the_digest_first_then_accepts_commands_without_it():
    from edge.projector.codec import auth_digest, build_command

    with ProjectorServerThread(ProjectorState(password="pw")) as sim, \
            socket.create_connection(("127.0.0.1", sim.port), timeout=5) as sock:
        greeting = sock.recv(64).decode().strip().split()
        sock.sendall(build_command("POWR", digest=auth_digest(greeting[2], "pw")))
        assert sock.recv(64) == b"%1POWR=0\r"
        sock.sendall(build_command("LAMP"))
        assert sock.recv(64) == b"%1LAMP=0 0\r"
    with ProjectorServerThread(ProjectorState(password="pw")) as sim, \
            socket.create_connection(("127.0.0.1", sim.port), timeout=5) as sock:
        sock.recv(64)
        sock.sendall(build_command("POWR"))  # no digest on the first command
        assert sock.recv(64) == b"PJLINK ERRA\r"
