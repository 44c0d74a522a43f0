"""What the equipment page reads, and what it changes: alarm acknowledge and clear, and
work orders (open from an alarm, assign, close with a note; issue #13).

Reads go through hub.equipment (assets, alarms, series), the code the API's
/api/v1/assets, /alarms and /timeseries answer with. The acknowledge and clear buttons go
through hub.equipment.actions, the function the API's POST /alarms/{id}/ack|clear calls,
so the dashboard refuses, scopes and records a step exactly as the API does; so do the
work-order buttons (POST /alarms/{id}/work-order, /work-orders/{id}/assign|close). Their
refusals are AlarmErrors, re-exported here for the page to catch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from core.settings import Settings
from dashboard.access import SchoolFilter, Viewer
from dashboard.builders.equipment import EquipmentView, HistoryItem, history_items
from hub.db import Conn
from hub.equipment import actions, alarms, assets, series
from hub.equipment.alarms import AlarmError, AlarmPublic, WorkOrderPublic
from hub.equipment.assets import AssetPublic
from hub.equipment.series import SeriesPoint

__all__ = ["AlarmError", "AlarmStep", "WorkOrderStep", "act_on_alarm", "act_on_work_order",
           "load_assets", "load_chart", "load_equipment", "load_history"]

AlarmStep = Literal["acknowledge", "clear"]
WorkOrderStep = Literal["open", "assign", "close"]
CHART_BUCKET: Final = "5m"
HISTORY_ROWS: Final = 20


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
        work_orders=alarms.list_work_orders(conn, school=school, only_open=True),
    )


def load_assets(conn: Conn, settings: Settings, school: str | None) -> list[AssetPublic]:
    """The assets the chart may show, in the register's order."""
    return assets.list_assets(conn, school=school,
                              offline_gate_s=settings.offline_after_gate_s,
                              offline_classroom_s=settings.offline_after_classroom_s)


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


def act_on_work_order(conn: Conn, viewer: Viewer, step: WorkOrderStep, target: int, *,
                      assignee: str | None = None, note: str | None = None) -> WorkOrderPublic:
    """Open a work order from alarm ``target``, or assign or close work order ``target``,
    as the logged-in account under the API's rule (hub.equipment.actions). Raises
    AlarmError as act_on_alarm does; a second open order for one alarm is refused."""
    if step == "open":
        return actions.open_work_order(conn, viewer, target, assignee=assignee, note=note)
    if step == "assign":
        return actions.assign_work_order(conn, viewer, target, assignee=assignee)
    return actions.close_work_order(conn, viewer, target, note=note)


_ASSET_ALARMS = """
select a.id from alarms a
where a.asset_tag = %(tag)s or a.subject = %(tag)s
   or (%(device)s::text is not null and a.device_id = %(device)s and a.asset_tag is null)
order by a.raised_at desc, a.id desc limit %(n)s
"""
_ASSET_ORDERS = """
select w.id from work_orders w
where w.asset_tag = %(tag)s or w.alarm_id = any(%(alarms)s)
order by w.opened_at desc, w.id desc limit %(n)s
"""


def load_history(conn: Conn, tag: str, *, visible: SchoolFilter) -> list[HistoryItem]:
    """The asset's alarms (its own, and its device's that name no asset) and work orders,
    newest first; nothing for an asset that is not there or not visible, alike."""
    asset = assets.get_asset(conn, tag)
    if asset is None or not visible.allows(asset.school_id):
        return []
    params = {"tag": tag, "device": asset.device_id, "n": HISTORY_ROWS}
    alarm_ids = [int(r[0]) for r in conn.execute(_ASSET_ALARMS, params)]
    order_ids = [int(r[0]) for r in conn.execute(_ASSET_ORDERS,
                                                  {**params, "alarms": alarm_ids})]
    return history_items([alarms.get_alarm(conn, i) for i in alarm_ids],
                         [alarms.get_work_order(conn, i) for i in order_ids])
