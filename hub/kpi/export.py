"""The yearly report to the city: the indicators as an XLSX sheet in Vietnamese.

One row per indicator of the scope asked for, then of each ward and school in it, so
the clerk can filter by unit; written through hub/spreadsheets.py (inert cells, a title,
a bold frozen header).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from hub.db import Conn
from hub.kpi.indicators import INDICATORS, Ratio, met, month_start, percent, shortfall
from hub.kpi.read import ScopeKpi
from hub.kpi.report import KpiNotFoundError, Where, all_scopes
from hub.spreadsheets import xlsx_bytes

HEADERS: Final = ("Cấp", "Mã đơn vị", "Đơn vị", "Mã chỉ tiêu", "Chỉ tiêu", "Mục tiêu (%)",
                  "Thời hạn", "Kết quả (%)", "Tử số", "Mẫu số", "Còn thiếu", "Đánh giá")
LEVEL: Final = {"district": "Quận", "ward": "Phường", "school": "Trường"}
EVERY_YEAR: Final = "Hằng năm"
MET: Final = "Đạt"
NOT_MET: Final = "Chưa đạt"
NO_DATA: Final = "Chưa có dữ liệu"


def _members(conn: Conn, at: Where, found: list[ScopeKpi]) -> list[ScopeKpi]:
    """The scope itself, then its wards, then its schools."""
    wards = dict(conn.execute("select id, ward from schools").fetchall())
    def inside(s: ScopeKpi) -> bool:
        if at.scope == "district":
            return True
        if at.scope == "ward":
            return (s.scope == "ward" and s.scope_id == at.scope_id) or (
                s.scope == "school" and wards.get(s.scope_id) == at.scope_id)
        return s.scope == "school" and s.scope_id == at.scope_id
    order = {"district": 0, "ward": 1, "school": 2}
    return sorted((s for s in found if inside(s)), key=lambda s: (order[s.scope], s.scope_id))


def xlsx(conn: Conn, *, at: Where, now: datetime, tz: ZoneInfo,
         month: date | None = None) -> tuple[bytes, str]:
    """The file and its name (without extension)."""
    shown = month or month_start(now.astimezone(tz).date())
    members = _members(conn, at, all_scopes(conn, now=now, tz=tz, month=month))
    if not members:
        raise KpiNotFoundError(f"{at.scope} {at.scope_id} is not in that month's snapshot")
    names = dict(conn.execute("select id, name from schools").fetchall())
    district = "Toàn quận"
    rows = []
    for s in members:
        unit = district if s.scope == "district" else names.get(s.scope_id, s.scope_id)
        for ind in INDICATORS:
            r = s.ratios.get(ind.id, Ratio(0, 0))
            value = percent(r)
            verdict = NO_DATA if value is None else (MET if met(ind, r) else NOT_MET)
            rows.append((LEVEL[s.scope], s.scope_id, unit, ind.id, ind.name_vi, ind.target,
                         ind.target_year if ind.target_year else EVERY_YEAR, value,
                         r.numerator, r.denominator, shortfall(ind, r), verdict))
    scope_name = district if at.scope == "district" else names.get(at.scope_id, at.scope_id)
    title = (f"Báo cáo chỉ tiêu chuyển đổi số - {scope_name} - "
             f"tháng {shown.month:02d}/{shown.year}")
    name = f"chi-tieu-chuyen-doi-so-{shown.strftime('%Y-%m')}"
    return xlsx_bytes(HEADERS, rows, sheet="Chỉ tiêu", title=title), name
