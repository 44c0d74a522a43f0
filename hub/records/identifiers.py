"""Vietnamese national identifiers of a pupil: validation and construction, no I/O.

The personal identification number (số định danh cá nhân, also the CCCD number)
has 12 digits: a 3-digit province code of the birth registration, one
century-and-gender digit, the last two digits of the birth year, then 6 digits
the registry assigns (Nghị định 137/2015/NĐ-CP, Điều 7; Thông tư 07/2016/TT-BCA
for the province codes; kept by Nghị định 70/2024/NĐ-CP).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal

Gender = Literal["M", "F"]

HAI_PHONG: Final = "031"

# The 63 provinces as coded before the 2025 merger into 34. A personal id keeps
# the province of its birth registration for life, so the old codes stay valid
# (Hải Dương, 030, is now part of Hải Phòng but its pupils keep 030).
_PROVINCES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}
PROVINCES: Final[Mapping[str, str]] = MappingProxyType(
    {code: unicodedata.normalize("NFC", name) for code, name in _PROVINCES.items()}
)

# Index = century digit // 2; male is even, female odd. The decree gives 8/9 to
# the 24th century (2300-2399), not to the 1800s: nobody alive was born then.
CENTURY_STARTS: Final = (1900, 2000, 2100, 2200, 2300)
MIN_BIRTH_YEAR: Final = CENTURY_STARTS[0]
MAX_BIRTH_YEAR: Final = CENTURY_STARTS[-1] + 99

PERSONAL_ID_LENGTH: Final = 12
PERSONAL_SERIAL_LIMIT: Final = 10**6

# Assumption: MOET publishes no format for the pupil id of its education database
# (mã định danh Bộ GD&ĐT). Only the length is certain: 10 digits. We expect the first 3
# to be the province code of the table above, but real exports carry ids starting with a
# 2-digit province number, so an unexpected prefix is a warning (moet_id_warnings), never
# a refusal. Revisit when MOET documents the structure.
MOET_ID_LENGTH: Final = 10
MOET_SERIAL_LIMIT: Final = 10 ** (MOET_ID_LENGTH - 3)


class IdProblem(StrEnum):
    """What is wrong with an identifier. Values are shown to operators on import."""

    NOT_12_DIGITS = "not-12-digits"
    NOT_10_DIGITS = "not-10-digits"
    UNKNOWN_PROVINCE = "unknown-province"
    PROVINCE_MISMATCH = "province-mismatch"
    CENTURY_GENDER_MISMATCH = "century-gender-mismatch"
    YEAR_MISMATCH = "year-mismatch"


@dataclass(frozen=True, slots=True)
class PersonalId:
    """What a personal id tells about its holder."""

    province: str
    gender: Gender
    birth_year: int
    serial: int


def _all_digits(text: str, length: int) -> bool:
    # str.isdigit accepts other scripts' digits and superscripts: only ASCII counts here.
    return len(text) == length and text.isascii() and text.isdigit()


def century_gender_digit(birth_year: int, gender: Gender) -> int:
    if not MIN_BIRTH_YEAR <= birth_year <= MAX_BIRTH_YEAR:
        raise ValueError(f"birth year {birth_year} outside {MIN_BIRTH_YEAR}-{MAX_BIRTH_YEAR}")
    if gender not in ("M", "F"):
        raise ValueError(f"gender must be 'M' or 'F', not {gender!r}")
    return CENTURY_STARTS.index(birth_year // 100 * 100) * 2 + (gender == "F")


def make_personal_id(province: str, birth_year: int, gender: Gender, serial: int) -> str:
    """Build a personal id; raises ValueError for anything it could not encode."""
    if province not in PROVINCES:
        raise ValueError(f"unknown province code {province!r}")
    if not 0 <= serial < PERSONAL_SERIAL_LIMIT:
        raise ValueError(f"serial {serial} outside 0-{PERSONAL_SERIAL_LIMIT - 1}")
    digit = century_gender_digit(birth_year, gender)
    return f"{province}{digit}{birth_year % 100:02d}{serial:06d}"


def decode_personal_id(pid: str) -> PersonalId:
    """Read a personal id that is well formed (raises ValueError otherwise)."""
    if not _all_digits(pid, PERSONAL_ID_LENGTH):
        raise ValueError(IdProblem.NOT_12_DIGITS.value)
    if pid[:3] not in PROVINCES:
        raise ValueError(IdProblem.UNKNOWN_PROVINCE.value)
    digit = int(pid[3])
    return PersonalId(
        province=pid[:3],
        gender="F" if digit % 2 else "M",
        birth_year=CENTURY_STARTS[digit // 2] + int(pid[4:6]),
        serial=int(pid[6:]),
    )


def validate_personal_id(
    pid: str, *, birth_year: int | None = None, gender: Gender | None = None
) -> list[str]:
    """Problems with ``pid``, checked against the holder's records when given; [] when valid."""
    if not _all_digits(pid, PERSONAL_ID_LENGTH):
        return [IdProblem.NOT_12_DIGITS]
    problems: list[str] = []
    if pid[:3] not in PROVINCES:
        problems.append(IdProblem.UNKNOWN_PROVINCE)
    digit = int(pid[3])
    century_ok = birth_year is None or (
        MIN_BIRTH_YEAR <= birth_year <= MAX_BIRTH_YEAR
        and CENTURY_STARTS[digit // 2] == birth_year // 100 * 100
    )
    gender_ok = gender is None or gender == ("F" if digit % 2 else "M")
    if not (century_ok and gender_ok):
        problems.append(IdProblem.CENTURY_GENDER_MISMATCH)
    if birth_year is not None and int(pid[4:6]) != birth_year % 100:
        problems.append(IdProblem.YEAR_MISMATCH)
    return problems


def make_moet_id(province: str, serial: int) -> str:
    if province not in PROVINCES:
        raise ValueError(f"unknown province code {province!r}")
    if not 0 <= serial < MOET_SERIAL_LIMIT:
        raise ValueError(f"serial {serial} outside 0-{MOET_SERIAL_LIMIT - 1}")
    return f"{province}{serial:0{MOET_ID_LENGTH - 3}d}"


def validate_moet_id(moet_id: str, *, province: str | None = None) -> list[str]:
    """What is certainly wrong with a MOET pupil id (not 10 digits; not of ``province``
    when the caller says which province it must be); [] when acceptable."""
    if not _all_digits(moet_id, MOET_ID_LENGTH):
        return [IdProblem.NOT_10_DIGITS]
    if province is not None and moet_id[:3] != province:
        return [IdProblem.PROVINCE_MISMATCH]
    return []


def moet_id_warnings(moet_id: str) -> list[str]:
    """What is unexpected but possible in a well-formed MOET id (the structure is assumed,
    see MOET_ID_LENGTH): worth telling the clerk, not worth refusing the pupil."""
    if _all_digits(moet_id, MOET_ID_LENGTH) and moet_id[:3] not in PROVINCES:
        return [IdProblem.UNKNOWN_PROVINCE]
    return []
