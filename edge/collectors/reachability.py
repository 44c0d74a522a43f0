"""Is a PC, TV or other networked device up, and how far away: ICMP where permitted,
else a TCP connect to a configured port.

ICMP needs one of: an unprivileged ICMP socket (``net.ipv4.ping_group_range``
covers our group), a raw socket (root or CAP_NET_RAW), or the ``ping`` binary
(setuid or with the capability). Windows PCs drop ICMP echo by default, so
``auto`` also tries the TCP port (e.g. 445, 3389) when ICMP gets no answer.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import socket
import struct
import subprocess
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from edge.metrics import MetricValue

Method = Literal["auto", "icmp", "tcp"]
PROBE_TIMEOUT_S = 1.0
ICMP_ECHO_REQUEST = 8
ICMP_ECHO_REPLY = 0
_PING_RTT = re.compile(r"time[=<]\s*([0-9.]+)\s*ms")


class ProbeUnavailable(RuntimeError):
    """Neither ICMP is permitted here nor a TCP port is configured."""


@dataclass(frozen=True, slots=True)
class Probe:
    reachable: bool
    rtt_ms: float | None
    method: Literal["icmp", "tcp"]

    def metrics(self) -> dict[str, MetricValue]:
        out: dict[str, MetricValue] = {"net.reachable": self.reachable, "net.method": self.method}
        if self.rtt_ms is not None:
            out["net.rtt_ms"] = round(self.rtt_ms, 2)
        return out


# -- pure helpers ------------------------------------------------------------------------


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of an ICMP message."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(ident: int, seq: int, payload: bytes = b"smartschool") -> bytes:
    header = struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, 0, ident & 0xFFFF, seq & 0xFFFF)
    csum = checksum(header + payload)
    return struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, csum, ident & 0xFFFF,
                       seq & 0xFFFF) + payload


def parse_echo_reply(packet: bytes, *, raw: bool) -> tuple[int, int] | None:
    """(ident, seq) of an echo reply; a raw socket's packet starts with the IP header."""
    if raw:
        if len(packet) < 20:
            return None
        packet = packet[(packet[0] & 0x0F) * 4:]
    if len(packet) < 8 or packet[0] != ICMP_ECHO_REPLY:
        return None
    ident, seq = struct.unpack("!HH", packet[4:8])
    return ident, seq


def parse_ping_rtt(output: str) -> float | None:
    """The round-trip time in ms from ``ping -c1`` output (iputils, busybox)."""
    match = _PING_RTT.search(output)
    return float(match.group(1)) if match else None


# -- probes ------------------------------------------------------------------------------


def tcp_probe(host: str, port: int, timeout: float = PROBE_TIMEOUT_S) -> Probe:
    """Reachable when the port accepts a connection; refused, timed out or no route is not."""
    started = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return Probe(True, (time.perf_counter() - started) * 1000, "tcp")
    except OSError:
        return Probe(False, None, "tcp")


def _icmp_socket() -> tuple[socket.socket, bool] | None:
    for kind, raw in ((socket.SOCK_DGRAM, False), (socket.SOCK_RAW, True)):
        try:
            return socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP), raw
        except OSError:
            continue
    return None


def _socket_ping(sock: socket.socket, raw: bool, address: str, timeout: float) -> Probe:
    ident = os.getpid() & 0xFFFF
    seq = int(time.monotonic() * 1000) & 0xFFFF
    with sock:
        started = time.perf_counter()
        sock.sendto(echo_request(ident, seq), (address, 0))
        deadline = started + timeout
        while (left := deadline - time.perf_counter()) > 0:
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                break
            packet, _ = sock.recvfrom(2048)
            reply = parse_echo_reply(packet, raw=raw)
            # The kernel rewrites the id of an unprivileged ICMP socket: match on seq there.
            if reply is not None and reply[1] == seq and (not raw or reply[0] == ident):
                return Probe(True, (time.perf_counter() - started) * 1000, "icmp")
    return Probe(False, None, "icmp")


def icmp_probe(host: str, timeout: float = PROBE_TIMEOUT_S) -> Probe | None:
    """One echo request; ``None`` when ICMP is not permitted to this process."""
    try:
        address = socket.gethostbyname(host)
    except OSError:
        return Probe(False, None, "icmp")
    opened = _icmp_socket()
    if opened is not None:
        try:
            return _socket_ping(*opened, address, timeout)
        except OSError:
            return Probe(False, None, "icmp")
    ping = shutil.which("ping")
    if ping is None:
        return None
    try:
        done = subprocess.run(
            [ping, "-c1", "-W", str(max(1, round(timeout))), address],
            capture_output=True, text=True, timeout=timeout + 2, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return Probe(False, None, "icmp")
    if done.returncode == 2 and "permitted" in done.stderr.lower():
        return None
    return Probe(done.returncode == 0, parse_ping_rtt(done.stdout), "icmp")


def probe(host: str, *, port: int | None = None, method: Method = "auto",
          timeout: float = PROBE_TIMEOUT_S) -> Probe:
    if method == "tcp":
        if port is None:
            raise ProbeUnavailable("method tcp needs a port")
        return tcp_probe(host, port, timeout)
    icmp = icmp_probe(host, timeout)
    if method == "icmp":
        if icmp is None:
            raise ProbeUnavailable("ICMP is not permitted here (no ICMP socket, no ping)")
        return icmp
    if icmp is not None and (icmp.reachable or port is None):
        return icmp
    if port is None:
        raise ProbeUnavailable("ICMP is not permitted here and no TCP port is configured")
    return tcp_probe(host, port, timeout)


class ReachabilityCollector:
    """``net.reachable`` and ``net.rtt_ms`` of one asset."""

    name = "net"

    def __init__(self, asset: str, host: str, *, port: int | None = None,
                 method: Method = "auto", timeout: float = PROBE_TIMEOUT_S,
                 interval_s: float = 60) -> None:
        self.asset: str | None = asset
        self.host = host
        self.port = port
        self.method: Method = method
        self.timeout = timeout
        self.interval_s = interval_s

    def collect(self, now: datetime) -> Mapping[str, MetricValue]:
        return probe(self.host, port=self.port, method=self.method,
                     timeout=self.timeout).metrics()


class SimulatedReachability:
    """Always up, with a plausible LAN round trip: for the demo and configs without hardware."""

    name = "net"

    def __init__(self, asset: str, *, interval_s: float = 60, reachable: bool = True) -> None:
        self.asset: str | None = asset
        self.interval_s = interval_s
        self.reachable = reachable

    def collect(self, now: datetime) -> Mapping[str, MetricValue]:
        jitter = zlib.crc32(f"{self.asset}/{now.minute}".encode()) % 100 / 100
        rtt = 0.4 + jitter if self.reachable else None
        return Probe(self.reachable, rtt, "icmp").metrics()
