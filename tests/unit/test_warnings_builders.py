"""The warnings page's pure parts (dashboard/builders/warnings.py) and the read side's
scope rule (which kinds a role may read)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dash import html

from dashboard.builders.warnings import build_table, build_tiles, computed_line, kind_options, who
from hub.warnings.read import WarningPublic, WarningRunPublic, visible_kinds
from hub.warnings.rules import KINDS

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AT = datetime(2026, 12, 6, 19, 0, tzinfo=UTC)


def warning(kind: str, **kw: Any) -> WarningPublic:
    base: dict[str, Any] = dict(
        id=1, kind=kind, school="s1", school_name="Trường S1", subject="x",
        episode=date(2026, 12, 7), student=None,
        student_name=None, class_id=None, class_name=None, asset_tag=None,
        detail={"lamp_hours": 3900.0, "rated_hours": 4000, "hours_per_day": 5.0,
                "due": "2027-01-05", "days_left": 29},
        opened_at=AT, updated_at=AT, closed_at=None)
    return WarningPublic(**(base | kw))


@pytest.mark.parametrize(("row", "expected"), [
    (warning("chronic_absence", student_name="Lê An", class_name="6A1"), "Lê An (6A1)"),
    (warning("lateness", student_name="Lê An"), "Lê An"),
    (warning("rising_absence", class_name="6A1", subject="17"), "6A1"),
    (warning("lamp_end_of_life", asset_tag="PJ-1"), "PJ-1"),
    (warning("repeat_fault", subject="gate-1:projector_error"), "gate-1:projector_error"),
])
def test_who(row: WarningPublic, expected: str) -> None:
    assert who(row) == expected


@pytest.mark.parametrize(("role", "kinds"), [
    ("district_admin", list(KINDS)), ("control_room", list(KINDS)),
    ("school_admin", list(KINDS)), ("teacher", list(KINDS)),
    ("facility_manager", ["lamp_end_of_life", "repeat_fault"]),
    ("exchange", ["lamp_end_of_life", "repeat_fault"]),  # never reaches it: the API refuses
])
def test_visible_kinds(role: str, kinds: list[str]) -> None:
    assert visible_kinds(role) == kinds


def test_the_filter_offers_what_the_viewer_may_see() -> None:
    opts = kind_options(["lamp_end_of_life", "repeat_fault"], "en")
    assert [o["value"] for o in opts] == ["", "lamp_end_of_life", "repeat_fault"]
    assert opts[0]["label"] == "All" and opts[1]["label"] == "Projector lamp end of life"
    assert kind_options([], "vi")[0]["label"] == "Tất cả"


def test_tiles_mark_the_empty_kinds() -> None:
    tiles = build_tiles({"chronic_absence": 4, "lateness": 0}, "vi")
    assert [t.id for t in tiles] == ["warn-tile-chronic_absence", "warn-tile-lateness"]
    assert "warn-zero" not in tiles[0].className and "warn-zero" in tiles[1].className


def test_the_table_or_the_empty_notice() -> None:
    empty = build_table([], "en", TZ, total=0)
    assert isinstance(empty, html.P) and empty.children == "No open warnings."
    table = build_table([warning("lamp_end_of_life", asset_tag="PJ-1")], "vi", TZ, total=3)
    assert isinstance(table, html.Div)
    body = table.children[0].children[1].children
    cells = [c.children for c in body[0].children]
    assert cells[1] == "Trường S1" and cells[2] == "PJ-1"
    assert "05/01/2027" in cells[3] and cells[4] == "07/12/2026"
    assert "1" in table.children[1].children and "3" in table.children[1].children


def test_the_computed_line() -> None:
    assert computed_line(None, "en", TZ) == "Not computed yet"
    run = WarningRunPublic(as_of=date(2026, 12, 6), started_at=AT, finished_at=AT, opened=1,
                           closed=0, notified=0, trigger="nightly")
    assert computed_line(run, "vi", TZ) == ("Tính lúc 02:00 07/12/2026 (dữ liệu điểm danh "
                                            "đến hết ngày 06/12/2026)")
