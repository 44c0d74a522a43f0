"""Pure builders of the equipment page."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dashboard.builders.equipment import (
    EquipmentView,
    build_alarm_list,
    build_asset_table,
    build_equipment_kpis,
    build_metric_figure,
    lamp_share,
)
from hub.equipment.alarms import AlarmPublic
from hub.equipment.assets import AssetPublic, CoveragePublic, CoverageRow
from hub.equipment.series import SeriesPoint

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def asset(tag: str, hours: float | None, rated: int | None = 4000, **kw: Any) -> AssetPublic:
    base: dict[str, Any] = dict(
        tag=tag, type="projector", model="Epson", serial="S", school_id="s1", room="P.101",
        purchase_date=date(2022, 1, 1), warranty_end=date(2025, 1, 1), rated_lamp_hours=rated,
        status="in_service", device_id="d1", complete=True, device_state="online",
        power="on", lamp_hours=hours, error="ok", last_seen=NOW, open_alarms=0)
    base.update(kw)
    return AssetPublic(**base)


def alarm(i: int, kind: str, state: str) -> AlarmPublic:
    return AlarmPublic(
        id=i, subject="PJ-1", asset_tag="PJ-1", device_id="d1", school_id="s1", room="P.101",
        type=kind, severity="major", state=state, message="m", value=None, raised_at=NOW,
        last_raised_at=NOW, occurrences=1, condition_cleared_at=None, acked_at=None,
        acked_by=None, ack_comment=None, cleared_at=None, cleared_by=None, clear_comment=None,
        work_order_id=None)


def text(component: Any) -> str:
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(text(c) for c in component)
    children = getattr(component, "children", None)
    return text(children) if children is not None else ""


@pytest.mark.parametrize(("hours", "rated", "share"), [
    (2000, 4000, 0.5), (None, 4000, None), (100, None, None), (4400, 4000, 1.1)])
def test_lamp_share(hours: float | None, rated: int | None, share: float | None) -> None:
    assert lamp_share(asset("A", hours, rated)) == share


def test_asset_table_groups_by_school_and_colours_lamps() -> None:
    table = build_asset_table(
        [asset("A", 1000), asset("B", 3700), asset("C", 4100, school_id="s2",
                                                    error="fan", power="off")],
        {"s1": "Trường Một", "s2": "Trường Hai"}, "vi")
    rendered = str(table)
    assert "eq-lamp-ok" in rendered and "eq-lamp-warn" in rendered
    assert "eq-lamp-alert" in rendered
    words = text(table)
    assert "Trường Một" in words and "Trường Hai" in words and "fan" in words
    assert "Đang bật" in words and "Tắt" in words


def test_empty_states() -> None:
    assert "Chưa có tài sản" in text(build_asset_table([], {}, "vi"))
    assert "No open alarms" in text(build_alarm_list([], {}, "en", TZ))


def test_alarm_list_buttons() -> None:
    items = build_alarm_list([alarm(1, "projector_error", "active_unack"),
                              alarm(2, "lamp_life", "active_ack")], {"s1": "S"}, "vi", TZ)
    rendered = str(items)
    assert "Máy chiếu báo lỗi" in text(items) and "Bóng đèn sắp hết" in text(items)
    assert "'type': 'eq-ack', 'id': 1" in rendered
    # an acknowledged alarm cannot be acknowledged again: its button is disabled
    assert rendered.count("disabled=True") == 1


def test_alarm_list_is_capped_with_a_count_of_the_rest() -> None:
    alarms = [alarm(i, "device_offline", "active_unack") for i in range(1, 8)]
    items = build_alarm_list(alarms, {"s1": "S"}, "en", TZ, limit=5)
    rendered = str(items)
    assert rendered.count("'type': 'eq-ack'") == 5
    assert "'id': 5" in rendered and "'id': 6" not in rendered
    assert "and 2 more alarms" in text(items)
    assert "more alarms" not in text(build_alarm_list(alarms, {"s1": "S"}, "en", TZ, limit=7))


def test_kpis() -> None:
    view = EquipmentView(
        assets=[asset("A", 1)], alarms=[alarm(1, "lamp_life", "cleared_unack")],
        coverage=CoveragePublic(schools=[], district=CoverageRow(
            school_id="*", assets=4, complete=3, share=0.75)), schools=[("s1", "S")])
    words = text(build_equipment_kpis(view, "en"))
    assert "75% (3/4)" in words and "Unacknowledged" in words


def test_metric_figure_local_time_and_empty() -> None:
    pts = [SeriesPoint(bucket=NOW, avg=1.0, min=0.5, max=2.0, last=1.0, n=3)]
    fig = build_metric_figure(pts, "env.temp_c", "vi", TZ)
    assert fig.data[-1].x[0] == datetime(2026, 11, 30, 9, 0)
    assert len(fig.data) == 3  # the min/max band and the average
    empty = build_metric_figure([], "env.temp_c", "en")
    assert empty.layout.annotations[0].text == "No data in the last 24 hours"
