"""core.sdnotify: the address rules and the beat's pace as tables, the datagram on a
real unix socket (issue #16)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from core.sdnotify import Heartbeat, beat_due, notify, socket_address


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("/run/systemd/notify", "/run/systemd/notify"),
        ("@/org/freedesktop/systemd1/notify/123", "\0/org/freedesktop/systemd1/notify/123"),
        ("vsock:2:1234", None),
        ("relative/path", None),
    ],
)
def test_socket_address(value, expected) -> None:
    assert socket_address(value) == expected


@pytest.mark.parametrize(
    ("now", "last", "every", "due"),
    [
        (10.0, None, 1.0, True),
        (10.0, 9.5, 1.0, False),
        (10.0, 9.0, 1.0, True),
        (10.0, 8.0, 5.0, False),
    ],
)
def test_beat_due(now, last, every, due) -> None:
    assert beat_due(now, last, every) is due


@pytest.fixture
def listener(tmp_path: Path):
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(5)
        yield sock, {"NOTIFY_SOCKET": str(path)}


def test_notify_sends_a_datagram(listener) -> None:
    sock, env = listener
    assert notify("READY=1", env)
    assert sock.recv(256) == b"READY=1"


def test_nothing_sent_outside_systemd(tmp_path: Path) -> None:
    assert not notify("READY=1", {})
    # a socket that is gone is no error for the caller: the manager restarted
    assert not notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "gone")})


def test_heartbeat_says_ready_once_then_watchdog_at_its_pace(listener) -> None:
    sock, env = listener
    beat = Heartbeat(every=0.0)
    assert beat.beat(env)
    assert sock.recv(256) == b"READY=1\nWATCHDOG=1"
    assert beat.beat(env)
    assert sock.recv(256) == b"WATCHDOG=1"

    slow = Heartbeat(every=3600.0)
    assert slow.beat(env) and not slow.beat(env)  # the second is within the pace
    assert sock.recv(256) == b"READY=1\nWATCHDOG=1"
    sock.setblocking(False)
    with pytest.raises(BlockingIOError):
        sock.recv(256)  # and nothing more was sent


def test_abstract_socket_is_reached(tmp_path: Path) -> None:
    name = f"smartschool-test-{tmp_path.name}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert notify("WATCHDOG=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(64) == b"WATCHDOG=1"
