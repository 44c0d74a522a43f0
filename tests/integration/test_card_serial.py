"""A serial card reader on a real (pseudo-)terminal: pyserial opens the pty's slave
end as it would /dev/ttyUSB0, and the test writes what an EM reader sends."""

from __future__ import annotations

import os

from edge.cards.codecs import ETX, STX
from edge.hardware.card_readers import SerialCardReader


def test_serial_reader_yields_uids_from_em_frames_and_lines() -> None:
    master, slave = os.openpty()
    reader = SerialCardReader(os.ttyname(slave), baud=9600, order="msb-first")
    try:
        assert reader.opened.wait(5), "the reader did not open the port"
        os.write(master, bytes([STX]) + b"0F0027C3A942" + bytes([ETX]))
        assert reader.read(timeout=5) == "0F0027C3A9"
        os.write(master, bytes([STX]) + b"0F0027C3A900" + bytes([ETX]))  # bad checksum
        os.write(master, b"04a1b2c3\r\n")
        assert reader.read(timeout=5) == "04A1B2C3"
        assert reader.read(timeout=0.3) is None
    finally:
        reader.close()
        os.close(master)
        os.close(slave)


def test_serial_reader_decimal_lsb_first() -> None:
    master, slave = os.openpty()
    reader = SerialCardReader(os.ttyname(slave), fmt="decimal", order="lsb-first")
    try:
        assert reader.opened.wait(5), "the reader did not open the port"
        os.write(master, b"77865923\n")
        assert reader.read(timeout=5) == "C323A404"
    finally:
        reader.close()
        os.close(master)
        os.close(slave)
