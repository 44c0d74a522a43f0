"""The exchange page's pure parts (issue 15): totals over receivers, period labels, and
the tables' rows and empty states."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dashboard.builders.exchange import (
    build_deliveries,
    build_endpoints,
    moment,
    period_label,
    totals,
)
from dashboard.data.exchange import Delivery, Endpoint

VN = ZoneInfo("Asia/Ho_Chi_Minh")
AT = dt.datetime(2026, 12, 7, 1, 30, tzinfo=dt.UTC)


def _delivery(kind: str = "attendance_daily_aggregate", period: dt.date = dt.date(2026, 12, 4),
              state: str = "sent", endpoint: str | None = "csdl") -> Delivery:
    return Delivery(1, "d-1", endpoint, kind, period, state, 1, None, None,  # type: ignore[arg-type]
                    AT, AT)


@pytest.mark.parametrize(("counts", "expected"), [
    ({}, {"queued": 0, "sent": 0, "failed": 0, "dead": 0}),
    ({"a": {"sent": 2, "dead": 1}, "b": {"sent": 1, "failed": 3}},
     {"queued": 0, "sent": 3, "failed": 3, "dead": 1}),
])
def test_totals(counts: dict[str, dict[str, int]], expected: dict[str, int]) -> None:
    assert totals(counts) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("delivery", "label"), [
    (_delivery(), "04/12/2026"),
    (_delivery("kpi_snapshot", dt.date(2026, 11, 1)), "11/2026"),
])
def test_period_label(delivery: Delivery, label: str) -> None:
    assert period_label(delivery) == label


def test_moment_is_district_time() -> None:
    assert moment(AT, VN) == "07/12/2026 08:30"
    assert moment(None, VN) == "—"


def test_empty_states_and_rows() -> None:
    assert build_endpoints([], {}, "en", VN).id == "xp-no-endpoints"
    assert build_deliveries([], "vi", VN).id == "xp-no-deliveries"
    table = build_deliveries([_delivery(endpoint=None, state="dead")], "en", VN)
    text = str(table.to_plotly_json())
    assert "(removed)" in text and "Given up" in text
    endpoint = Endpoint(1, "csdl", "https://e.vn/p", ("kpi_snapshot",), AT, "da")
    rows = str(build_endpoints([endpoint], {"csdl": {"sent": 4}}, "vi", VN).to_plotly_json())
    assert "Chỉ tiêu tháng" in rows and "https://e.vn/p" in rows
