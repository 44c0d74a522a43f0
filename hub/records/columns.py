"""The columns of the education database's exports and how a file's headers map onto them.

Pure: no I/O. A header is matched after NFC normalisation, case folding and collapsing
whitespace, so "Họ và tên", "HỌ VÀ TÊN" and a decomposed (NFD) "Họ và tên" are one header.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

Kind = Literal["students", "staff", "cards", "guardians"]
KINDS: Final[tuple[Kind, ...]] = ("students", "staff", "cards", "guardians")

# Rows searched for the header: exports from the education database put a title, the
# school's name and a blank line above the table.
HEADER_SEARCH_ROWS: Final = 10
# A row is taken as the header when it names at least this many known columns.
HEADER_MIN_KNOWN: Final = 2


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str  # as written in exports, NFC
    required: bool = False
    stored: bool = True  # False: read and checked for shape, then dropped
    aliases: tuple[str, ...] = ()


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def header_key(text: str) -> str:
    return " ".join(nfc(text).casefold().split())


# Ethnicity is sensitive personal data under Decree 13/2023 (Art. 2(4)), and place of
# birth registration and nationality are not needed to open a gate or count attendance:
# such columns are accepted so an unmodified export imports, but they are not stored.
STUDENT_COLUMNS: Final = (
    Column("seq", "STT", stored=False),
    Column("class", "Mã lớp", required=True, aliases=("Lớp", "Tên lớp")),
    Column("moet_id", "Mã định danh Bộ GD&ĐT", aliases=("Mã định danh", "Mã học sinh")),
    Column("full_name", "Họ và tên", required=True, aliases=("Họ tên",)),
    Column("birth_date", "Ngày sinh", required=True),
    Column("gender", "Giới tính", required=True),
    Column("ethnicity", "Dân tộc", stored=False),
    Column("nationality", "Quốc tịch", stored=False),
    Column("province", "Tỉnh", stored=False, aliases=("Tỉnh/Thành phố",)),
    Column("district", "Huyện", stored=False, aliases=("Quận/Huyện",)),
    Column("commune", "Xã", stored=False, aliases=("Xã/Phường",)),
    Column("father_name", "Họ tên cha"),
    Column("father_birth_year", "Năm sinh cha"),
    Column("mother_name", "Họ tên mẹ"),
    Column("mother_birth_year", "Năm sinh mẹ"),
    Column("personal_id", "Số ĐDCN", aliases=("Số định danh cá nhân", "CCCD")),
)

STAFF_COLUMNS: Final = (
    Column("seq", "STT", stored=False),
    Column("staff_code", "Mã cán bộ", required=True),
    Column("full_name", "Họ và tên", required=True, aliases=("Họ tên",)),
    Column("birth_date", "Ngày sinh"),
    Column("gender", "Giới tính"),
    Column("position", "Chức vụ"),
    Column("personal_id", "Số ĐDCN", aliases=("Số định danh cá nhân", "CCCD")),
    Column("moet_id", "Mã định danh Bộ GD&ĐT"),
    Column("phone", "Điện thoại", aliases=("Số điện thoại",)),
)

CARD_COLUMNS: Final = (
    Column("seq", "STT", stored=False),
    Column("uid", "UID", required=True, aliases=("Mã thẻ",)),
    Column("student", "Mã học sinh"),
    Column("staff", "Mã cán bộ"),
    Column("status", "Trạng thái", required=True),
)

# Parents' contacts: the education database's export carries only their names, so the
# school collects phone numbers and Zalo ids on its own list. The pupil is named as on a
# card list (MOET id or person code); the pupil's name and class are there for the clerk
# and, for the name, to catch a mistyped code before a parent gets another child's news.
GUARDIAN_COLUMNS: Final = (
    Column("seq", "STT", stored=False),
    Column("student", "Mã học sinh", required=True, aliases=("Mã định danh Bộ GD&ĐT",)),
    Column("class", "Lớp", stored=False, aliases=("Mã lớp",)),
    Column("pupil_name", "Họ tên học sinh", stored=False),
    Column("relation", "Quan hệ", required=True),
    Column("full_name", "Họ và tên", required=True,
           aliases=("Họ tên", "Họ tên phụ huynh", "Họ tên người giám hộ")),
    Column("birth_year", "Năm sinh"),
    Column("phone", "Số điện thoại", aliases=("Điện thoại",)),
    Column("channel", "Kênh nhận thông báo", required=True, aliases=("Kênh",)),
    Column("address", "Địa chỉ nhận", aliases=("Zalo ID", "Webhook URL")),
    Column("notify", "Nhận thông báo"),
)

COLUMNS: Final[Mapping[Kind, tuple[Column, ...]]] = {
    "students": STUDENT_COLUMNS,
    "staff": STAFF_COLUMNS,
    "cards": CARD_COLUMNS,
    "guardians": GUARDIAN_COLUMNS,
}


@dataclass(frozen=True, slots=True)
class HeaderProblem:
    column: str  # header text as in the file, or the expected header when missing
    reason: str


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each known column sits in the file, and the header text the file uses for it."""

    header_row: int  # 1-based spreadsheet row of the header
    index: Mapping[str, int]  # column key -> 0-based position
    header: Mapping[str, str]  # column key -> header text as written in the file


def _lookup(kind: Kind, mapping: Mapping[str, str | None]) -> dict[str, str | None]:
    """Normalised header text -> column key (None: a column the operator asked to ignore)."""
    table: dict[str, str | None] = {}
    columns = COLUMNS[kind]
    keys = {c.key for c in columns}
    by_header = {header_key(c.header): c.key for c in columns}
    for column in columns:
        for text in (column.header, *column.aliases):
            table[header_key(text)] = column.key
    for text, target in mapping.items():
        if target is None:
            table[header_key(text)] = None
        elif target in keys:
            table[header_key(text)] = target
        elif header_key(target) in by_header:
            table[header_key(text)] = by_header[header_key(target)]
        else:
            raise ValueError(
                f"mapping {text!r} -> {target!r}: not a column of {kind} "
                f"(one of {', '.join(c.header for c in columns)}, or null to ignore)"
            )
    return table


def find_header_row(
    rows: Sequence[Sequence[str]], kind: Kind, mapping: Mapping[str, str | None]
) -> int | None:
    """0-based index of the first row naming enough known columns, among the first few."""
    table = _lookup(kind, mapping)
    for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        known = sum(1 for cell in cells if table.get(header_key(cell)) is not None)
        if known >= HEADER_MIN_KNOWN:
            return index
    return None


def resolve_layout(
    headers: Sequence[str],
    kind: Kind,
    mapping: Mapping[str, str | None],
    *,
    header_row: int,
) -> Layout | list[HeaderProblem]:
    """The layout of a header row, or every problem with it.

    Unknown headers are refused rather than skipped: a misspelt optional column (say
    "So DDCN") would otherwise drop its data without a word. A mapping entry with the
    value null tells the importer to ignore a column on purpose.
    """
    table = _lookup(kind, mapping)
    problems: list[HeaderProblem] = []
    index: dict[str, int] = {}
    header: dict[str, str] = {}
    for position, raw in enumerate(headers):
        text = " ".join(nfc(raw).split())
        if not text:
            continue
        norm = header_key(text)
        if norm not in table:
            problems.append(HeaderProblem(text, "unknown column (map it, or map it to null "
                                                "to ignore it, with --mapping)"))
            continue
        key = table[norm]
        if key is None:
            continue
        if key in index:
            problems.append(HeaderProblem(text, f"same column as {header[key]!r}"))
            continue
        index[key] = position
        header[key] = text
    for column in COLUMNS[kind]:
        if column.required and column.key not in index:
            problems.append(HeaderProblem(column.header, "missing required column"))
    if problems:
        return problems
    return Layout(header_row=header_row, index=index, header=header)
