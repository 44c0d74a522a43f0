"""Whether this machine's clock is kept in step by NTP, as the kernel says (adjtimex).

Asked by the kernel, not by one daemon: systemd-timesyncd, chrony and ntpd all clear the
kernel's "unsynchronised" flag when they discipline the clock, so one question covers
every Pi image. Reported in ``status`` (docs/protocol.md) for the fleet view.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Final

# adjtimex's answer (linux/timex.h): TIME_ERROR means the clock is not synchronised.
TIME_ERROR: Final = 5
STA_UNSYNC: Final = 0x0040
_TIMEX_SIZE: Final = 256  # struct timex is 208 bytes on 64-bit Linux; room to spare


def synced_from(result: int, status: int) -> bool | None:
    """The kernel's answer read as synced (True), not (False) or unknown (None: the call
    failed, e.g. not Linux)."""
    if result < 0:
        return None
    return result != TIME_ERROR and not status & STA_UNSYNC


def kernel_clock_synced() -> bool | None:
    """Read-only adjtimex (modes 0): needs no privilege and changes nothing."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        adjtimex = libc.adjtimex
    except (OSError, AttributeError):
        return None
    buf = ctypes.create_string_buffer(_TIMEX_SIZE)  # zeroed: modes = 0
    result = int(adjtimex(buf))
    # struct timex: unsigned int modes; then long offset, freq, maxerror, esterror; int
    # status, padded to a long's alignment.
    offset = ctypes.sizeof(ctypes.c_long) * 5
    status = int.from_bytes(buf.raw[offset:offset + 4], "little", signed=True)
    return synced_from(result, status)
