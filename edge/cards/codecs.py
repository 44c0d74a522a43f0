"""Pure decoding of what card readers send: key codes, serial frames, number formats.

Kept apart from the device I/O (``edge.hardware.card_readers``) so it is tested with tables.
"""

from __future__ import annotations

from typing import Literal

from protocol.ids import InvalidUid, normalise_uid

UidFormat = Literal["hex", "decimal"]
ByteOrder = Literal["msb-first", "lsb-first"]

STX, ETX = 0x02, 0x03
EM4100_HEX_DIGITS = 10  # 5 bytes: a version/customer byte and a 4-byte id
MAX_FRAME = 64  # bytes buffered without an end: a reader that lost sync


def convert_uid(raw: str, *, fmt: UidFormat = "hex", order: ByteOrder = "msb-first") -> str:
    """One reader's output as the canonical upper-case hex UID.

    Many keyboard-wedge readers print the UID as a decimal number, and some send
    its bytes least significant first; the gallery and the records use the
    card's own byte order, most significant first.
    """
    text = raw.strip()
    if fmt == "decimal":
        if not text.isdigit():
            raise InvalidUid(f"card number {raw!r} is not decimal")
        value = int(text)
        width = max(4, (value.bit_length() + 7) // 8)  # at least a 4-byte MIFARE UID
        text = value.to_bytes(width, "big").hex()
    uid = normalise_uid(text)
    if order == "lsb-first":
        uid = bytes.fromhex(uid)[::-1].hex().upper()
    return uid


# Linux input key codes (linux/input-event-codes.h) for what readers type.
_KEY_CHARS: dict[int, str] = {
    2: "1", 3: "2", 4: "3", 5: "4", 6: "5", 7: "6", 8: "7", 9: "8", 10: "9", 11: "0",
    30: "A", 48: "B", 46: "C", 32: "D", 18: "E", 33: "F",
    79: "1", 80: "2", 81: "3", 75: "4", 76: "5", 77: "6", 71: "7", 72: "8", 73: "9", 82: "0",
}
KEY_ENTER, KEY_KPENTER = 28, 96
KEY_DOWN = 1  # event value: 1 down, 0 up, 2 autorepeat


class KeyDecoder:
    """Key-down events in, one string per Enter out. Other keys are ignored."""

    def __init__(self) -> None:
        self._chars: list[str] = []

    def feed(self, code: int, value: int) -> str | None:
        if value != KEY_DOWN:
            return None
        if code in (KEY_ENTER, KEY_KPENTER):
            text, self._chars = "".join(self._chars), []
            return text or None
        char = _KEY_CHARS.get(code)
        if char is not None and len(self._chars) < MAX_FRAME:
            self._chars.append(char)
        return None


def em4100_uid(frame: bytes) -> str:
    """The payload between STX and ETX of a 125 kHz EM reader (RDM6300 and kin):
    10 hex digits of data and 2 of checksum, the XOR of the 5 data bytes."""
    text = frame.decode("ascii", errors="replace").strip()
    if len(text) != EM4100_HEX_DIGITS + 2:
        raise InvalidUid(f"EM frame {text!r} is not 12 hex digits")
    try:
        data = bytes.fromhex(text[:EM4100_HEX_DIGITS])
        checksum = int(text[EM4100_HEX_DIGITS:], 16)
    except ValueError:
        raise InvalidUid(f"EM frame {text!r} is not hexadecimal") from None
    expected = 0
    for byte in data:
        expected ^= byte
    if expected != checksum:
        raise InvalidUid(f"EM frame {text!r}: checksum {checksum:02X} != {expected:02X}")
    return data.hex().upper()


class SerialDecoder:
    """Bytes from a serial reader in, raw card strings out.

    Two framings are common: STX ... ETX (EM readers, checksum verified) and a
    line of ASCII ended by CR or LF (most others).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[str | InvalidUid]:
        out: list[str | InvalidUid] = []
        for byte in chunk:
            if byte == STX:
                self._buffer.clear()
                self._buffer.append(byte)
            elif byte == ETX and self._buffer[:1] == bytes([STX]):
                try:
                    out.append(em4100_uid(bytes(self._buffer[1:])))
                except InvalidUid as exc:
                    out.append(exc)
                self._buffer.clear()
            elif byte in (0x0A, 0x0D) and self._buffer[:1] != bytes([STX]):
                if self._buffer:
                    out.append(self._buffer.decode("ascii", errors="replace"))
                self._buffer.clear()
            elif len(self._buffer) < MAX_FRAME:
                self._buffer.append(byte)
            else:
                self._buffer.clear()  # lost sync: drop and wait for the next frame
        return out
