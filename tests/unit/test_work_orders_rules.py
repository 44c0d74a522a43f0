"""The equipment page's pure rules for work orders and the chart (issue #13), as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboard.builders.equipment import default_chart_asset, history_items
from hub.equipment.alarms import AlarmPublic, WorkOrderPublic
from hub.equipment.assets import AssetPublic

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def asset(tag: str, lamp: float | None) -> AssetPublic:
    return AssetPublic(tag=tag, type="projector" if lamp is not None else "pc", model=None,
                       serial=None, school_id="s", room="P.101", purchase_date=None,
                       warranty_end=None, rated_lamp_hours=4000 if lamp else None,
                       status="in_service", device_id=None, complete=True, device_state=None,
                       power=None, lamp_hours=lamp, error=None, last_seen=None, open_alarms=0)


@pytest.mark.parametrize(("assets", "chosen"), [
    ([], None),
    ([asset("PC-1", None)], "PC-1"),  # nothing reports lamp hours: the first still
    ([asset("PC-1", None), asset("PJ-1", 700.0)], "PJ-1"),  # the demo's blank chart
    ([asset("PJ-1", 0.0), asset("PJ-2", 900.0)], "PJ-1"),  # zero hours are hours
    ([asset("PC-1", None), asset("PC-2", None), asset("PJ-9", 10.0)], "PJ-9"),
])
def test_the_chart_opens_on_an_asset_with_lamp_hours(assets: list[AssetPublic],
                                                     chosen: str | None) -> None:
    assert default_chart_asset(assets) == chosen


def alarm(i: int, at: datetime) -> AlarmPublic:
    fields: dict[str, Any] = dict(
        id=i, subject="PJ-1", asset_tag="PJ-1", device_id=None, school_id="s", room=None,
        type="lamp_life", severity="minor", state="active_unack", message="lamp", value=None,
        raised_at=at, last_raised_at=at, occurrences=1, condition_cleared_at=None,
        acked_at=None, acked_by=None, ack_comment=None, cleared_at=None, cleared_by=None,
        clear_comment=None, work_order_id=None)
    return AlarmPublic(**fields)


def order(i: int, opened: datetime, closed: datetime | None) -> WorkOrderPublic:
    return WorkOrderPublic(id=i, alarm_id=1, asset_tag="PJ-1", school_id="s",
                           state="closed" if closed else "open", assignee="Bình", note="n",
                           opened_by="ql", opened_at=opened,
                           closed_by="ql" if closed else None, closed_at=closed,
                           close_note="done" if closed else None)


@pytest.mark.parametrize(("alarms", "orders", "expected"), [
    ([], [], []),
    ([alarm(1, T0)], [], [("alarm", 1)]),
    ([alarm(1, T0)], [order(5, T0 + timedelta(hours=1), None)],
     [("opened", 5), ("alarm", 1)]),
    ([alarm(1, T0)], [order(5, T0 + timedelta(hours=1), T0 + timedelta(hours=3))],
     [("closed", 5), ("opened", 5), ("alarm", 1)]),
    # opened in the same instant as the alarm: listed after it (newest first: above it)
    ([alarm(1, T0)], [order(5, T0, None)], [("opened", 5), ("alarm", 1)]),
    ([alarm(1, T0), alarm(2, T0 + timedelta(days=1))],
     [order(5, T0 + timedelta(hours=1), T0 + timedelta(hours=2))],
     [("alarm", 2), ("closed", 5), ("opened", 5), ("alarm", 1)]),
])
def test_history_newest_first(alarms: list[AlarmPublic], orders: list[WorkOrderPublic],
                              expected: list[tuple[str, int]]) -> None:
    assert [(i.kind, i.ref) for i in history_items(alarms, orders)] == expected


def test_history_carries_who_and_the_notes() -> None:
    items = history_items([], [order(5, T0, T0 + timedelta(hours=2))])
    closed, opened = items
    assert (closed.by, closed.note, closed.assignee) == ("ql", "done", None)
    assert (opened.by, opened.note, opened.assignee) == ("ql", "n", "Bình")
