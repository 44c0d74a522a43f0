"""The fleet view (/fleet, issue #13) in a real headless Chromium: a real gate agent's
status, through the real broker and hub, shows its firmware, configuration version,
backlog and clock sync; a decommissioned device is listed apart; a school admin sees
their own school's devices only. Vietnamese and English.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from dashboard.app import DashboardServer
from edge.agent import config_fingerprint
from edge.gate.agent import GateAgent
from edge.timesync import kernel_clock_synced
from hub.devices.provision import decommission
from tests.conftest import wait_until
from tests.e2e.browser import page_text, screenshot, text_of, wait_for
from tests.e2e.test_dashboard_login import fill_login, login_through_form
from tests.e2e.test_device_panel import gate, hub, server, sign_out  # noqa: F401 - fixtures
from tests.integration.test_device_commands import GATE, OTHER_GATE, PASSWORD, ROOM

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def reported(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute("select reported_at from devices where id = %s", (GATE,)).fetchone()
    return row is not None and row[0] is not None


def test_the_fleet_shows_what_devices_report(server: DashboardServer,  # noqa: F811
                                             gate: GateAgent,  # noqa: F811
                                             pg_url: str, browser: Any,
                                             tmp_path: Path) -> None:
    wait_until(lambda: reported(pg_url), 15, "the gate's status stored")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        decommission(conn, None, OTHER_GATE)
    version = config_fingerprint(gate.config)
    clock = {True: "Đã đồng bộ", False: "Chưa đồng bộ", None: "Chưa rõ"}[kernel_clock_synced()]
    base = server.url.rstrip("/")
    driver = browser
    driver.get(f"{base}/fleet?lang=vi")
    wait_for(lambda: "/login" in driver.current_url, what="the login form")
    fill_login(driver, "tt", PASSWORD)
    wait_for(lambda: GATE in text_of(driver, "#fleet-active"), what="the fleet table")
    row = text_of(driver, f"#fleet-{GATE}")
    for expected in ("Trường Tiểu học Lệnh", "Cổng", "Trực tuyến", version, clock):
        assert expected in row, (expected, row)
    backlog = text_of(driver, f"#fleet-{GATE} .fleet-backlog")
    assert backlog.isdigit(), backlog
    # the classroom device never connected: no figures, but listed
    assert "—" in text_of(driver, f"#fleet-{ROOM}")
    # decommissioned: apart, and not counted
    assert OTHER_GATE not in text_of(driver, "#fleet-active")
    assert OTHER_GATE in text_of(driver, "#fleet-gone")
    assert "2" in text_of(driver, "#fleet-kpi-devices")
    assert "Đội thiết bị" in page_text(driver)
    screenshot(driver, tmp_path, "fleet-vi.png")

    driver.get(f"{base}/fleet?lang=en")
    wait_for(lambda: "Device fleet" in page_text(driver), what="the English view")
    wait_for(lambda: version in text_of(driver, f"#fleet-{GATE}"), what="the English table")
    assert "Decommissioned" in page_text(driver)
    assert {True: "Synced", False: "Not synced", None: "Unknown"}[kernel_clock_synced()] \
        in text_of(driver, f"#fleet-{GATE}")
    screenshot(driver, tmp_path, "fleet-en.png")
    sign_out(driver)

    # A school admin: their school's devices only.
    login_through_form(driver, base, "bgh.cmd", PASSWORD)
    driver.get(f"{base}/fleet?lang=vi")
    wait_for(lambda: GATE in text_of(driver, "#fleet-active"), what="own school's fleet")
    assert OTHER_GATE not in page_text(driver)
    sign_out(driver)

    # A teacher: not theirs.
    login_through_form(driver, base, "gv.cmd", PASSWORD)
    driver.get(f"{base}/fleet?lang=vi")
    wait_for(lambda: driver.find_elements("id", "auth-not-allowed"), what="not allowed")
    assert GATE not in page_text(driver)
