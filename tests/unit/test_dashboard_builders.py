"""Dashboard builders and helpers on sample rows: no server, no browser, no database."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dashboard.builders.district import (
    build_arrivals_figure,
    build_clock,
    build_event_feed,
    build_gate_activity,
    build_school_tiles,
    build_totals,
    district_totals,
)
from dashboard.data.district import DistrictSnapshot, SnapshotCache
from dashboard.formatting import mask_name, school_state, short_school_name
from dashboard.i18n import STRINGS, format_date, language_from_search, level_label, t
from hub.read.queries import (
    ArrivalBucket,
    GateActivity,
    GateEventPublic,
    SchoolAttendance,
    SchoolDayAttendance,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def school(
    sid: str, name: str, level: str, *, enrolled: int = 100, present: int = 80, late: int = 5,
    online: int = 2, total: int = 2,
) -> SchoolAttendance:
    return SchoolAttendance(
        school=sid, name=name, level=level, enrolled=enrolled, present=present, late=late,
        absent=max(enrolled - present - late, 0), devices_online=online, devices_total=total,
    )


SCHOOLS = [
    school("MN-HT", "Trường Mầm non Hải Thành", "mam_non", enrolled=200, present=150, late=10),
    school("TH-AD", "Trường Tiểu học Anh Dũng", "tieu_hoc", online=1, total=3),
    school("THCS-HN", "Trường THCS Hòa Nghĩa", "thcs", online=0, total=1),
    school("THCS-TT", "Trường TH&THCS Tân Thành", "th_thcs", enrolled=0, present=0, late=0),
]
NAMES = {s.school: s.name for s in SCHOOLS}


def event(
    seq: int, *, name: str | None = "Nguyễn Văn An", decision: str = "granted",
    direction: str = "in", resolved: bool = True, school_id: str = "TH-AD",
) -> GateEventPublic:
    ts = datetime(2025, 9, 15, 0, 5, seq % 60, tzinfo=UTC)  # 07:05 in Hải Phòng
    return GateEventPublic(
        device="gate-1", school=school_id, seq=seq, ts=ts, received_at=ts, direction=direction,
        method="card", card_uid="04A1B2C3", person="HS001" if resolved else None,
        person_name=name if resolved else None, class_name="3A" if resolved else None,
        decision=decision, reason=None, resolved=resolved,
    )


def text_of(component: object) -> str:
    """Every string a component tree renders, in document order."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(text_of(c) for c in component)
    return text_of(getattr(component, "children", None))


def find_all(component: object, class_fragment: str) -> list[object]:
    found: list[object] = []
    if isinstance(component, list | tuple):
        for c in component:
            found += find_all(c, class_fragment)
        return found
    if component is None or isinstance(component, str | int | float):
        return found
    if class_fragment in (getattr(component, "className", None) or "").split():
        found.append(component)
    return found + find_all(getattr(component, "children", None), class_fragment)


@pytest.mark.parametrize(
    ("full", "masked"),
    [
        ("Nguyễn Văn An", "Nguyễn V. An"),
        ("Trần Thị Ngọc Ánh", "Trần T. N. Ánh"),
        ("Đỗ Đức Thắng", "Đỗ Đ. Thắng"),
        ("Âu Dương Phong", "Âu D. Phong"),
        ("  Phạm   Thị  Mai Anh ", "Phạm T. M. Anh"),
        ("Lê An", "Lê An"),
        ("An", "An"),
        ("", ""),
        (None, ""),
        # Decomposed input (NFD, as some spreadsheets export) keeps its accents.
        (unicodedata.normalize("NFD", "Nguyễn Ánh Dương"), "Nguyễn Á. Dương"),
    ],
)
def test_mask_name(full: str | None, masked: str) -> None:
    assert mask_name(full) == masked
    assert unicodedata.is_normalized("NFC", mask_name(full))


@pytest.mark.parametrize(
    ("online", "total", "state"),
    [(2, 2, "ok"), (0, 0, "ok"), (1, 3, "warn"), (0, 1, "alert"), (0, 4, "alert")],
)
def test_school_state(online: int, total: int, state: str) -> None:
    assert school_state(school("X", "X", "thcs", online=online, total=total)) == state


def test_short_school_name() -> None:
    assert short_school_name("Trường THCS Hòa Nghĩa") == "THCS Hòa Nghĩa"
    assert short_school_name("Trường") == "Trường"
    assert short_school_name("Mầm non Hoa Sen") == "Mầm non Hoa Sen"


def test_one_tile_per_school_with_state_and_vietnamese_levels() -> None:
    tiles = build_school_tiles(SCHOOLS, "vi")
    assert len(tiles) == len(SCHOOLS)
    assert [tile.id for tile in tiles] == [f"tile-{s.school}" for s in SCHOOLS]
    assert [tile.className for tile in tiles] == [
        "tile tile-ok", "tile tile-warn", "tile tile-alert", "tile tile-ok"
    ]
    text = text_of(tiles)
    for label in ("Mầm non", "Tiểu học", "THCS", "TH&THCS", "Đi muộn", "Vắng", "1/3"):
        assert label in text
    assert "160" in text and "/ 200" in text and "80%" in text  # 150 + 10 of 200
    assert "0%" in text  # a school with nobody enrolled does not divide by zero


def test_no_schools_says_so() -> None:
    assert text_of(build_school_tiles([], "vi")) == "Chưa có trường nào trong hệ thống"


def test_totals_in_vietnamese_and_english() -> None:
    tot = district_totals(SCHOOLS)
    assert (tot.enrolled, tot.present, tot.late, tot.devices_online, tot.devices_total) == (
        400, 310, 20, 5, 8
    )
    vi = text_of(build_totals(SCHOOLS, "vi"))
    for label in ("Sĩ số", "Có mặt", "Đi muộn", "Vắng", "Thiết bị trực tuyến", "5 / 8"):
        assert label in vi
    en = text_of(build_totals(SCHOOLS, "en"))
    for label in ("Enrolled", "Present", "Late", "Absent", "Devices online"):
        assert label in en


def ruled(sid: str, *, school_day: bool = True, enrolled: int = 100, present: int = 60,
          late: int = 5, absent: int = 0, excused: int = 3, pending: int = 32,
          ) -> SchoolDayAttendance:
    return SchoolDayAttendance(
        school=sid, name=f"Trường {sid}", level="thcs", school_day=school_day,
        enrolled=enrolled, present=present, late=late, absent=absent, excused=excused,
        pending=pending, devices_online=1, devices_total=1,
    )


def test_totals_by_the_rules_carry_excused_and_pending_on_the_absent_card() -> None:
    rows = [ruled("A"), ruled("B", absent=7, excused=1, pending=0, present=87),
            ruled("C", school_day=False, enrolled=0, present=0, late=0, excused=0, pending=0)]
    tot = district_totals(rows)
    assert (tot.enrolled, tot.present, tot.late, tot.absent, tot.excused, tot.pending) == (
        200, 147, 10, 7, 4, 32)
    kpis = build_totals(rows, "vi")
    assert len(kpis) == 5  # the wall's one row of cards
    assert [k.id for k in kpis[:4]] == ["kpi-enrolled", "kpi-present", "kpi-late", "kpi-absent"]
    absent = text_of(kpis[3])
    assert "Vắng" in absent and "7" in absent
    assert "Có phép 4" in absent and "Chưa đến 32" in absent
    assert "Excused 4 · Not yet arrived 32" in text_of(build_totals(rows, "en"))
    # Rows without the rules' fields (the head count's) simply have none.
    assert district_totals(SCHOOLS).excused == district_totals(SCHOOLS).pending == 0


def test_a_school_without_school_today_says_so_on_its_tile() -> None:
    off, on = build_school_tiles([ruled("A", school_day=False, enrolled=0, present=0, late=0,
                                        excused=0, pending=0), ruled("B")], "vi")
    assert "Hôm nay không phải ngày học" in text_of(off)
    assert find_all(off, "tile-no-school") and not find_all(off, "tile-absent")
    assert "0%" in text_of(off)  # nobody expected: no division by zero
    assert "Hôm nay không phải ngày học" not in text_of(on)
    assert find_all(on, "tile-late") and find_all(on, "tile-absent")
    assert (off.id, on.id) == ("tile-A", "tile-B")


def test_feed_masks_names_and_flags_denied_and_unresolved() -> None:
    events = [
        event(1),
        event(2, decision="denied", resolved=False),
        event(3, direction="out", name="Trần Thị Ngọc Ánh"),
        event(4, decision="unknown", resolved=False, school_id="GONE"),
    ]
    feed = build_event_feed(events, NAMES, "vi", TZ, show_names=True)
    text = text_of(feed)
    assert "Nguyễn V. An" in text and "Nguyễn Văn An" not in text
    assert "Trần T. N. Ánh" in text
    assert "07:05:01" in text  # shown in the district's time, not UTC
    assert "Tiểu học Anh Dũng" in text
    assert "GONE" in text  # an unknown school code still shows something
    for label in ("Vào", "Ra", "Hợp lệ", "Từ chối", "Không rõ", "Chưa xác định"):
        assert label in text
    rows = find_all(feed, "feed-row")
    assert len(rows) == 4
    assert len(find_all(feed, "unresolved")) == 2
    assert len(find_all(feed, "decision-denied")) == 1


def test_feed_without_names_shows_class_and_decision_only() -> None:
    # The default (SMARTSCHOOL_DASHBOARD_WALL_NAMES off): no name, code or card UID.
    events = [
        event(1),
        event(2, decision="denied", resolved=False),
        event(3, direction="out", name="Trần Thị Ngọc Ánh"),
    ]
    feed = build_event_feed(events, NAMES, "vi", TZ)
    text = text_of(feed)
    for secret in ("Nguyễn", "An", "Ánh", "HS001", "04A1B2C3"):
        assert secret not in text.split(), secret
    assert "Học sinh" not in text  # no student column at all
    assert not find_all(feed, "col-student")
    assert text.count("3A") == 2
    assert "Chưa xác định" in text  # the unknown card says so in the class column
    for label in ("Vào", "Ra", "Hợp lệ", "Từ chối"):
        assert label in text
    assert len(find_all(feed, "feed-row")) == 3
    assert len(find_all(feed, "decision-denied")) == 1


def test_gate_activity_counts_per_school() -> None:
    rows = [GateActivity(school="TH-AD", entered=12, left=3, denied=1),
            GateActivity(school="GONE", entered=0, left=1, denied=0)]
    panel = build_gate_activity(rows, NAMES, "en", 15)
    body = find_all(panel, "activity-row")
    cells = [[text_of(td) for td in row.children] for row in body]  # type: ignore[attr-defined]
    assert cells == [["Whole district", "12", "4", "1"],
                     ["Tiểu học Anh Dũng", "12", "3", "1"],
                     ["GONE", "0", "1", "0"]]
    assert len(find_all(panel, "activity-denied")) == 2  # the total and TH-AD
    empty = build_gate_activity([], NAMES, "vi", 15)
    assert text_of(empty) == "Không có lượt qua cổng nào trong 15 phút qua"


def test_empty_feed() -> None:
    assert text_of(build_event_feed([], NAMES, "en", TZ)) == "No events yet"


def test_arrivals_figure() -> None:
    buckets = [
        ArrivalBucket(bucket=datetime(2025, 9, 15, 6, 50), on_time=3, late=0),
        ArrivalBucket(bucket=datetime(2025, 9, 15, 7, 5), on_time=0, late=2),
    ]
    fig = build_arrivals_figure(buckets, "vi")
    assert [trace.name for trace in fig.data] == ["Đúng giờ", "Đi muộn"]
    assert list(fig.data[0].y) == [3, 0]
    assert fig.layout.uirevision == "arrivals"
    empty = build_arrivals_figure([], "en")
    assert empty.layout.annotations[0].text == "No arrivals today yet"


def test_clock_and_dates() -> None:
    now = datetime(2025, 9, 14, 7, 3, tzinfo=TZ)  # a Sunday
    assert build_clock(now, "vi") == ("07:03", "Chủ Nhật, ngày 14/09/2025")
    assert format_date("en", now) == "Sunday, 14 September 2025"


@pytest.mark.parametrize(
    ("search", "lang"),
    [(None, "vi"), ("", "vi"), ("?lang=en", "en"), ("?lang=EN", "en"), ("?x=1&lang=vi", "vi"),
     ("?lang=fr", "vi"), ("lang=en", "en")],
)
def test_language_from_url(search: str | None, lang: str) -> None:
    assert language_from_search(search, "vi") == lang


def test_every_string_is_translated() -> None:
    assert STRINGS["vi"].keys() == STRINGS["en"].keys()
    assert t("vi", "present") == "Có mặt"
    assert t("en", "no-such-key") == "no-such-key"
    assert [level_label("vi", lv) for lv in ("mam_non", "tieu_hoc", "thcs", "th_thcs")] == [
        "Mầm non", "Tiểu học", "THCS", "TH&THCS"
    ]
    assert level_label("vi", "dai_hoc") == "dai_hoc"


def test_snapshot_cache_serves_many_screens_with_one_load() -> None:
    calls = []

    def load() -> DistrictSnapshot:
        calls.append(1)
        return DistrictSnapshot(now=datetime.now(TZ), schools=[], events=[])

    cache = SnapshotCache(load, ttl=60)
    first = cache.get()
    assert cache.get() is first and len(calls) == 1
    assert SnapshotCache(load, ttl=0).get() is not first
