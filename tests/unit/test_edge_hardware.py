"""UID normalisation, simulated readers/relays/projectors, the card list and the clocks."""

from __future__ import annotations

import importlib.util
import io
import time
from datetime import datetime, timedelta

import pytest

from edge.cards.cardlist import CardListError, load_cards
from edge.cards.readers import KeyboardWedgeReader, SimulatedCardReader
from edge.clock import DISTRICT_TZ, CompressedClock, ManualClock, SystemClock
from edge.gate.policy import CardEntry
from edge.hardware.relay import GpioRelay, NoopRelay
from edge.projector.source import SimulatedProjector
from protocol.ids import InvalidUid, normalise_uid


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("04A1B2C3", "04A1B2C3"),
        ("04a1b2c3", "04A1B2C3"),
        ("04:a1:b2:c3", "04A1B2C3"),
        ("04-A1-B2-C3", "04A1B2C3"),
        ("04 A1 B2 C3\n", "04A1B2C3"),
        ("0x04a1b2c3", "04A1B2C3"),
        ("4A1B2C3", "04A1B2C3"),  # a dropped leading zero comes back
        ("04A1B2C3D4E5F6", "04A1B2C3D4E5F6"),  # 7-byte MIFARE UID
        ("AB", "AB"),
    ],
)
def test_normalise_uid(raw, expected):
    assert normalise_uid(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "0x", "04G1B2C3", "04A1B2C3!", "A" * 34])
def test_normalise_uid_rejects(raw):
    with pytest.raises(InvalidUid):
        normalise_uid(raw)


def test_simulated_reader_normalises_and_skips_noise():
    reader = SimulatedCardReader()
    reader.tap("04:a1:b2:c3")
    reader.tap("garbage!")
    reader.tap("1a2b3c4d")
    assert reader.read(0.1) == "04A1B2C3"
    assert reader.read(0.1) == "1A2B3C4D"
    assert reader.read(0.01) is None


def test_keyboard_wedge_reader_reads_lines():
    reader = KeyboardWedgeReader(io.StringIO("04a1b2c3\n\nzz\n1A2B3C4D\n"))
    assert reader.read(2) == "04A1B2C3"
    assert reader.read(2) == "1A2B3C4D"


def test_noop_relay_counts():
    relay = NoopRelay()
    relay.pulse(1.0)
    relay.pulse(1.0)
    assert relay.pulses == 2


def test_gpio_relay_without_gpiozero_says_what_to_do():
    if importlib.util.find_spec("gpiozero") is not None:
        pytest.skip("gpiozero is installed here")
    with pytest.raises(RuntimeError, match="gpiozero"):
        GpioRelay(17)


def test_projector_lamp_hours_follow_the_clock_only_when_on():
    t0 = datetime(2025, 9, 8, 7, 0, tzinfo=DISTRICT_TZ)
    pj = SimulatedProjector("PJ-1", lamp_hours=100)
    assert pj.read(t0).metrics() == {
        "projector.power": "off", "projector.lamp_hours": 100, "projector.error": "ok",
    }
    assert pj.read(t0 + timedelta(hours=2)).lamp_hours == 100  # off: no wear
    pj.set_power(True, t0 + timedelta(hours=2))
    assert pj.read(t0 + timedelta(hours=5)).lamp_hours == 103
    pj.set_fault("lamp", t0 + timedelta(hours=5))
    reading = pj.read(t0 + timedelta(hours=9))
    assert (reading.power, reading.lamp_hours, reading.error) == ("off", 103, "lamp")
    pj.set_fault(None, t0 + timedelta(hours=9))
    assert pj.read(t0 + timedelta(hours=9)).error == "ok"


def test_clocks_are_aware_and_in_the_district_zone():
    now = SystemClock().now()
    assert now.utcoffset() == timedelta(hours=7)
    start = datetime(2025, 9, 8, 7, 0, tzinfo=DISTRICT_TZ)
    fast = CompressedClock(start, speed=3600)
    later = fast.now()
    assert later >= start and later.utcoffset() == timedelta(hours=7)
    manual = ManualClock(start)
    assert manual.advance(90) == start + timedelta(seconds=90)
    with pytest.raises(ValueError):
        CompressedClock(datetime(2025, 9, 8, 7, 0), speed=1)


def test_compressed_clock_runs_fast():
    start = datetime(2025, 9, 8, 7, 0, tzinfo=DISTRICT_TZ)
    clock = CompressedClock(start, speed=1000)
    time.sleep(0.05)
    assert clock.now() - start >= timedelta(seconds=40)


def test_load_cards_yaml_and_csv(tmp_path):
    yml = tmp_path / "cards.yaml"
    yml.write_text(
        "04a1b2c3: {person: p1}\n"
        "'04:A1:B2:C4': {person: p2, status: lost}\n"
        "12345678: {person: p3, status: blocked}\n"
    )
    assert load_cards(yml) == {
        "04A1B2C3": CardEntry("p1", "active"),
        "04A1B2C4": CardEntry("p2", "lost"),
        "12345678": CardEntry("p3", "blocked"),
    }
    listed = tmp_path / "list.yml"
    listed.write_text("- {uid: 04a1b2c3, person: p1}\n")
    assert load_cards(listed) == {"04A1B2C3": CardEntry("p1", "active")}
    csv = tmp_path / "cards.csv"
    csv.write_text("uid,person,status\n04a1b2c3,p1,\n04A1B2C4,p2,lost\n")
    assert load_cards(csv) == {
        "04A1B2C3": CardEntry("p1", "active"), "04A1B2C4": CardEntry("p2", "lost"),
    }


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("dup.yaml", "04a1b2c3: {person: p1}\n'04:A1:B2:C3': {person: p2}\n", "listed twice"),
        ("bad.yaml", "04a1b2c3: {person: p1, status: stolen}\n", "status"),
        ("nohex.yaml", "zz: {person: p1}\n", "not hexadecimal"),
        ("extra.yaml", "04a1b2c3: {person: p1, colour: red}\n", "colour"),
        ("head.csv", "card,person\n04a1,p1\n", "header lacks uid"),
        ("line.csv", "uid,person,status\n04a1,p1,\n04a2,p2,stolen\n", "line 3"),
    ],
)
def test_load_cards_errors_name_the_row(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(CardListError, match=message) as info:
        load_cards(path)
    assert str(path) in str(info.value)


def test_noop_relay_holds_and_remembers_the_pulse_length():
    relay = NoopRelay()
    relay.pulse(2.5)
    relay.hold()
    assert relay.held and relay.pulses == 1 and relay.last_pulse_s == 2.5
    relay.release()
    assert not relay.held


def test_log_feedback_keeps_a_bounded_record():
    from edge.hardware.feedback import REMEMBERED_SIGNALS, LogFeedback

    feedback = LogFeedback()
    feedback.granted()
    feedback.denied()
    assert feedback.signals == ["granted", "denied"]
    for _ in range(REMEMBERED_SIGNALS * 2):
        feedback.granted()
    assert len(feedback.signals) == REMEMBERED_SIGNALS


def test_gpio_feedback_without_gpiozero_says_what_to_do():
    if importlib.util.find_spec("gpiozero") is not None:
        pytest.skip("gpiozero is installed here")
    from edge.hardware.feedback import GpioFeedback

    with pytest.raises(RuntimeError, match="gpiozero"):
        GpioFeedback(buzzer_pin=22, green_pin=23, red_pin=24)


def test_card_list_kind_defaults_to_student(tmp_path):
    path = tmp_path / "cards.csv"
    path.write_text("uid,person,status,kind\n04A1B2C3,a,,\n04A1B2C4,b,active,staff\n")
    cards = load_cards(path)
    assert (cards["04A1B2C3"].kind, cards["04A1B2C4"].kind) == ("student", "staff")
    path.write_text("uid,person,kind\n04A1B2C3,a,janitor\n")
    with pytest.raises(CardListError, match="kind"):
        load_cards(path)
