"""The device panel (/school/<id>/devices, issue #13) in a real headless Chromium, against a
real hub (ingest + API process), a real card gate agent and the real broker: an operator
clicks open-gate and sees the gate's reply; the audit row names them; a school admin sees
no buttons for another school (not even the panel), and a teacher sees the panel without
buttons. Vietnamese and English. Set SMARTSCHOOL_E2E_ARTIFACTS to keep screenshots.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.settings import Settings
from dashboard.app import DashboardServer
from edge.gate.agent import GateAgent
from hub.service import Hub
from tests.conftest import Broker, running_hub
from tests.e2e.browser import (
    class_of,
    click,
    click_until,
    page_text,
    screenshot,
    text_of,
    wait_for,
)
from tests.e2e.test_dashboard_login import fill_login, login_through_form
from tests.integration.test_device_commands import (
    GATE,
    OTHER,
    OTHER_GATE,
    PASSWORD,
    ROOM,
    SCHOOL,
    pulses,
    seed,
    start_gate,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest.fixture
def hub(pg_url: str, broker: Broker, tmp_path: Path) -> Iterator[Hub]:
    seed(pg_url)
    with running_hub(pg_url, broker, tmp_path / "hub") as service:
        yield service


@pytest.fixture
def gate(hub: Hub, broker: Broker, tmp_path: Path) -> Iterator[GateAgent]:
    agent = start_gate(broker, tmp_path)
    try:
        yield agent
    finally:
        agent.stop()


@pytest.fixture
def server(hub: Hub, pg_url: str, broker: Broker, tmp_path: Path) -> Iterator[DashboardServer]:
    settings = Settings(_env_file=None, data_dir=tmp_path, language="vi",
                        hub_client_id=f"dash-{tmp_path.name[-8:]}")
    with DashboardServer(settings, database_url=pg_url, host="127.0.0.1", port=0,
                         mqtt_url=broker.url) as dashboard:
        yield dashboard


def audit(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return [tuple(r) for r in conn.execute(
            "select device_id, name, issued_by, ok, reply from device_commands"
            " order by issued_at")]


def sign_out(driver: Any) -> None:
    click(driver, "#nav-logout", "the sign-out button")
    wait_for(lambda: "/login" in driver.current_url, what="signed out")


def test_an_operator_opens_a_gate_and_sees_its_reply(
        server: DashboardServer, gate: GateAgent, pg_url: str, browser: Any,
        tmp_path: Path) -> None:
    base = server.url.rstrip("/")
    driver = browser
    driver.get(f"{base}/school/{SCHOOL}/devices?lang=vi")
    wait_for(lambda: "/login" in driver.current_url, what="the login form")
    fill_login(driver, "tt", PASSWORD)  # the control room: the whole district
    wait_for(lambda: "/devices" in driver.current_url, what="back on the panel")
    wait_for(lambda: GATE in text_of(driver, "#dev-devices")
             and "Trực tuyến" in text_of(driver, f"#device-{GATE}"), what="the gate online")
    text = page_text(driver)
    for expected in ("Thiết bị của trường · Trường Tiểu học Lệnh", "Cổng", "Phòng học",
                     "Mở cổng", "Giữ mở", "Thôi giữ", "Kiểm tra", "Nạp lại cấu hình",
                     "Đồng bộ thẻ, khuôn mặt", "Chưa có lệnh nào"):
        assert expected in text, expected
    # A classroom device takes ping only: the hub refuses it the gate's commands.
    room_buttons = driver.find_elements("css selector", f"#device-{ROOM} button")
    assert [b.text for b in room_buttons] == ["Kiểm tra"]
    assert "hidden" in class_of(driver, "#dev-read-only")
    before = pulses(gate)

    click_until(driver, f"//tr[@id='device-{GATE}']//button[text()='Mở cổng']",
                lambda: any(a[:3] == (GATE, "open-gate", "tt") for a in audit(pg_url)),
                what="the command sent")
    wait_for(lambda: "dev-is-replied" in class_of(driver, "#dev-last-state"), timeout=15,
             what="the gate's reply on the panel")
    assert text_of(driver, "#dev-last-state") == "Đã thực hiện"
    assert "event_seq" in text_of(driver, "#dev-last-reply")
    assert pulses(gate) == before + 1, "the relay was pulsed once"
    sent = [a for a in audit(pg_url) if a[1] == "open-gate"]
    assert len(sent) == 1 and sent[0][3] is True and "event_seq" in sent[0][4]
    wait_for(lambda: "Đã thực hiện" in text_of(driver, "#dev-commands"),
             what="the audit list")
    assert "tt" in text_of(driver, "#dev-commands")
    screenshot(driver, tmp_path, "device-panel-vi.png")

    # ping in English: the reply's detail is shown
    driver.get(f"{base}/school/{SCHOOL}/devices?lang=en")
    wait_for(lambda: "School devices" in page_text(driver), what="the English panel")
    click_until(driver, f"//tr[@id='device-{ROOM}']//button[text()='Ping']",
                lambda: any(a[:2] == (ROOM, "ping") for a in audit(pg_url)),
                what="the ping sent")
    # Nothing runs the classroom Pi here, so nobody answers: sent, then expired.
    wait_for(lambda: "dev-is-sent" in class_of(driver, "#dev-last-state"),
             what="the ping awaiting its reply")
    assert text_of(driver, "#dev-last-state") == "Sent, awaiting reply"
    assert "Open gate" in text_of(driver, "#dev-commands")
    assert "Done" in text_of(driver, "#dev-commands")
    screenshot(driver, tmp_path, "device-panel-en.png")
    sign_out(driver)

    # Another school's admin: no panel, so no buttons, for this school.
    login_through_form(driver, base, "bgh.other", PASSWORD)
    driver.get(f"{base}/school/{SCHOOL}/devices?lang=vi")
    wait_for(lambda: driver.find_elements("id", "auth-not-allowed"), what="not allowed")
    assert not driver.find_elements("css selector", ".dev-btn")
    assert GATE not in page_text(driver)
    # ...and their own school's gate does get them.
    driver.get(f"{base}/school/{OTHER}/devices?lang=vi")
    wait_for(lambda: driver.find_elements("css selector", f"#device-{OTHER_GATE} .dev-btn"),
             what="buttons on the own school's gate")
    sign_out(driver)

    # A teacher of the school sees the panel read-only.
    login_through_form(driver, base, "gv.cmd", PASSWORD)
    driver.get(f"{base}/school/{SCHOOL}/devices?lang=vi")
    wait_for(lambda: GATE in text_of(driver, "#dev-devices"), what="the teacher's panel")
    wait_for(lambda: "chỉ xem" in text_of(driver, "#dev-read-only"), what="read-only note")
    assert not driver.find_elements("css selector", ".dev-btn")
    assert "Đã thực hiện" in text_of(driver, "#dev-commands")  # the audit is visible
    screenshot(driver, tmp_path, "device-panel-readonly-vi.png")
    assert len([a for a in audit(pg_url) if a[1] == "open-gate"]) == 1
