"""The registers' correction control, pure parts: the form's checks, the lesson it starts
on, the statuses it offers (the API's), what the callback answers, and the per-row
buttons only for an account the page found permitted. No server, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, get_args
from zoneinfo import ZoneInfo

import pytest
from dash import no_update

from dashboard.builders.corrections import (
    LESSON_PARTS,
    PANEL_PARTS,
    REASON_MAX,
    STATUSES,
    closed,
    corrected_note,
    default_lesson,
    form_problem,
    lesson_options,
    opened,
    panel_values,
    problem,
    refusal_key,
)
from dashboard.builders.lessons import build_lesson_grid
from dashboard.builders.school import build_register
from dashboard.i18n import STRINGS
from hub.api.routes.attendance_reports import CorrectionCreate
from hub.api.routes.lessons import LessonCorrectionCreate
from hub.attendance.lessons import LessonEntry, LessonPupil, LessonRegister
from hub.attendance.reports import CorrectionInfo
from hub.attendance.rules import CORRECTABLE
from tests.unit.test_dashboard_builders import find_all, text_of
from tests.unit.test_school_builders import REGISTER

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CORR = CorrectionInfo(status="excused", reason="Đi thi học sinh giỏi", corrected_by="gv.7a1",
                      corrected_at=datetime(2026, 11, 30, 3, 5, tzinfo=UTC))


def test_the_statuses_offered_are_the_ones_the_api_and_the_hub_accept() -> None:
    for model in (CorrectionCreate, LessonCorrectionCreate):
        assert set(get_args(model.model_fields["status"].annotation)) == set(STATUSES)
        limits = model.model_fields["reason"].metadata
        assert any(getattr(m, "max_length", None) == REASON_MAX for m in limits)
    assert set(STATUSES) == CORRECTABLE


@pytest.mark.parametrize(("status", "reason", "lesson", "needs_lesson", "key"), [
    ("excused", "Ốm", None, False, None),
    ("excused", "  Ốm  ", 7, True, None),
    ("excused", "", None, False, "corr_need_reason"),
    ("excused", "   \n ", None, False, "corr_need_reason"),
    ("excused", None, None, False, "corr_need_reason"),
    (None, "Ốm", None, False, "corr_need_status"),
    ("pending", "Ốm", None, False, "corr_need_status"),  # derived, never set by hand
    ("no-school", "Ốm", None, False, "corr_need_status"),
    ("excused", "x" * REASON_MAX, None, False, None),
    ("excused", "x" * (REASON_MAX + 1), None, False, "corr_reason_too_long"),
    ("excused", "Ốm", None, True, "corr_need_lesson"),
    (None, "", None, True, "corr_need_lesson"),  # the lesson first: the form's order
])
def test_form_problem(status: str | None, reason: str | None, lesson: int | None,
                      needs_lesson: bool, key: str | None) -> None:
    assert form_problem(status, reason, lesson=lesson, needs_lesson=needs_lesson) == key
    if key is not None:
        assert key in STRINGS["vi"] and key in STRINGS["en"]


LESSONS = [(11, time(7, 0)), (12, time(7, 50)), (13, time(8, 40))]


@pytest.mark.parametrize(("lessons", "now", "chosen"), [
    (LESSONS, time(6, 30), 11),  # before the first: the first
    (LESSONS, time(7, 0), 11),  # at its start
    (LESSONS, time(8, 0), 12),  # the one under way
    (LESSONS, time(8, 39), 12),
    (LESSONS, time(15, 0), 13),  # after the day: the last
    ([], time(8, 0), None),
])
def test_default_lesson(lessons: list[tuple[int, time]], now: time, chosen: int | None) -> None:
    assert default_lesson(lessons, now) == chosen


@pytest.mark.parametrize(("kind", "key"), [
    ("session", "session_ended"), ("forbidden", "corr_forbidden"),
    ("not-found", "corr_not_found"), ("invalid", "corr_refused"),
])
def test_refusal_words(kind: str, key: str) -> None:
    assert refusal_key(kind) == key


def test_panel_values_leave_untouched_parts_alone() -> None:
    values = panel_values(problem("sai"), with_lesson=False)
    assert len(values) == len(PANEL_PARTS)
    assert values[PANEL_PARTS.index(("msg", "children"))] == "sai"
    assert sum(v is no_update for v in values) == len(PANEL_PARTS) - 1
    shut = panel_values(closed(), with_lesson=True)
    assert len(shut) == len(PANEL_PARTS) + len(LESSON_PARTS)
    assert shut[0] == "corr-panel hidden"


def test_opened_day_form_starts_empty_in_the_language() -> None:
    changes = opened("en", "day", name="Trần Thị Bình", code="HS2", day="30/11/2026",
                     status="absent")
    values = dict(zip(PANEL_PARTS, panel_values(changes, with_lesson=False), strict=True))
    assert values[("panel", "className")] == "corr-panel"
    assert values[("title", "children")] == "Correct the day's attendance"
    assert values[("who", "children")] == "Trần Thị Bình · HS2 · 30/11/2026"
    assert values[("now", "children")] == "Now: Absent"
    assert values[("status", "value")] is None and values[("reason", "value")] == ""
    assert [o["value"] for o in values[("status", "options")]] == list(STATUSES)
    assert [o["label"] for o in values[("status", "options")]] == [
        "Present", "Late", "Absent", "Excused"]


def _pupil(code: str, name: str, status: str, correction: CorrectionInfo | None = None
           ) -> LessonPupil:
    return LessonPupil(student=code, full_name=name, status=status, seen_at=None,
                       flags=["corrected"] if correction else [], correction=correction)


def _entry(lesson_id: int, period: int, subject: str, pupils: list[LessonPupil]) -> LessonEntry:
    return LessonEntry(lesson_id=lesson_id, period=period, start=time(6 + period, 0),
                       end=time(6 + period, 45),
                       cutoff=datetime(2026, 11, 30, period, 10, tzinfo=UTC),
                       subject=subject, teacher=None, room="P7", present=0, late=0, absent=0,
                       excused=0, pending=0, not_in_class=0, students=pupils)


LESSON_REGISTER = LessonRegister(
    date=date(2026, 11, 30), school="THCS-HN", class_id=1, class_name="7A1", school_day=True,
    lessons=[_entry(11, 1, "Toán", [_pupil("HS1", "An", "excused", CORR),
                                    _pupil("HS2", "Bình", "absent")]),
             _entry(12, 2, "Văn", [_pupil("HS1", "An", "present"),
                                   _pupil("HS2", "Bình", "pending")])])


def test_lesson_options_say_the_pupils_status_in_each() -> None:
    assert lesson_options(LESSON_REGISTER.lessons, "HS2", "vi") == [
        {"label": "Tiết 1 · Toán (Vắng)", "value": 11},
        {"label": "Tiết 2 · Văn (Chưa đến)", "value": 12}]


def test_corrected_note_names_who_and_when_in_district_time() -> None:
    note = corrected_note(CORR, "en", TZ)
    assert text_of(note) == "✎ gv.7a1 · 10:05 Đi thi học sinh giỏi"
    assert note is not None
    assert note.title == "Corrected by gv.7a1 at 10:05: Đi thi học sinh giỏi"  # type: ignore[attr-defined]
    assert corrected_note(None, "en", TZ) is None


def _buttons(tree: Any) -> list[Any]:
    return find_all(tree, "corr-open")


def test_buttons_only_for_an_account_the_page_found_permitted() -> None:
    assert _buttons(build_register(REGISTER, "vi", TZ)) == []
    assert "Sửa" not in text_of(build_register(REGISTER, "vi", TZ))
    permitted = _buttons(build_register(REGISTER, "vi", TZ, can_correct=True))
    assert [b.id for b in permitted] == [{"type": "sc-corr-open", "student": "HS101"},
                                         {"type": "sc-corr-open", "student": "HS103"}]
    assert _buttons(build_lesson_grid(LESSON_REGISTER, "en", TZ)) == []
    grid = build_lesson_grid(LESSON_REGISTER, "en", TZ, can_correct=True)
    assert [b.id["student"] for b in _buttons(grid)] == ["HS1", "HS2"]
    assert [b.children for b in _buttons(grid)] == ["Correct", "Correct"]
    assert "✎ gv.7a1 · 10:05" in text_of(grid)
