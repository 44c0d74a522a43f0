"""PJLink class 1 on the wire, as pure functions: no sockets, no clocks.

A session: the projector greets with ``PJLINK 0`` (no password) or
``PJLINK 1 <8 hex random>``; with a password every command is prefixed by
``md5(random + password)`` in lower-case hex. Commands are ``%1CMND param\\r``,
answers ``%1CMND=value\\r`` or ``%1CMND=ERRn`` (1 undefined command, 2 out of
parameter, 3 unavailable time, 4 projector failure); a wrong password gets
``PJLINK ERRA`` and the connection is closed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast

from edge.projector.source import FAULTS, Fault, Power, ProjectorReading, Severity

PJLINK_PORT = 4352
MAX_LINE = 256  # class 1 answers are at most 136 bytes with the terminator
TERMINATOR = b"\r"

QUERIES = ("POWR", "LAMP", "ERST", "INPT", "NAME", "INF1", "INF2")
ErrorCode = Literal["ERR1", "ERR2", "ERR3", "ERR4"]
ERROR_MEANING: Mapping[ErrorCode, str] = {
    "ERR1": "undefined command",
    "ERR2": "out of parameter",
    "ERR3": "unavailable time",
    "ERR4": "projector failure",
}
POWER_STATES: Mapping[str, Power] = {"0": "off", "1": "on", "2": "cooling", "3": "warming"}
POWER_CODES: Mapping[Power, str] = {v: k for k, v in POWER_STATES.items()}
INPUT_TYPES: Mapping[str, str] = {
    "1": "rgb", "2": "video", "3": "digital", "4": "storage", "5": "network",
}
SHORT_TEXT = 64  # metric string values are capped, names of projectors are free text

_GREETING = re.compile(r"^PJLINK (?:(0)|1 ([0-9A-Fa-f]{8}))$")
_ANSWER = re.compile(r"^%([12])([A-Z0-9]{4})=(.*)$", re.DOTALL)
_COMMAND = re.compile(r"^([0-9a-f]{32})?%([12])([A-Z0-9]{4}) ?(.*)$", re.DOTALL)


class PjlinkError(Exception):
    """Base of what a PJLink session can raise."""


class PjlinkProtocolError(PjlinkError):
    """The peer does not speak PJLink (or not class 1)."""


class PjlinkAuthError(PjlinkError):
    """The password is wrong or missing (``PJLINK ERRA``)."""


@dataclass(frozen=True, slots=True)
class Greeting:
    auth: bool
    random: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    command: str
    value: str | None  # None when the projector answered an error
    error: ErrorCode | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Command:
    command: str
    param: str
    digest: str | None = None
    pjclass: str = "1"


def decode_line(raw: bytes) -> str:
    """Bytes of one line without the terminator; names may be in any 8-bit encoding."""
    return raw.rstrip(b"\r\n").decode("utf-8", errors="replace")


def parse_greeting(line: str) -> Greeting:
    match = _GREETING.match(line.strip())
    if match is None:
        if line.strip() == "PJLINK ERRA":
            raise PjlinkAuthError("projector refused the password (PJLINK ERRA)")
        raise PjlinkProtocolError(f"not a PJLink greeting: {line[:40]!r}")
    if match.group(1) is not None:
        return Greeting(auth=False)
    return Greeting(auth=True, random=match.group(2))


def auth_digest(random: str, password: str) -> str:
    """The 32 hex digits a controller prefixes to its commands (PJLink's scheme, not ours)."""
    return hashlib.md5((random + password).encode(), usedforsecurity=False).hexdigest()


def build_command(command: str, param: str = "?", *, digest: str | None = None) -> bytes:
    if not re.fullmatch(r"[A-Z0-9]{4}", command):
        raise ValueError(f"a PJLink command is 4 upper-case letters or digits: {command!r}")
    if "\r" in param or len(param) > 128:
        raise ValueError("a PJLink parameter is one line of at most 128 characters")
    return f"{digest or ''}%1{command} {param}\r".encode()


def parse_answer(line: str) -> Answer:
    line = line.strip("\r\n")
    if line == "PJLINK ERRA":
        raise PjlinkAuthError("projector refused the password (PJLINK ERRA)")
    match = _ANSWER.match(line)
    if match is None:
        raise PjlinkProtocolError(f"not a PJLink answer: {line[:40]!r}")
    _, command, value = match.groups()
    if value in ERROR_MEANING:
        return Answer(command, None, cast(ErrorCode, value))
    return Answer(command, value)


def parse_command(line: str) -> Command:
    """The simulator's side: ``[digest]%1CMND param``."""
    match = _COMMAND.match(line.strip("\r\n"))
    if match is None:
        raise PjlinkProtocolError(f"not a PJLink command: {line[:40]!r}")
    digest, pjclass, command, param = match.groups()
    return Command(command, param, digest, pjclass)


def format_answer(command: str, value: str, pjclass: str = "1") -> bytes:
    return f"%{pjclass}{command}={value}\r".encode()


def parse_power(value: str) -> Power:
    try:
        return POWER_STATES[value.strip()]
    except KeyError:
        raise PjlinkProtocolError(f"POWR answer out of range: {value!r}") from None


def parse_lamps(value: str) -> list[tuple[int, bool]]:
    """``hours on [hours on ...]``: one pair per lamp (up to 8)."""
    parts = value.split()
    if not parts or len(parts) % 2 or len(parts) > 16:
        raise PjlinkProtocolError(f"LAMP answer is not pairs of hours and 0/1: {value!r}")
    lamps = []
    for hours, on in zip(parts[::2], parts[1::2], strict=True):
        if not hours.isdigit() or on not in ("0", "1"):
            raise PjlinkProtocolError(f"LAMP answer is not pairs of hours and 0/1: {value!r}")
        lamps.append((int(hours), on == "1"))
    return lamps


def parse_errors(value: str) -> dict[Fault, Severity]:
    """ERST: six digits, fan, lamp, temperature, cover, filter, other; 0 ok 1 warning 2 error."""
    value = value.strip()
    if len(value) != len(FAULTS) or any(c not in "012" for c in value):
        raise PjlinkProtocolError(f"ERST answer is not six digits 0-2: {value!r}")
    return {fault: cast(Severity, int(c)) for fault, c in zip(FAULTS, value, strict=True)}


def format_errors(errors: Mapping[Fault, Severity]) -> str:
    return "".join(str(errors.get(fault, 0)) for fault in FAULTS)


def summarize_errors(errors: Mapping[Fault, Severity]) -> str:
    """``ok``, or the worst component (an error before a warning, then ERST order)."""
    worst = max(errors.values(), default=0)
    if worst == 0:
        return "ok"
    return next(fault for fault in FAULTS if errors.get(fault, 0) == worst)


def input_label(value: str) -> str:
    """INPT ``31`` -> ``digital-1``; an unknown type is kept as sent."""
    value = value.strip()
    if len(value) == 2 and value[0] in INPUT_TYPES and value[1].isalnum():
        return f"{INPUT_TYPES[value[0]]}-{value[1]}"
    return value[:SHORT_TEXT]


def reading_from_answers(answers: Mapping[str, Answer]) -> ProjectorReading:
    """A reading from the answers of one session. A query the projector could not
    answer (ERR3 while warming up, ERR1 on a model without it) is left unknown."""

    def ok(command: str) -> str | None:
        answer = answers.get(command)
        return answer.value if answer is not None and answer.ok else None

    power = parse_power(v) if (v := ok("POWR")) is not None else None
    lamps = parse_lamps(v) if (v := ok("LAMP")) is not None else []
    errors = parse_errors(v) if (v := ok("ERST")) is not None else {}
    text = {c: (v.strip()[:SHORT_TEXT] or None) if (v := ok(c)) is not None else None
            for c in ("NAME", "INF1", "INF2")}
    return ProjectorReading(
        power=power,
        lamp_hours=max(hours for hours, _ in lamps) if lamps else None,
        error=summarize_errors(errors) if errors else None,
        lamp_on=any(on for _, on in lamps) if lamps else None,
        errors=errors,
        input=input_label(v) if (v := ok("INPT")) is not None else None,
        name=text["NAME"],
        manufacturer=text["INF1"],
        model=text["INF2"],
    )
