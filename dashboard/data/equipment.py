"""What the equipment page reads, and the one thing it changes: alarm acknowledge and clear.

Reads go through hub.equipment (assets, alarms, series), the code the API's
/api/v1/assets, /alarms and /timeseries answer with. The acknowledge and clear buttons go
through hub.equipment.actions, the function the API's POST /alarms/{id}/ack|clear calls,
so the dashboard refuses, scopes and records a step exactly as the API does; its refusals
are AlarmErrors, re-exported here for the page to catch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from core.settings import Settings
from dashboard.access import SchoolFilter, Viewer
from dashboard.builders.equipment import EquipmentView
from hub.db import Conn
from hub.equipment import actions, alarms, assets, series
from hub.equipment.alarms import AlarmError, AlarmPublic
from hub.equipment.series import SeriesPoint

__all__ = ["AlarmError", "AlarmStep", "act_on_alarm", "load_chart", "load_equipment"]

AlarmStep = Literal["acknowledge", "clear"]
CHART_BUCKET: Final = "5m"


def load_equipment(conn: Conn, settings: Settings, school: str | None, *,
                   schools_of: str | None = None) -> EquipmentView:
    """The page's data for ``school`` (None: all); the school picker offers every school,
    or only ``schools_of`` for an account scoped to it."""
    rows = conn.execute("select id, name from schools where %s::text is null or id = %s"
                        " order by id", (schools_of, schools_of))
    names = [(str(i), str(n)) for i, n in rows]
    return EquipmentView(
        assets=assets.list_assets(conn, school=school,
                                  offline_gate_s=settings.offline_after_gate_s,
                                  offline_classroom_s=settings.offline_after_classroom_s),
        alarms=alarms.list_alarms(conn, state="open", school=school),
        coverage=assets.coverage(conn, school=school),
        schools=names,
    )


def load_chart(conn: Conn, tag: str, metric: str, *, visible: SchoolFilter,
               start: datetime, end: datetime) -> list[SeriesPoint]:
    """One metric of an asset and of the device in it; nothing for an asset that does not
    exist or that ``visible`` does not allow, alike, so the chart never tells them apart."""
    asset = assets.get_asset(conn, tag)
    if asset is None or not visible.allows(asset.school_id):
        return []
    subjects = [tag] + ([asset.device_id] if asset.device_id else [])
    return series.series(conn, subjects=subjects, metric=metric, start=start, end=end,
                         bucket=CHART_BUCKET)


def act_on_alarm(conn: Conn, viewer: Viewer, step: AlarmStep,
                 alarm_id: int, *, comment: str | None) -> AlarmPublic:
    """Acknowledge or clear as the logged-in account, under the API's rule. Raises
    AlarmError: ``forbidden`` for an account that may not act, ``not_found`` for an alarm
    that is not there for it (another school's too), otherwise a state that does not
    allow the step."""
    if step == "acknowledge":
        return actions.acknowledge(conn, viewer, alarm_id, comment=comment)
    return actions.clear(conn, viewer, alarm_id, comment=comment)
