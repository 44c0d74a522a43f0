"""PJLink class 1 codec: tables of wire lines and what they mean."""

from __future__ import annotations

import pytest

from edge.projector.codec import (
    Answer,
    Command,
    Greeting,
    PjlinkAuthError,
    PjlinkProtocolError,
    auth_digest,
    build_command,
    format_answer,
    format_errors,
    input_label,
    parse_answer,
    parse_command,
    parse_errors,
    parse_greeting,
    parse_lamps,
    parse_power,
    reading_from_answers,
    summarize_errors,
)
from edge.projector.source import ProjectorReading


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("PJLINK 0", Greeting(auth=False)),
        ("PJLINK 0\r", Greeting(auth=False)),
        ("PJLINK 1 498e4a67", Greeting(auth=True, random="498e4a67")),
        ("PJLINK 1 ABCDEF01\r", Greeting(auth=True, random="ABCDEF01")),
    ],
)
def test_greetings(line, expected):
    assert parse_greeting(line) == expected


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("PJLINK ERRA", PjlinkAuthError),
        ("PJLINK 2", PjlinkProtocolError),
        ("PJLINK 1 498e4a6", PjlinkProtocolError),  # 7 hex digits
        ("PJLINK 1 498e4a6z", PjlinkProtocolError),
        ("SSH-2.0-OpenSSH_9.2", PjlinkProtocolError),
        ("", PjlinkProtocolError),
    ],
)
def test_bad_greetings(line, error):
    with pytest.raises(error):
        parse_greeting(line)


def test_digest_is_the_spec_example():
    # PJLink specification, authentication example.
    assert auth_digest("498e4a67", "JBMIAProjectorLink") == "5d8409bc1c3fa39749434aa3a5c38682"


@pytest.mark.parametrize(
    ("command", "param", "digest", "wire"),
    [
        ("POWR", "?", None, b"%1POWR ?\r"),
        ("POWR", "1", None, b"%1POWR 1\r"),
        ("LAMP", "?", "5d8409bc1c3fa39749434aa3a5c38682",
         b"5d8409bc1c3fa39749434aa3a5c38682%1LAMP ?\r"),
        ("INF1", "?", "", b"%1INF1 ?\r"),
    ],
)
def test_build_command(command, param, digest, wire):
    assert build_command(command, param, digest=digest) == wire


@pytest.mark.parametrize(("command", "param"), [("powr", "?"), ("POW", "?"), ("POWR", "1\r")])
def test_build_command_refuses_malformed(command, param):
    with pytest.raises(ValueError):
        build_command(command, param)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("%1POWR=1", Answer("POWR", "1")),
        ("%1POWR=OK\r", Answer("POWR", "OK")),
        ("%1LAMP=1234 1", Answer("LAMP", "1234 1")),
        ("%1NAME=Room 101 = east", Answer("NAME", "Room 101 = east")),
        ("%1NAME=", Answer("NAME", "")),
        ("%1INPT=ERR3", Answer("INPT", None, "ERR3")),
        ("%1XXXX=ERR1", Answer("XXXX", None, "ERR1")),
        ("%1ERST=ERR4", Answer("ERST", None, "ERR4")),
        ("%2POWR=0", Answer("POWR", "0")),
    ],
)
def test_answers(line, expected):
    assert parse_answer(line) == expected
    assert parse_answer(line).ok == (expected.error is None)


@pytest.mark.parametrize(
    ("line", "error"),
    [("PJLINK ERRA", PjlinkAuthError), ("%1POWR 1", PjlinkProtocolError),
     ("POWR=1", PjlinkProtocolError), ("%3POWR=1", PjlinkProtocolError)],
)
def test_bad_answers(line, error):
    with pytest.raises(error):
        parse_answer(line)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("%1POWR ?\r", Command("POWR", "?")),
        ("%1POWR 1", Command("POWR", "1")),
        ("5d8409bc1c3fa39749434aa3a5c38682%1LAMP ?",
         Command("LAMP", "?", "5d8409bc1c3fa39749434aa3a5c38682")),
        ("%2INPT ?", Command("INPT", "?", None, "2")),
    ],
)
def test_commands_as_the_simulator_reads_them(line, expected):
    assert parse_command(line) == expected


def test_command_round_trip():
    wire = build_command("ERST", digest="0" * 32)
    assert parse_command(wire.decode()) == Command("ERST", "?", "0" * 32)
    assert parse_answer(format_answer("ERST", "000000").decode()) == Answer("ERST", "000000")


@pytest.mark.parametrize(
    ("value", "power"), [("0", "off"), ("1", "on"), ("2", "cooling"), ("3", "warming")]
)
def test_power_states(value, power):
    assert parse_power(value) == power


@pytest.mark.parametrize(
    ("value", "lamps"),
    [
        ("0 0", [(0, False)]),
        ("1234 1", [(1234, True)]),
        ("12 1 99999 0", [(12, True), (99999, False)]),
    ],
)
def test_lamps(value, lamps):
    assert parse_lamps(value) == lamps


@pytest.mark.parametrize("value", ["", "4", "12 2", "x 1", "1 1 2", "-1 0"])
def test_bad_lamps(value):
    with pytest.raises(PjlinkProtocolError):
        parse_lamps(value)


@pytest.mark.parametrize(
    ("value", "summary", "filter_level"),
    [
        ("000000", "ok", 0),
        ("000010", "filter", 1),
        ("010010", "lamp", 1),  # same level: the first in ERST order
        ("010020", "filter", 2),  # an error beats a warning
        ("002000", "temp", 0),
        ("200001", "fan", 0),
        ("000001", "other", 0),
        ("000200", "cover", 0),
    ],
)
def test_error_status(value, summary, filter_level):
    errors = parse_errors(value)
    assert summarize_errors(errors) == summary
    assert errors["filter"] == filter_level
    assert format_errors(errors) == value


@pytest.mark.parametrize("value", ["", "00000", "0000000", "000300", "00a000"])
def test_bad_error_status(value):
    with pytest.raises(PjlinkProtocolError):
        parse_errors(value)


@pytest.mark.parametrize(
    ("value", "label"),
    [("11", "rgb-1"), ("31", "digital-1"), ("32", "digital-2"), ("56", "network-6"),
     ("99", "99"), ("3", "3")],
)
def test_input_labels(value, label):
    assert input_label(value) == label


def test_reading_from_a_full_session():
    answers = {
        "POWR": Answer("POWR", "1"), "LAMP": Answer("LAMP", "1500 1 300 0"),
        "ERST": Answer("ERST", "000010"), "INPT": Answer("INPT", "31"),
        "NAME": Answer("NAME", " P.101 "), "INF1": Answer("INF1", "EPSON"),
        "INF2": Answer("INF2", "EB-X51"),
    }
    reading = reading_from_answers(answers)
    assert reading.telemetry() == {
        "projector.reachable": True, "projector.power": "on", "projector.lamp_hours": 1500,
        "projector.lamp_on": True, "projector.error": "filter", "projector.input": "digital-1",
        "projector.name": "P.101", "projector.manufacturer": "EPSON",
        "projector.model": "EB-X51", "projector.error.fan": 0, "projector.error.lamp": 0,
        "projector.error.temp": 0, "projector.error.cover": 0, "projector.error.filter": 1,
        "projector.error.other": 0,
    }


def test_unanswered_queries_are_left_out():
    reading = reading_from_answers({
        "POWR": Answer("POWR", "0"), "LAMP": Answer("LAMP", None, "ERR3"),
        "INPT": Answer("INPT", None, "ERR3"), "ERST": Answer("ERST", None, "ERR1"),
        "NAME": Answer("NAME", ""),
    })
    assert reading.telemetry() == {
        "projector.reachable": True, "projector.power": "off", "projector.lamp_on": False,
    }


@pytest.mark.parametrize(
    ("reading", "metrics"),
    [
        (ProjectorReading.unreachable(), {"projector.reachable": False}),
        (ProjectorReading("warming", 10, "ok"),
         {"projector.reachable": True, "projector.power": "warming", "projector.lamp_hours": 10,
          "projector.error": "ok", "projector.lamp_on": True}),
        (ProjectorReading("cooling", 10, "ok", lamp_on=True),
         {"projector.reachable": True, "projector.power": "cooling", "projector.lamp_hours": 10,
          "projector.error": "ok", "projector.lamp_on": True}),
    ],
)
def test_published_metrics(reading, metrics):
    assert reading.telemetry() == metrics
