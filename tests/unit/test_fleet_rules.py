"""The fleet view's and the device panel's pure rules (issue #13), as tables of cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.access import (
    Viewer,
    devices_href,
    fleet_scope,
    may_command_devices,
    may_view,
    page_of,
    sees_devices,
)
from dashboard.builders.devices import commands_for, reply_text
from dashboard.builders.fleet import (
    FleetRow,
    backlog_level,
    clock_key,
    split_fleet,
    summarise,
)
from edge.agent import config_fingerprint
from edge.config import AgentConfig, GateConfig, MqttConfig
from edge.timesync import STA_UNSYNC, TIME_ERROR, synced_from
from hub.access import may_command
from hub.devices.commands import COMMAND_NAMES

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("result", "status", "synced"), [
    (0, 0, True),  # TIME_OK
    (1, 0, True),  # TIME_INS: a leap second pending, still in sync
    (TIME_ERROR, 0, False),
    (0, STA_UNSYNC, False),
    (0, STA_UNSYNC | 0x1, False),
    (-1, 0, None),  # the call failed
])
def test_kernel_answer(result: int, status: int, synced: bool | None) -> None:
    assert synced_from(result, status) is synced


def _config(device: str, school: str, **extra: object) -> AgentConfig:
    return AgentConfig(device=device, school=school, role="gate", gate=GateConfig(),
                       **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(("a", "b", "same"), [
    (_config("g-1", "s-1"), _config("g-2", "s-2"), True),  # identity left out
    (_config("g-1", "s-1"), _config("g-1", "s-1", mqtt=MqttConfig(username="g-1")), True),
    (_config("g-1", "s-1"), _config("g-1", "s-1", heartbeat_s=30), False),
    (_config("g-1", "s-1"), _config("g-1", "s-1", mqtt=MqttConfig(keepalive_s=5)), False),
])
def test_config_version(a: AgentConfig, b: AgentConfig, same: bool) -> None:
    assert (config_fingerprint(a) == config_fingerprint(b)) is same
    assert len(config_fingerprint(a)) == 12


@pytest.mark.parametrize(("backlog", "level"), [
    (None, "none"), (0, "ok"), (99, "ok"), (100, "warn"), (999, "warn"), (1000, "alert"),
])
def test_backlog_level(backlog: int | None, level: str) -> None:
    assert backlog_level(backlog) == level


@pytest.mark.parametrize(("synced", "key"), [(True, "synced"), (False, "unsynced"),
                                             (None, "unknown")])
def test_clock_key(synced: bool | None, key: str) -> None:
    assert clock_key(synced) == key


def _row(device: str, *, state: str = "online", backlog: int | None = 0,
         synced: bool | None = True, fw: str | None = "1.0", gone: bool = False) -> FleetRow:
    return FleetRow(id=device, school="s", school_name="S", role="gate", room=None,
                    state=state, last_seen=NOW, fw=fw, config_version="abc", backlog=backlog,
                    clock_synced=synced, reported_at=NOW,
                    decommissioned_at=NOW if gone else None)


def test_decommissioned_devices_are_kept_apart_and_not_counted() -> None:
    rows = [_row("a"), _row("b", state="offline", backlog=5, synced=False, fw="0.9"),
            _row("c", gone=True, state="offline", synced=False, backlog=9000),
            _row("d", state="unknown", backlog=None, synced=None, fw=None)]
    active, gone = split_fleet(rows)
    assert [r.id for r in active] == ["a", "b", "d"]
    assert [r.id for r in gone] == ["c"]
    s = summarise(active)
    assert (s.devices, s.online, s.unsynced, s.backlogged, s.firmware) == (3, 1, 1, 1, 2)


@pytest.mark.parametrize(("role", "buttons"), [
    ("gate", COMMAND_NAMES), ("classroom", ("ping",)),
])
def test_buttons_per_device(role: str, buttons: tuple[str, ...]) -> None:
    assert commands_for(role) == buttons


@pytest.mark.parametrize(("reply", "text"), [
    (None, "—"), ("relay stuck", "relay stuck"), ({"event_seq": 3}, '{"event_seq": 3}'),
    ({"b": 1, "a": "Mở"}, '{"a": "Mở", "b": 1}'),
])
def test_reply_text(reply: object, text: str) -> None:
    assert reply_text(reply) == text


def test_a_long_reply_is_cut() -> None:
    assert len(reply_text("x" * 1000)) == 200


DISTRICT = Viewer("pgd", "district_admin", None)
CONTROL = Viewer("tt", "control_room", None)
ADMIN_A = Viewer("bgh.a", "school_admin", "A")
TEACHER_A = Viewer("gv.a", "teacher", "A")
MANAGER_A = Viewer("ql.a", "facility_manager", "A")
KIOSK = Viewer("kiosk", "kiosk", None)


@pytest.mark.parametrize(("viewer", "school", "sees", "commands"), [
    (DISTRICT, "A", True, True),
    (CONTROL, "B", True, True),
    (ADMIN_A, "A", True, True),
    (ADMIN_A, "B", False, False),
    (TEACHER_A, "A", True, False),
    (MANAGER_A, "A", True, False),
    (TEACHER_A, "B", False, False),
    (KIOSK, "A", False, False),
    (None, "A", False, False),
    (Viewer("x", "school_admin", None), "A", False, False),  # scoped without a school
])
def test_device_panel_rights(viewer: Viewer | None, school: str, sees: bool,
                             commands: bool) -> None:
    assert sees_devices(viewer, school) is sees
    assert may_command_devices(viewer, school) is commands
    if viewer is not None and viewer.role != "kiosk":
        # the dashboard's rule is the API's
        assert commands == may_command(viewer.role, viewer.school_id, school)


@pytest.mark.parametrize(("viewer", "school", "nothing"), [
    (DISTRICT, None, False), (CONTROL, None, False), (ADMIN_A, "A", False),
    (TEACHER_A, None, True), (MANAGER_A, None, True), (KIOSK, None, True), (None, None, True),
])
def test_fleet_scope(viewer: Viewer | None, school: str | None, nothing: bool) -> None:
    scope = fleet_scope(viewer)
    assert scope.matches_nothing is nothing
    if not nothing:
        assert scope.school == school
    assert (may_view(viewer, "fleet").value == "allow") is (not nothing)


@pytest.mark.parametrize(("path", "page"), [
    ("/fleet", ("fleet", None)),
    ("/fleet/", ("fleet", None)),
    ("/school/thcs-hn/devices", ("devices", "thcs-hn")),
    ("/school/thcs-hn", ("school", "thcs-hn")),
    ("/school//devices", ("school", "/devices")),  # no school: not the panel
    (devices_href("a/devices"), ("devices", "a/devices")),
])
def test_paths(path: str, page: tuple[str, str | None]) -> None:
    assert page_of(path) == page
