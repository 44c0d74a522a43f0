"""Single cells of the records lists: what each may say, how it is read, how it is written.

A parser takes the text of one cell and returns its value or raises ``ValueError`` with a
reason the school clerk can act on; the ``*_LABEL`` maps are the words an export writes,
which the matching ``*_WORDS`` maps read back. No I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Final, Literal, TypeVar
from urllib.parse import urlsplit

from hub.records.columns import nfc
from hub.records.identifiers import MAX_BIRTH_YEAR, MIN_BIRTH_YEAR, Gender
from protocol.ids import UID_MAX_HEX, UID_MIN_HEX, is_card_uid

CardStatus = Literal["active", "blocked", "lost"]
Relation = Literal["father", "mother"]
GuardianRelation = Literal["father", "mother", "guardian", "other"]
Channel = Literal["none", "webhook", "zalo", "sms"]
T = TypeVar("T")

MAX_NAME_LEN: Final = 100
# A webhook URL with a long token in its query string still fits; anything longer is junk.
MAX_ADDRESS_LEN: Final = 500
# Mobile numbers since the 2018 renumbering: +84 then 3, 5, 7, 8 or 9 and 8 more digits.
MOBILE_PREFIXES: Final = frozenset("35789")
_DATE_RE: Final = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_YEAR_RE: Final = re.compile(r"^\d{4}$")
# Zalo OA user ids are long digit strings; gateways in front of Zalo use their own ids.
_ZALO_ID_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PHONE_SEPARATORS: Final = re.compile(r"[\s.\-()]")
# Letters of any script, combining marks, spaces, and the apostrophe / hyphen / dot that
# appear in names of other ethnic groups and foreign pupils ("H'Hen Niê", "Y-Moan").
_NAME_RE: Final = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ '’.\-])*$")
# 6A1, 10A2, 1B: grade then a letter and an optional suffix.
_GRADE_CLASS_RE: Final = re.compile(r"^(1[0-2]|[1-9])[A-Za-zĐđ][A-Za-z0-9Đđ.\-]*$")
_KINDERGARTEN_PREFIXES: Final = tuple(
    nfc(p).casefold()
    for p in ("Lớp Mầm", "Lớp Chồi", "Lớp Lá", "Lớp Nhà trẻ", "Nhà trẻ", "Mầm", "Chồi", "Lá",
              "Mẫu giáo")
)

GENDER_WORDS: Final[Mapping[str, Gender]] = {"nam": "M", nfc("nữ"): "F"}
GENDER_LABEL: Final[Mapping[Gender, str]] = {"M": "Nam", "F": nfc("Nữ")}
CARD_STATUS_WORDS: Final[Mapping[str, CardStatus]] = {
    "active": "active",
    "blocked": "blocked",
    "lost": "lost",
    nfc("hoạt động"): "active",
    nfc("khoá"): "blocked",
    nfc("khóa"): "blocked",
    nfc("mất"): "lost",
}
CARD_STATUS_LABEL: Final[Mapping[CardStatus, str]] = {
    "active": nfc("Hoạt động"),
    "blocked": nfc("Khoá"),
    "lost": nfc("Mất"),
}
RELATION_LABEL: Final[Mapping[GuardianRelation, str]] = {
    "father": "Cha",
    "mother": nfc("Mẹ"),
    "guardian": nfc("Người giám hộ"),
    "other": nfc("Khác"),
}
_RELATION_SYNONYMS: Final[Mapping[GuardianRelation, tuple[str, ...]]] = {
    "father": ("Cha", "Bố", "Ba", "father"),
    "mother": ("Mẹ", "Má", "mother"),
    "guardian": ("Người giám hộ", "Giám hộ", "guardian"),
    "other": ("Khác", "other"),
}
RELATION_WORDS: Final[Mapping[str, GuardianRelation]] = {
    nfc(word).casefold(): relation
    for relation, words in _RELATION_SYNONYMS.items()
    for word in words
}
CHANNEL_LABEL: Final[Mapping[Channel, str]] = {
    "none": nfc("Không"),
    "webhook": "Webhook",
    "zalo": "Zalo",
    "sms": "SMS",
}
_CHANNEL_SYNONYMS: Final[Mapping[Channel, tuple[str, ...]]] = {
    "none": ("Không", "none"),
    "webhook": ("Webhook",),
    "zalo": ("Zalo",),
    "sms": ("SMS", "Tin nhắn"),
}
CHANNEL_WORDS: Final[Mapping[str, Channel]] = {
    nfc(word).casefold(): channel
    for channel, words in _CHANNEL_SYNONYMS.items()
    for word in words
}
YES_NO_LABEL: Final[Mapping[bool, str]] = {True: nfc("Có"), False: nfc("Không")}
YES_NO_WORDS: Final[Mapping[str, bool]] = {
    nfc("có"): True, "x": True, "yes": True, "true": True, "1": True,
    nfc("không"): False, "no": False, "false": False, "0": False,
}


def clean_text(text: str) -> str:
    """NFC, trimmed, inner runs of whitespace collapsed; diacritics kept as they are."""
    return " ".join(nfc(text).split())


def parse_name(text: str) -> str:
    name = clean_text(text)
    if not name:
        raise ValueError("empty")
    if len(name) > MAX_NAME_LEN:
        raise ValueError(f"longer than {MAX_NAME_LEN} characters")
    if not _NAME_RE.match(name):
        raise ValueError(f"{name!r} is not a name (letters only)")
    return name


def parse_date(text: str, *, today: date) -> date:
    match = _DATE_RE.match(text.strip())
    if not match:
        raise ValueError(f"{text.strip()!r} is not a date dd/mm/yyyy")
    day, month, year = (int(g) for g in match.groups())
    try:
        value = date(year, month, day)
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a date of the calendar") from None
    if year < MIN_BIRTH_YEAR or value > today:
        raise ValueError(f"{text.strip()!r} is not a plausible birth date")
    return value


def _word(text: str, words: Mapping[str, T], expected: str) -> T:
    """The value of a cell that must be one of a few words (any case, spacing)."""
    found = words.get(clean_text(text).casefold())
    if found is None:
        raise ValueError(f"{clean_text(text)!r} is not {expected}")
    return found


def parse_gender(text: str) -> Gender:
    return _word(text, GENDER_WORDS, "Nam or Nữ")


def parse_year(text: str) -> int:
    value = text.strip()
    if not _YEAR_RE.match(value) or not MIN_BIRTH_YEAR <= int(value) <= MAX_BIRTH_YEAR:
        raise ValueError(f"{value!r} is not a year yyyy")
    return int(value)


def class_grade(name: str) -> int:
    """The grade a class name stands for: 6A1 -> 6, 10A2 -> 10, Lớp Lá 1 -> 0."""
    text = clean_text(name)
    match = _GRADE_CLASS_RE.match(text)
    if match:
        return int(match[1])
    folded = text.casefold()
    if any(folded.startswith(prefix) for prefix in _KINDERGARTEN_PREFIXES):
        return 0
    raise ValueError(f"class {text!r} not understood: expected a grade and a letter "
                     "(6A1, 10A2) or a kindergarten group (Lớp Mầm 1, Lớp Chồi 2, Lớp Lá 3)")


def parse_phone(text: str) -> str:
    """A Vietnamese number as E.164 (+84...), the form SMS and Zalo gateways take."""
    digits = _PHONE_SEPARATORS.sub("", text)
    if digits.startswith("+84"):
        national = digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        raise ValueError(f"{text.strip()!r} is not a Vietnamese phone number")
    if len(national) != 9 or not national.isascii() or not national.isdigit():
        raise ValueError(f"{text.strip()!r} is not a Vietnamese phone number (10 digits)")
    return f"+84{national}"


def parse_mobile(text: str) -> str:
    """A Vietnamese mobile number as E.164: SMS and Zalo reach mobiles, not landlines.

    Accepts 0xxxxxxxxx, 84xxxxxxxxx and +84xxxxxxxxx with spaces, dots or dashes.
    """
    shown = text.strip()
    digits = _PHONE_SEPARATORS.sub("", text)
    if digits.isascii() and digits.isdigit():
        if len(digits) == 9 and digits[0] in MOBILE_PREFIXES:
            # Excel turns a column of digits into numbers and drops the leading zero.
            raise ValueError(f"{shown!r}: leading zero lost? format the column as Text")
        if len(digits) == 11 and digits.startswith("01"):
            raise ValueError(f"{shown!r} is an old 11-digit mobile number: use the 10-digit "
                             "one it became in 2018")
    number = parse_phone(text)
    if number[3] not in MOBILE_PREFIXES:
        raise ValueError(f"{shown!r} is not a mobile number (03, 05, 07, 08 or 09...): "
                         "SMS and Zalo reach mobile phones only")
    return number


def is_url(address: str) -> bool:
    return "://" in address


def parse_address(text: str) -> str:
    """A Zalo user id or an http(s) URL, checked for shape; which of the two the channel
    needs is ``guardians.contact_problems``' business."""
    address = text.strip()
    if len(address) > MAX_ADDRESS_LEN:
        raise ValueError(f"longer than {MAX_ADDRESS_LEN} characters")
    if not is_url(address):
        if not _ZALO_ID_RE.match(address):
            raise ValueError(f"{address!r} is neither a Zalo user id (letters, digits, - and _, "
                             "at most 64) nor an http:// or https:// URL")
        return address
    if not _http_url(address):
        raise ValueError(f"{address!r} is not an http:// or https:// URL")
    return address


def _http_url(text: str) -> bool:
    if not text.isprintable() or any(c.isspace() for c in text):
        return False
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def parse_relation(text: str) -> GuardianRelation:
    return _word(text, RELATION_WORDS, "Cha, Mẹ, Người giám hộ or Khác")


def parse_channel(text: str) -> Channel:
    return _word(text, CHANNEL_WORDS, "Zalo, SMS, Webhook or Không")


def parse_yes_no(text: str) -> bool:
    return _word(text, YES_NO_WORDS, "Có or Không")


def same_name(a: str, b: str) -> bool:
    """Names equal to a reader: NFC, case and spacing aside."""
    return clean_text(a).casefold() == clean_text(b).casefold()


def parse_uid(text: str) -> str:
    uid = re.sub(r"[\s:\-]", "", text).upper()
    if not is_card_uid(uid):
        raise ValueError(f"{text.strip()!r} is not a card UID "
                         f"({UID_MIN_HEX}-{UID_MAX_HEX} hex digits)")
    return uid


def parse_card_status(text: str) -> CardStatus:
    return _word(text, CARD_STATUS_WORDS, "Hoạt động, Khoá or Mất")
