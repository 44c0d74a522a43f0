"""A blocking PJLink client with timeouts, for the thread-based agent and the field tool.

A projector switched off at the mains refuses or ignores the connection: that is
a reading with ``reachable=False``, not an exception. A wrong password or a peer
that does not speak PJLink raises (the collector reports it as a failure).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from datetime import datetime

from edge.projector.codec import (
    MAX_LINE,
    PJLINK_PORT,
    QUERIES,
    TERMINATOR,
    Answer,
    PjlinkAuthError,
    PjlinkProtocolError,
    auth_digest,
    build_command,
    decode_line,
    parse_answer,
    parse_greeting,
    reading_from_answers,
)
from edge.projector.source import ProjectorReading

CONNECT_TIMEOUT_S = 3.0  # a projector on the LAN answers in milliseconds; off, never
SESSION_TIMEOUT_S = 8.0  # the whole query, so a stalled projector cannot hold the agent


class _Lines:
    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._buf = b""

    def read(self) -> str:
        while TERMINATOR not in self._buf:
            if len(self._buf) > MAX_LINE:
                raise PjlinkProtocolError("line longer than PJLink allows")
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("PJLink session timed out")
            self._sock.settimeout(left)
            chunk = self._sock.recv(MAX_LINE)
            if not chunk:
                raise ConnectionResetError("projector closed the connection")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(TERMINATOR)
        return decode_line(line)


def query(
    host: str,
    port: int = PJLINK_PORT,
    password: str | None = None,
    *,
    commands: Iterable[str] = QUERIES,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    session_timeout: float = SESSION_TIMEOUT_S,
) -> dict[str, Answer]:
    """One session: greeting, handshake, each query once. Raises ``OSError`` when the
    projector cannot be reached (refused, timed out, reset)."""
    deadline = time.monotonic() + session_timeout
    with socket.create_connection((host, port), timeout=connect_timeout) as sock:
        lines = _Lines(sock, deadline)
        greeting = parse_greeting(lines.read())
        digest = None
        if greeting.auth:
            if password is None:
                raise PjlinkAuthError("projector asks for a password and none is configured")
            assert greeting.random is not None
            digest = auth_digest(greeting.random, password)
        answers: dict[str, Answer] = {}
        for command in commands:
            # PJLink authenticates the session by its first command; the spec does not
            # ask for the digest again and strict projectors answer ERRA when it is.
            sock.sendall(build_command(command, digest=digest))
            digest = None
            answer = parse_answer(lines.read())
            if answer.command != command:
                raise PjlinkProtocolError(f"asked {command}, projector answered {answer.command}")
            answers[command] = answer
        return answers


def read_projector(
    host: str,
    port: int = PJLINK_PORT,
    password: str | None = None,
    *,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    session_timeout: float = SESSION_TIMEOUT_S,
) -> ProjectorReading:
    try:
        answers = query(host, port, password, connect_timeout=connect_timeout,
                        session_timeout=session_timeout)
    except OSError:  # refused, timed out, reset, no route: off at the mains or unplugged
        return ProjectorReading.unreachable()
    return reading_from_answers(answers)


class PjlinkProjector:
    """A ``ProjectorSource`` over PJLink. Each read is one short TCP session."""

    def __init__(
        self,
        tag: str,
        host: str,
        port: int = PJLINK_PORT,
        password: str | None = None,
        *,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        session_timeout: float = SESSION_TIMEOUT_S,
    ) -> None:
        self.tag = tag
        self.host = host
        self.port = port
        self._password = password
        self._connect_timeout = connect_timeout
        self._session_timeout = session_timeout

    def read(self, now: datetime) -> ProjectorReading:
        return read_projector(self.host, self.port, self._password,
                              connect_timeout=self._connect_timeout,
                              session_timeout=self._session_timeout)
