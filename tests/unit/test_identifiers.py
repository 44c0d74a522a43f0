"""Personal id (số định danh cá nhân) and MOET id: tables of cases and round trips."""

from __future__ import annotations

import unicodedata

import pytest

from hub.records.identifiers import (
    HAI_PHONG,
    PROVINCES,
    IdProblem,
    decode_personal_id,
    make_moet_id,
    make_personal_id,
    moet_id_warnings,
    validate_moet_id,
    validate_personal_id,
)


def test_province_table_has_the_63_provinces():
    assert len(PROVINCES) == 63
    assert PROVINCES["001"] == "Hà Nội"
    assert PROVINCES[HAI_PHONG] == "Hải Phòng"
    assert PROVINCES["079"] == "Hồ Chí Minh"
    assert PROVINCES["096"] == "Cà Mau"
    assert min(PROVINCES) == "001" and max(PROVINCES) == "096"
    for code, name in PROVINCES.items():
        assert len(code) == 3 and code.isdigit()
        assert unicodedata.is_normalized("NFC", name)
    # Codes of provinces that do not exist in the 2016 table.
    for gap in ("000", "003", "005", "028", "029", "032", "078", "097", "099"):
        assert gap not in PROVINCES


@pytest.mark.parametrize(
    ("pid", "birth_year", "gender"),
    [
        ("031215001234", 2015, "M"),  # Hải Phòng, boy born 2015
        ("031315999999", 2015, "F"),
        ("001090000000", 1990, "M"),
        ("079185123456", 1985, "F"),
        ("031200000001", 2000, "M"),  # first year of a century
        ("031099000001", 1999, "M"),  # last year of a century
        ("096410000000", 2110, "M"),
        ("030719123456", 2219, "F"),
        ("031801123456", 2301, "M"),  # 8/9: the 24th century per the decree
    ],
)
def test_valid_personal_ids(pid, birth_year, gender):
    assert validate_personal_id(pid) == []
    assert validate_personal_id(pid, birth_year=birth_year, gender=gender) == []
    decoded = decode_personal_id(pid)
    assert (decoded.province, decoded.birth_year, decoded.gender) == (pid[:3], birth_year, gender)


@pytest.mark.parametrize(
    ("pid", "kwargs", "problems"),
    [
        ("", {}, ["not-12-digits"]),
        ("03121500123", {}, ["not-12-digits"]),  # 11 digits
        ("0312150012345", {}, ["not-12-digits"]),  # 13 digits
        ("03121500123a", {}, ["not-12-digits"]),
        ("031 21500123", {}, ["not-12-digits"]),
        ("٠٣١٢١٥٠٠١٢٣٤", {}, ["not-12-digits"]),  # Arabic-Indic digits pass str.isdigit
        ("003215001234", {}, ["unknown-province"]),
        ("000215001234", {}, ["unknown-province"]),
        ("097215001234", {}, ["unknown-province"]),
        ("031215001234", {"gender": "F"}, ["century-gender-mismatch"]),
        ("031315001234", {"gender": "M"}, ["century-gender-mismatch"]),
        ("031015001234", {"birth_year": 2015}, ["century-gender-mismatch"]),
        ("031215001234", {"birth_year": 1915}, ["century-gender-mismatch"]),
        ("031215001234", {"birth_year": 2016}, ["year-mismatch"]),
        ("031215001234", {"birth_year": 1816}, ["century-gender-mismatch", "year-mismatch"]),
        (
            "999215001234",
            {"birth_year": 1914, "gender": "F"},
            ["unknown-province", "century-gender-mismatch", "year-mismatch"],
        ),
    ],
)
def test_invalid_personal_ids(pid, kwargs, problems):
    assert validate_personal_id(pid, **kwargs) == problems


def test_problems_are_named_strings():
    [problem] = validate_personal_id("x")
    assert problem == IdProblem.NOT_12_DIGITS == "not-12-digits"
    assert isinstance(problem, str)


@pytest.mark.parametrize("gender", ["M", "F"])
@pytest.mark.parametrize("birth_year", [1900, 1955, 1999, 2000, 2019, 2099, 2100, 2250, 2399])
def test_make_then_validate_round_trip(gender, birth_year):
    for province in PROVINCES:
        serial = (birth_year * 7919 + int(province)) % 10**6
        pid = make_personal_id(province, birth_year, gender, serial)
        assert len(pid) == 12 and pid.isdigit()
        assert validate_personal_id(pid, birth_year=birth_year, gender=gender) == []
        decoded = decode_personal_id(pid)
        assert (decoded.province, decoded.birth_year, decoded.gender, decoded.serial) == (
            province,
            birth_year,
            gender,
            serial,
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("003", 2015, "M", 1), "province"),
        (("031", 1899, "M", 1), "birth year"),
        (("031", 2400, "F", 1), "birth year"),
        (("031", 2015, "X", 1), "gender"),
        (("031", 2015, "M", -1), "serial"),
        (("031", 2015, "M", 10**6), "serial"),
    ],
)
def test_make_personal_id_refuses_what_it_cannot_encode(args, message):
    with pytest.raises(ValueError, match=message):
        make_personal_id(*args)


@pytest.mark.parametrize("bad", ["", "03121500123", "031215001234x", "0312150012a4"])
def test_decode_refuses_malformed(bad):
    with pytest.raises(ValueError):
        decode_personal_id(bad)


@pytest.mark.parametrize(
    ("moet_id", "kwargs", "problems"),
    [
        ("0310000001", {}, []),
        ("0319999999", {"province": "031"}, []),
        ("0011234567", {}, []),
        ("031000000", {}, ["not-10-digits"]),
        ("03100000011", {}, ["not-10-digits"]),
        ("031000000a", {}, ["not-10-digits"]),
        # An unexpected prefix is only a warning: the structure past the length is assumed.
        ("0030000001", {}, []),
        ("3100000001", {}, []),
        ("0010000001", {"province": "031"}, ["province-mismatch"]),
        ("9990000001", {"province": "031"}, ["province-mismatch"]),
    ],
)
def test_moet_ids(moet_id, kwargs, problems):
    assert validate_moet_id(moet_id, **kwargs) == problems


@pytest.mark.parametrize(
    ("moet_id", "warnings"),
    [
        ("0310000001", []),
        ("0030000001", ["unknown-province"]),
        ("3100000001", ["unknown-province"]),  # a 2-digit province number first
        ("9990000001", ["unknown-province"]),
        ("031000000", []),  # malformed: an error, not also a warning
    ],
)
def test_moet_id_warnings(moet_id, warnings):
    assert moet_id_warnings(moet_id) == warnings


def test_make_moet_id():
    assert make_moet_id("031", 42) == "0310000042"
    assert validate_moet_id(make_moet_id("031", 9_999_999), province="031") == []
    with pytest.raises(ValueError):
        make_moet_id("031", 10**7)
    with pytest.raises(ValueError):
        make_moet_id("032", 1)
