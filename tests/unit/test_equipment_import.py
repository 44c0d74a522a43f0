"""Parsing and validating an asset register file (pure), and the rollup arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from hub.equipment.importer import fold, parse_rows, read_table
from hub.equipment.rollups import RawRow, aggregate, floor_bucket
from hub.equipment.series import choose_bucket

HEADER = ["Mã tài sản", "Loại", "Model", "Số serial", "Phòng", "Ngày mua",
          "Hết bảo hành", "Tuổi thọ bóng đèn", "Trạng thái", "device"]
GOOD = ["PJ-A-101", "Máy chiếu", "Epson EB-X51", "SN1", "P.101", "01/09/2022",
        "01/09/2025", "4000", "Đang sử dụng", "a-r101"]


def test_fold() -> None:
    assert fold("  Hết  Bảo Hành ") == "het bao hanh"
    assert fold("Đang sửa") == "dang sua"


def test_good_row() -> None:
    parsed = parse_rows([HEADER, GOOD])
    assert parsed.errors == []
    [r] = parsed.records
    assert (r.tag, r.type, r.room, r.purchase_date, r.rated_lamp_hours, r.status, r.device) == (
        "PJ-A-101", "projector", "P.101", date(2022, 9, 1), 4000, "in_service", "a-r101")


def _row(**changes: str) -> list[str]:
    row = list(GOOD)
    for i, h in enumerate(HEADER):
        if h in changes:
            row[i] = changes[h]
    return row


BAD_CASES = [
    pytest.param({"Mã tài sản": "bad tag!"}, "Mã tài sản", "is not a tag", id="tag"),
    pytest.param({"Loại": "toaster"}, "Loại", "is not one of", id="type"),
    pytest.param({"Ngày mua": "31/02/2022"}, "Ngày mua", "is not a date", id="date"),
    pytest.param({"Hết bảo hành": "01/01/2020"}, "Hết bảo hành", "before the purchase",
                 id="warranty-before-purchase"),
    pytest.param({"Tuổi thọ bóng đèn": "lots"}, "Tuổi thọ bóng đèn", "whole number",
                 id="lamp-hours"),
    pytest.param({"Tuổi thọ bóng đèn": "0"}, "Tuổi thọ bóng đèn", "outside", id="lamp-zero"),
    pytest.param({"Trạng thái": "lost"}, "Trạng thái", "is not one of", id="status"),
    pytest.param({"device": "Bad Device"}, "device", "not a device id", id="device"),
    pytest.param({"Mã tài sản": ""}, "Mã tài sản", "required", id="tag-missing"),
    pytest.param({"Loại": "TV"}, "Tuổi thọ bóng đèn", "only projectors", id="lamp-on-tv"),
]


@pytest.mark.parametrize(("changes", "column", "reason"), BAD_CASES)
def test_bad_rows_name_row_and_column(changes: dict[str, str], column: str,
                                      reason: str) -> None:
    # the first data row is valid (row 2); the bad one is row 3
    parsed = parse_rows([HEADER, _row(**{"Mã tài sản": "PJ-OK"}), _row(**changes)])
    assert [r.tag for r in parsed.records] == ["PJ-OK"]
    rendered = [e.render("f.csv") for e in parsed.errors]
    assert any(line.startswith(f"f.csv:3:{column}: ") and reason in line
               for line in rendered), rendered


def test_duplicate_tag_names_first_row() -> None:
    parsed = parse_rows([HEADER, GOOD, GOOD])
    assert [e.render("a.csv") for e in parsed.errors] == [
        "a.csv:3:Mã tài sản: 'PJ-A-101' already on row 2"]


def test_missing_required_column() -> None:
    parsed = parse_rows([["model"], ["x"]])
    assert {e.column for e in parsed.errors} == {"tag", "type"}


def test_blank_lines_ignored_and_empty_file() -> None:
    assert parse_rows([HEADER, GOOD, ["", ""]]).rows == 1
    assert parse_rows([]).errors[0].reason == "the file is empty"


def test_read_csv_and_xlsx(tmp_path: Path) -> None:
    from openpyxl import Workbook

    csv_path = tmp_path / "a.csv"
    csv_path.write_text(",".join(HEADER) + "\n" + ",".join(GOOD) + "\n", encoding="utf-8-sig")
    assert read_table(csv_path)[1][0] == "PJ-A-101"
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    ws.append([*GOOD[:5], datetime(2022, 9, 1), "01/09/2025", 4000, *GOOD[8:]])
    xlsx = tmp_path / "a.xlsx"
    wb.save(xlsx)
    parsed = parse_rows(read_table(xlsx))
    assert parsed.errors == [] and parsed.records[0].purchase_date == date(2022, 9, 1)
    assert parsed.records[0].rated_lamp_hours == 4000


def test_floor_bucket_and_aggregate() -> None:
    t = datetime(2026, 11, 30, 1, 7, 31, tzinfo=UTC)
    assert floor_bucket(t, timedelta(minutes=5)) == datetime(2026, 11, 30, 1, 5, tzinfo=UTC)
    assert floor_bucket(t, timedelta(hours=1)) == datetime(2026, 11, 30, 1, tzinfo=UTC)
    rows = [RawRow("PJ", "S", "m", t + timedelta(seconds=s), v)
            for s, v in ((0, 1.0), (10, 3.0), (20, 2.0))]
    [(key, agg)] = aggregate(rows, timedelta(minutes=5)).items()
    assert key[2] == datetime(2026, 11, 30, 1, 5, tzinfo=UTC)
    assert (agg.n, agg.sum, agg.min, agg.max, agg.last) == (3, 6.0, 1.0, 3.0, 2.0)


@pytest.mark.parametrize(("hours", "bucket"), [(1, "raw"), (24, "5m"), (24 * 7, "1h")])
def test_choose_bucket(hours: int, bucket: str) -> None:
    assert choose_bucket(timedelta(hours=hours)) == bucket
