"""Guardians' contacts, pure part: mobile numbers, channels, addresses, whole rows."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from hub.records.cells import (
    parse_address,
    parse_channel,
    parse_mobile,
    parse_relation,
    parse_yes_no,
    same_name,
)
from hub.records.columns import GUARDIAN_COLUMNS, Layout, resolve_layout
from hub.records.guardians import contact_problems, parent_year_problem, parse_contact
from hub.records.validate import GuardianContactRecord, RowError, parse_rows

TODAY = date(2026, 11, 29)
HEADERS = [c.header for c in GUARDIAN_COLUMNS]
GOOD = ["1", "0311234567", "6A1", "Nguyễn Văn An", "Mẹ", "Trần Thị Cúc", "1987",
        "0912 345 678", "Zalo", "4368123987654321000", "Có"]
ZALO_ID = "4368123987654321000"
HOOK = "https://parents.example.vn/hook?t=abc"


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def layout(headers: list[str] = HEADERS) -> Layout:
    found = resolve_layout(headers, "guardians", {}, header_row=1)
    assert isinstance(found, Layout), found
    return found


def with_(**changes: str) -> list[str]:
    row = list(GOOD)
    for header, value in changes.items():
        row[HEADERS.index(header.replace("_", " "))] = value
    return row


def parse(*rows: list[str], headers: list[str] = HEADERS):
    numbered = [(n, cells) for n, cells in enumerate(rows, 2)]
    return parse_rows("guardians", numbered, layout(headers), today=TODAY)


# --- mobile numbers ----------------------------------------------------------------------

MOBILES = [
    ("0912345678", "+84912345678"),
    ("0912 345 678", "+84912345678"),
    ("0912.345.678", "+84912345678"),
    ("0912-345-678", "+84912345678"),
    (" 0912\u00a0345\u00a0678 ", "+84912345678"),  # no-break spaces from a word processor
    ("84912345678", "+84912345678"),
    ("+84912345678", "+84912345678"),
    ("+84 912 345 678", "+84912345678"),
    ("(+84) 912 345 678", "+84912345678"),
    ("0389123456", "+84389123456"),  # 03x: Viettel since 2018
    ("0567123456", "+84567123456"),
    ("0701234567", "+84701234567"),
    ("0812345678", "+84812345678"),
]


@pytest.mark.parametrize(("text", "expected"), MOBILES)
def test_mobile_numbers_become_e164(text: str, expected: str) -> None:
    assert parse_mobile(text) == expected


BAD_MOBILES = [
    ("912345678", "'912345678': leading zero lost? format the column as Text"),
    ("01691234567", "'01691234567' is an old 11-digit mobile number: use the 10-digit one "
                    "it became in 2018"),
    ("0241234567", "'0241234567' is not a mobile number (03, 05, 07, 08 or 09...): SMS and "
                   "Zalo reach mobile phones only"),
    ("02253841234", "'02253841234' is not a Vietnamese phone number (10 digits)"),
    ("091234567", "'091234567' is not a Vietnamese phone number (10 digits)"),
    ("+840912345678", "'+840912345678' is not a Vietnamese phone number (10 digits)"),
    ("0912a45678", "'0912a45678' is not a Vietnamese phone number (10 digits)"),
    ("０９１２３４５６７８", "'０９１２３４５６７８' is not a Vietnamese phone number"),
    ("+1 415 555 0100", "'+1 415 555 0100' is not a Vietnamese phone number"),
    ("849123456789", "'849123456789' is not a Vietnamese phone number"),
    ("0912345678\x00", "'0912345678\\x00' is not a Vietnamese phone number (10 digits)"),
]


@pytest.mark.parametrize(("text", "reason"), BAD_MOBILES)
def test_bad_mobile_numbers_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_mobile(text)
    assert str(caught.value) == reason


# --- words and addresses -----------------------------------------------------------------

WORDS = [
    (parse_channel, "Zalo", "zalo"), (parse_channel, "ZALO", "zalo"),
    (parse_channel, "SMS", "sms"), (parse_channel, "tin nhắn", "sms"),
    (parse_channel, "Webhook", "webhook"), (parse_channel, "Không", "none"),
    (parse_channel, nfd("KHÔNG"), "none"), (parse_channel, "none", "none"),
    (parse_relation, "Cha", "father"), (parse_relation, "Bố", "father"),
    (parse_relation, "Mẹ", "mother"), (parse_relation, nfd("má"), "mother"),
    (parse_relation, "Người  giám hộ", "guardian"), (parse_relation, "Khác", "other"),
    (parse_yes_no, "Có", True), (parse_yes_no, "x", True), (parse_yes_no, "Không", False),
    (parse_yes_no, "0", False),
]


@pytest.mark.parametrize(("parse_word", "text", "expected"), WORDS)
def test_vietnamese_and_english_words(parse_word, text: str, expected: object) -> None:
    assert parse_word(text) == expected


BAD_WORDS = [
    (parse_channel, "Email", "'Email' is not Zalo, SMS, Webhook or Không"),
    (parse_relation, "Ông", "'Ông' is not Cha, Mẹ, Người giám hộ or Khác"),
    (parse_yes_no, "Có lẽ", "'Có lẽ' is not Có or Không"),
]


@pytest.mark.parametrize(("parse_word", "text", "reason"), BAD_WORDS)
def test_unknown_words_are_refused(parse_word, text: str, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_word(text)
    assert str(caught.value) == reason


@pytest.mark.parametrize("text", [ZALO_ID, "zalo-uid-2", HOOK, "http://10.0.0.5:8080/notify"])
def test_addresses(text: str) -> None:
    assert parse_address(f" {text} ") == text


BAD_ADDRESSES = [
    ("ftp://files.example.vn/x", "'ftp://files.example.vn/x' is not an http:// or https:// URL"),
    ("https://", "'https://' is not an http:// or https:// URL"),
    ("https://a b.vn/", "'https://a b.vn/' is not an http:// or https:// URL"),
    ("http://host:99999/", "'http://host:99999/' is not an http:// or https:// URL"),
    ("http://[::1/", "'http://[::1/' is not an http:// or https:// URL"),
    ("zalo id 1", "'zalo id 1' is neither a Zalo user id (letters, digits, - and _, at most 64) "
                  "nor an http:// or https:// URL"),
    ("https://x.vn/" + "a" * 500, "longer than 500 characters"),
]


@pytest.mark.parametrize(("text", "reason"), BAD_ADDRESSES)
def test_bad_addresses(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_address(text)
    assert str(caught.value) == reason


# --- is the channel deliverable ----------------------------------------------------------

PHONE = "+84912345678"
CONTACTS = [
    # (channel, phone, address, problems)
    ("none", None, None, []),
    ("none", PHONE, ZALO_ID, []),
    ("sms", PHONE, None, []),
    ("sms", None, None, [("phone", "missing: SMS needs the guardian's mobile number")]),
    ("sms", None, ZALO_ID, [("phone", "missing: SMS needs the guardian's mobile number")]),
    ("zalo", None, ZALO_ID, []),
    ("zalo", PHONE, ZALO_ID, []),
    ("zalo", PHONE, None, [("address", "missing: Zalo needs the guardian's Zalo user id")]),
    ("zalo", None, HOOK, [("address", f"{HOOK!r} is a URL, not a Zalo user id")]),
    ("webhook", None, HOOK, []),
    ("webhook", PHONE, None, [("address", "missing: Webhook needs an http:// or https:// URL")]),
    ("webhook", None, ZALO_ID, [("address", f"{ZALO_ID!r} is not an http:// or https:// URL")]),
]


@pytest.mark.parametrize(("channel", "phone", "address", "problems"), CONTACTS)
def test_contact_problems(channel, phone, address, problems) -> None:
    assert contact_problems(channel, phone, address) == problems


FORM_INPUT = [
    # (channel, phone, address) as typed -> (phone, address, problems)
    (("sms", "0912 345 678", None), ("+84912345678", None, [])),
    (("sms", "  ", ""), (None, None, ["phone: missing: SMS needs the guardian's mobile number"])),
    (("zalo", "0912345678", f" {ZALO_ID} "), ("+84912345678", ZALO_ID, [])),
    # a malformed value is reported once, not again as missing
    (("sms", "12345", None), (None, None, ["phone: '12345' is not a Vietnamese phone number"])),
    (("webhook", "912345678", "ftp://x.vn"), (None, None, [
        "phone: '912345678': leading zero lost? format the column as Text",
        "address: 'ftp://x.vn' is not an http:// or https:// URL"])),
]


@pytest.mark.parametrize(("given", "expected"), FORM_INPUT)
def test_parse_contact_for_the_api(given, expected) -> None:
    assert parse_contact(*given) == expected


@pytest.mark.parametrize(("relation", "year", "problem"), [
    ("mother", 1987, None), ("father", None, None), ("mother", 2005, None),
    ("mother", 2006, "2006 is too close to the pupil's birth year"),
    ("guardian", 2010, None),  # an elder sibling may be the guardian
])
def test_parent_year(relation: str, year: int | None, problem: str | None) -> None:
    assert parent_year_problem(relation, year, 2017) == problem


def test_same_name_ignores_normal_form_case_and_spacing() -> None:
    assert same_name(nfd("TRẦN  thị Cúc "), "Trần Thị Cúc")
    assert not same_name("Trần Thị Cúc", "Trần Thị Cục")


# --- whole rows --------------------------------------------------------------------------


def test_a_good_row() -> None:
    parsed = parse(GOOD)
    assert parsed.errors == []
    assert parsed.records == [GuardianContactRecord(
        row=2, student="0311234567", pupil_name="Nguyễn Văn An", relation="mother",
        full_name="Trần Thị Cúc", birth_year=1987, phone="+84912345678", channel="zalo",
        address=ZALO_ID, notify=True)]


def test_names_are_nfc_and_optional_cells_may_be_empty() -> None:
    row = with_(Họ_và_tên=nfd("  Trần   Thị Cúc "), Họ_tên_học_sinh="", Năm_sinh="",
                Nhận_thông_báo="")
    [record] = parse(row).records
    assert record.full_name == "Trần Thị Cúc"
    assert unicodedata.is_normalized("NFC", record.full_name)
    # empty year and flag: keep what is stored
    assert (record.pupil_name, record.birth_year, record.notify) == (None, None, None)


ROW_CASES = [
    # (changes, [(column, reason)])
    ({"Mã học sinh": ""}, [("Mã học sinh", "missing")]),
    ({"Quan hệ": "Ông"}, [("Quan hệ", "'Ông' is not Cha, Mẹ, Người giám hộ or Khác")]),
    ({"Họ và tên": "Trần 3"}, [("Họ và tên", "'Trần 3' is not a name (letters only)")]),
    ({"Số điện thoại": "912345678"},
     [("Số điện thoại", "'912345678': leading zero lost? format the column as Text")]),
    ({"Kênh nhận thông báo": ""}, [("Kênh nhận thông báo", "missing")]),
    ({"Kênh nhận thông báo": "SMS", "Số điện thoại": ""},
     [("Số điện thoại", "missing: SMS needs the guardian's mobile number")]),
    ({"Địa chỉ nhận": ""}, [("Địa chỉ nhận", "missing: Zalo needs the guardian's Zalo user id")]),
    ({"Kênh nhận thông báo": "Webhook"},
     [("Địa chỉ nhận", f"{ZALO_ID!r} is not an http:// or https:// URL")]),
    ({"Kênh nhận thông báo": "Webhook", "Địa chỉ nhận": HOOK}, []),
    ({"Kênh nhận thông báo": "Không", "Số điện thoại": "", "Địa chỉ nhận": ""}, []),
    ({"Nhận thông báo": "Có lẽ"}, [("Nhận thông báo", "'Có lẽ' is not Có or Không")]),
    ({"Năm sinh": "87"}, [("Năm sinh", "'87' is not a year yyyy")]),
    # every problem of the row, in column order, not only the first
    ({"Quan hệ": "", "Số điện thoại": "0241234567", "Kênh nhận thông báo": "Thư"},
     [("Quan hệ", "missing"),
      ("Số điện thoại", "'0241234567' is not a mobile number (03, 05, 07, 08 or 09...): SMS "
                        "and Zalo reach mobile phones only"),
      ("Kênh nhận thông báo", "'Thư' is not Zalo, SMS, Webhook or Không")]),
]


@pytest.mark.parametrize(("changes", "errors"), ROW_CASES)
def test_bad_rows_name_each_cell(changes: dict[str, str], errors) -> None:
    row = list(GOOD)
    for header, value in changes.items():
        row[HEADERS.index(header)] = value
    parsed = parse(row)
    assert [(e.column, e.reason) for e in parsed.errors] == errors
    assert len(parsed.records) == (0 if errors else 1)


def test_a_channel_needing_a_column_the_file_lacks_is_reported_on_the_channel() -> None:
    headers = [h for h in HEADERS if h != "Địa chỉ nhận"]
    row = [c for h, c in zip(HEADERS, GOOD, strict=True) if h != "Địa chỉ nhận"]
    parsed = parse(row, headers=headers)
    assert parsed.errors == [RowError(2, "Kênh nhận thông báo",
                                      "missing: Zalo needs the guardian's Zalo user id "
                                      "(the file has no column Địa chỉ nhận)")]


def test_the_same_guardian_twice_is_refused_on_the_later_row() -> None:
    again = with_(STT="2", Họ_và_tên=nfd("TRẦN THỊ CÚC"))
    father = with_(STT="3", Quan_hệ="Cha", Họ_và_tên="Nguyễn Văn Bình")
    parsed = parse(GOOD, again, father)
    assert [r.row for r in parsed.records] == [2, 4]
    assert parsed.errors == [RowError(3, "Họ và tên",
                                      "'TRẦN THỊ CÚC' (Mẹ of 0311234567) repeats row 2")]


def test_required_columns() -> None:
    found = resolve_layout(["STT", "Mã học sinh", "Họ và tên"], "guardians", {}, header_row=1)
    assert isinstance(found, list)
    assert [(p.column, p.reason) for p in found] == [
        ("Quan hệ", "missing required column"),
        ("Kênh nhận thông báo", "missing required column"),
    ]
