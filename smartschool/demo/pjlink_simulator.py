"""A PJLink class 1 projector as an asyncio TCP server, for the tests and the demo.

Settable power, lamp hours, faults (per ERST component, warning or error),
input, name and password; with a clock, lamp hours advance while the lamp is on.
``ProjectorServerThread`` runs one in a background thread for synchronous callers.

Run one by hand (for the technician tool)::

    python -m smartschool.demo.pjlink_simulator --port 4352 --password secret \
        --lamp-hours 1500 --on
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from edge.projector.codec import (
    MAX_LINE,
    POWER_CODES,
    TERMINATOR,
    Command,
    PjlinkProtocolError,
    auth_digest,
    format_answer,
    format_errors,
    parse_command,
)
from edge.projector.source import FAULTS, Fault, Power, Severity

IDLE_TIMEOUT_S = 30.0  # real projectors drop a silent controller after 30 s


@dataclass
class ProjectorState:
    """What the simulated projector answers. Mutate it (under ``lock``) from any thread."""

    power: Power = "off"
    lamp_hours: float = 0.0
    faults: dict[Fault, Severity] = field(default_factory=dict)
    input: str = "31"
    name: str = "Simulated projector"
    manufacturer: str = "SmartSchool"
    model: str = "SIM-1"
    password: str | None = None
    clock: Callable[[], datetime] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _since: datetime | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.clock is not None:
            self._since = self.clock()  # wear counts from the projector's creation

    def advance(self) -> None:
        """Wear the lamp for the time it was on (with a clock); caller holds ``lock``."""
        if self.clock is None:
            return
        now = self.clock()
        if self._since is not None and self.power in ("on", "warming") and now > self._since:
            self.lamp_hours += (now - self._since).total_seconds() / 3600
        self._since = now

    def set_power(self, power: Power) -> None:
        with self.lock:
            self.advance()
            self.power = power

    def set_fault(self, fault: Fault, level: Severity = 2) -> None:
        """An error on the lamp, fan or temperature switches the lamp off, as real ones do."""
        with self.lock:
            self.advance()
            if level:
                self.faults[fault] = level
            else:
                self.faults.pop(fault, None)
            if level == 2 and fault in ("lamp", "fan", "temp"):
                self.power = "off"

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def answer(self, command: Command) -> str:
        """The value part of the answer to one command (``ERRn`` included)."""
        with self.lock:
            self.advance()
            return self._answer(command.command, command.param.strip())

    def _answer(self, command: str, param: str) -> str:
        if command == "POWR":
            if param == "?":
                return POWER_CODES[self.power]
            if param not in ("0", "1"):
                return "ERR2"
            if self.faults.get("lamp") == 2 and param == "1":
                return "ERR4"
            self.power = "on" if param == "1" else "off"
            return "OK"
        if param != "?":
            return "ERR2" if command in ("LAMP", "ERST", "NAME", "INF1", "INF2") else "ERR1"
        lamp_on = self.power in ("on", "warming")
        queries = {
            "LAMP": f"{int(self.lamp_hours + 1e-6)} {int(lamp_on)}",  # 6 x 1/6 h is 1 h
            "ERST": format_errors(self.faults),
            "INPT": self.input if self.power == "on" else "ERR3",
            "NAME": self.name,
            "INF1": self.manufacturer,
            "INF2": self.model,
            "INFO": f"{self.manufacturer} {self.model}",
            "CLSS": "1",
        }
        return queries.get(command, "ERR1")


class ProjectorServer:
    """The TCP side: greeting, MD5 handshake, one answer per command line."""

    def __init__(self, state: ProjectorState | None = None) -> None:
        self.state = state or ProjectorState()
        self.sessions = 0
        # Commands that carried an auth digest: a controller that follows the spec
        # sends one per session (tests check it).
        self.digests = 0
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the server first"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._session, host, port)
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sessions += 1
        password = self.state.password
        random = secrets.token_hex(4) if password is not None else None
        expected = auth_digest(random, password) if random and password is not None else None
        authed = False
        try:
            writer.write(f"PJLINK 1 {random}\r".encode() if random else b"PJLINK 0\r")
            await writer.drain()
            while True:
                raw = await asyncio.wait_for(reader.readuntil(TERMINATOR), IDLE_TIMEOUT_S)
                if len(raw) > MAX_LINE:
                    return
                try:
                    command = parse_command(raw.decode("ascii", errors="replace"))
                except PjlinkProtocolError:
                    writer.write(b"PJLINK ERRA\r" if expected else b"%1XXXX=ERR1\r")
                    await writer.drain()
                    if expected:
                        return
                    continue
                # The digest comes with the first command; later ones may repeat it.
                if expected is not None and command.digest != expected and not (
                        authed and command.digest is None):
                    writer.write(b"PJLINK ERRA\r")
                    await writer.drain()
                    return
                authed = True
                if command.digest is not None:
                    self.digests += 1
                if command.pjclass != "1":
                    writer.write(format_answer(command.command, "ERR1", command.pjclass))
                else:
                    writer.write(format_answer(command.command, self.state.answer(command)))
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ConnectionError):
            return
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


class ProjectorFarm:
    """Many ``ProjectorServer``s on one event loop in one daemon thread: the demo
    runs a projector per classroom this way without a thread each."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.servers: list[ProjectorServer] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pjlink-sim",
                                        daemon=True)

    def start(self) -> ProjectorFarm:
        self._thread.start()
        return self

    def add(self, state: ProjectorState | None = None, port: int = 0) -> ProjectorServer:
        """Start one more projector (on a free port unless ``port`` is given)."""
        server = ProjectorServer(state)
        asyncio.run_coroutine_threadsafe(server.start(self.host, port), self._loop).result(10)
        self.servers.append(server)
        return server

    def stop(self) -> None:
        if self._thread.is_alive():
            for server in self.servers:
                asyncio.run_coroutine_threadsafe(server.stop(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()


class ProjectorServerThread:
    """One ``ProjectorServer`` on its own event loop in a daemon thread.

    ``with ProjectorServerThread(state) as sim: read_projector("127.0.0.1", sim.port)``
    """

    def __init__(self, state: ProjectorState | None = None, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self._farm = ProjectorFarm(host)
        self._state = state or ProjectorState()
        self._port = port
        self.host = host
        self.server = ProjectorServer(self._state)  # replaced by the started one

    @property
    def state(self) -> ProjectorState:
        return self.server.state

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> ProjectorServerThread:
        self._farm.start()
        self.server = self._farm.add(self._state, self._port)
        return self

    def stop(self) -> None:
        self._farm.stop()

    def __enter__(self) -> ProjectorServerThread:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A simulated PJLink class 1 projector.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4352)
    parser.add_argument("--password", default=None)
    parser.add_argument("--lamp-hours", type=float, default=0.0)
    parser.add_argument("--on", action="store_true", help="start powered on")
    parser.add_argument("--fault", action="append", default=[], metavar="PART[=1|2]",
                        help="fan, lamp, temp, cover, filter or other (repeatable)")
    args = parser.parse_args(argv)
    state = ProjectorState(power="on" if args.on else "off", lamp_hours=args.lamp_hours,
                           password=args.password)
    for spec in args.fault:
        part, _, level = spec.partition("=")
        fault = next((f for f in FAULTS if f == part), None)
        if fault is None or level not in ("", "1", "2"):
            parser.error(f"--fault {spec}: PART is one of {', '.join(FAULTS)}, level 1 or 2")
        state.faults[fault] = 1 if level == "1" else 2

    async def serve() -> None:
        server = ProjectorServer(state)
        port = await server.start(args.host, args.port)
        print(f"PJLink projector simulator on {args.host}:{port}", flush=True)
        await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
