"""Card readers on real hardware: Linux input devices (evdev) and serial ports (pyserial).

Each reads on its own daemon thread, since both block, and hands canonical UIDs
to the agent through the same queue as the other readers. The decoding itself
is pure (``edge.cards.codecs``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from edge.cards.codecs import ByteOrder, KeyDecoder, SerialDecoder, UidFormat, convert_uid
from edge.cards.readers import _QueuedReader
from protocol.ids import InvalidUid

log = logging.getLogger(__name__)

REOPEN_DELAY_S = 2.0  # a reader unplugged and plugged back in is picked up again


class _ConvertingReader(_QueuedReader):
    def __init__(self, *, fmt: UidFormat, order: ByteOrder) -> None:
        super().__init__()
        self._fmt: UidFormat = fmt
        self._order: ByteOrder = order
        self._closed = threading.Event()

    def _offer_raw(self, raw: str) -> None:
        try:
            self._taps.put(convert_uid(raw, fmt=self._fmt, order=self._order))
        except InvalidUid as exc:
            log.warning("ignored card read: %s", exc)

    def close(self) -> None:
        self._closed.set()


class EvdevCardReader(_ConvertingReader):
    """A USB keyboard-wedge reader read as a Linux input device, grabbed so its
    keystrokes never reach a console. Needs the ``evdev`` package (python3-evdev)."""

    def __init__(self, device: str, *, fmt: UidFormat = "hex",
                 order: ByteOrder = "msb-first") -> None:
        super().__init__(fmt=fmt, order=order)
        try:
            import evdev
        except ImportError as exc:
            raise RuntimeError(
                "reader evdev needs the evdev package: apt install python3-evdev "
                "(or pip install evdev)") from exc
        self._evdev: Any = evdev
        self.device = device
        self._thread = threading.Thread(target=self._pump, name="card-evdev", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        while not self._closed.is_set():
            try:
                dev = self._evdev.InputDevice(self.device)
                dev.grab()
                decoder = KeyDecoder()
                for event in dev.read_loop():
                    if self._closed.is_set():
                        break
                    if event.type == self._evdev.ecodes.EV_KEY:
                        text = decoder.feed(event.code, event.value)
                        if text:
                            self._offer_raw(text)
            except OSError as exc:
                log.warning("card reader %s: %s; retrying", self.device, exc)
                self._closed.wait(REOPEN_DELAY_S)


class SerialCardReader(_ConvertingReader):
    """A serial reader (USB-serial or UART), e.g. a 125 kHz EM reader sending
    STX + 10 hex + checksum + ETX, or one that sends a line per card."""

    def __init__(self, device: str, *, baud: int = 9600, fmt: UidFormat = "hex",
                 order: ByteOrder = "msb-first") -> None:
        super().__init__(fmt=fmt, order=order)
        try:
            import serial
        except ImportError as exc:
            raise RuntimeError("reader serial needs pyserial: pip install pyserial") from exc
        self._serial: Any = serial
        self.device = device
        self.baud = baud
        self.opened = threading.Event()  # set while the port is open (tests, status)
        self._thread = threading.Thread(target=self._pump, name="card-serial", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        while not self._closed.is_set():
            try:
                with self._serial.Serial(self.device, self.baud, timeout=0.2) as port:
                    # pyserial flushes the input on open: only bytes after this count
                    self.opened.set()
                    decoder = SerialDecoder()
                    while not self._closed.is_set():
                        chunk = port.read(64)
                        for item in decoder.feed(chunk) if chunk else ():
                            if isinstance(item, InvalidUid):
                                log.warning("ignored card read: %s", item)
                            else:
                                self._offer_raw(item)
            except (OSError, self._serial.SerialException) as exc:
                self.opened.clear()
                log.warning("card reader %s: %s; retrying", self.device, exc)
                self._closed.wait(REOPEN_DELAY_S)

    def close(self) -> None:
        super().close()
        self._thread.join(1.0)  # the read times out within 0.2 s and closes the port
