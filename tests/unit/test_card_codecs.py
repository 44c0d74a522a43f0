"""What card readers send, decoded: number formats, key codes, serial frames."""

from __future__ import annotations

import pytest

from edge.cards.codecs import ETX, STX, KeyDecoder, SerialDecoder, convert_uid, em4100_uid
from edge.cards.readers import InvalidUid


@pytest.mark.parametrize(
    ("raw", "fmt", "order", "expected"),
    [
        ("04a1b2c3", "hex", "msb-first", "04A1B2C3"),
        ("04:A1:B2:C3", "hex", "msb-first", "04A1B2C3"),
        ("04A1B2C3", "hex", "lsb-first", "C3B2A104"),
        ("0077865923", "decimal", "msb-first", "04A423C3"),  # 10-digit wedge output
        ("77865923", "decimal", "lsb-first", "C323A404"),
        ("1", "decimal", "msb-first", "00000001"),  # padded to a 4-byte UID
        ("1311768467463790320", "decimal", "msb-first", "123456789ABCDEF0"),
        ("04A1B2C3D4E5F6", "hex", "lsb-first", "F6E5D4C3B2A104"),  # 7-byte UID
    ],
)
def test_convert_uid(raw: str, fmt: str, order: str, expected: str) -> None:
    assert convert_uid(raw, fmt=fmt, order=order) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("raw", "fmt"), [("12AB", "decimal"), ("", "hex"), ("XYZ", "hex"),
                                          ("-5", "decimal")])
def test_convert_uid_refuses(raw: str, fmt: str) -> None:
    with pytest.raises(InvalidUid):
        convert_uid(raw, fmt=fmt)  # type: ignore[arg-type]


# KEY_0=11, KEY_4=5, KEY_A=30, KEY_1=2, KEY_B=48, KEY_2=3, KEY_C=46, KEY_3=4, KEY_ENTER=28
TYPED_04A1B2C3 = [11, 5, 30, 2, 48, 3, 46, 4]


def press(decoder: KeyDecoder, codes: list[int]) -> list[str]:
    out = []
    for code in codes:
        for value in (1, 0):  # key down, key up
            text = decoder.feed(code, value)
            if text:
                out.append(text)
    return out


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([*TYPED_04A1B2C3, 28], ["04A1B2C3"]),
        ([*TYPED_04A1B2C3, 96], ["04A1B2C3"]),  # keypad Enter
        ([28], []),  # Enter alone is no card
        ([*TYPED_04A1B2C3, 42, 28], ["04A1B2C3"]),  # Shift and other keys ignored
        ([*TYPED_04A1B2C3, 28, 2, 3, 28], ["04A1B2C3", "12"]),
        ([79, 80, 81, 28], ["123"]),  # keypad digits
    ],
)
def test_key_decoder(codes: list[int], expected: list[str]) -> None:
    assert press(KeyDecoder(), codes) == expected


def test_key_decoder_ignores_autorepeat() -> None:
    decoder = KeyDecoder()
    assert decoder.feed(2, 1) is None
    assert decoder.feed(2, 2) is None  # autorepeat
    assert decoder.feed(28, 1) == "1"


def em_frame(data_hex: str) -> bytes:
    data = bytes.fromhex(data_hex)
    checksum = 0
    for byte in data:
        checksum ^= byte
    return bytes([STX]) + f"{data_hex}{checksum:02X}".encode() + bytes([ETX])


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"0F0027C3A9" + b"42", "0F0027C3A9"),  # 0F^00^27^C3^A9 = 0x42
        (b"1A00AB12CD" + b"6E", "1A00AB12CD"),
    ],
)
def test_em4100_uid(payload: bytes, expected: str) -> None:
    assert em4100_uid(payload) == expected


@pytest.mark.parametrize("payload", [b"0F0027C3A943", b"0F0027C3", b"0F0027C3ZZ42"])
def test_em4100_uid_refuses(payload: bytes) -> None:
    with pytest.raises(InvalidUid):
        em4100_uid(payload)


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([em_frame("0F0027C3A9")], ["0F0027C3A9"]),
        ([em_frame("0F0027C3A9")[:5], em_frame("0F0027C3A9")[5:]], ["0F0027C3A9"]),  # split
        ([b"04A1B2C3\r\n"], ["04A1B2C3"]),  # a line per card
        ([b"noise" + em_frame("1A00AB12CD")], ["1A00AB12CD"]),  # STX resyncs
        ([em_frame("0F0027C3A9") + em_frame("1A00AB12CD")], ["0F0027C3A9", "1A00AB12CD"]),
        ([b"\r\n\r\n"], []),
    ],
)
def test_serial_decoder(chunks: list[bytes], expected: list[str]) -> None:
    decoder = SerialDecoder()
    out: list[str] = []
    for chunk in chunks:
        out.extend(str(item) for item in decoder.feed(chunk) if isinstance(item, str))
    assert out == expected


def test_serial_decoder_reports_a_bad_checksum() -> None:
    bad = bytes([STX]) + b"0F0027C3A900" + bytes([ETX])
    (item,) = SerialDecoder().feed(bad)
    assert isinstance(item, InvalidUid)
    assert "checksum" in str(item)
