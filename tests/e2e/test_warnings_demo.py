"""`smartschool demo` as a user runs it shows every kind of warning (issue 15): the demo's
backfilled history, the hub's start-up run, the API and the /warnings page in a real
headless Chromium. A smaller district than the default keeps it to about a minute."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.warnings.rules import KINDS
from tests.conftest import free_port
from tests.e2e.browser import page_text, screenshot, wait_for
from tests.e2e.test_dashboard_login import fill_login

pytestmark = pytest.mark.e2e

PASSWORD = "demo-warnings-password"
STARTUP_TIMEOUT_S = 150
SHOTS = Path("/tmp/shots_F")


def test_the_demo_shows_every_kind(browser: Any, tmp_path: Path) -> None:
    api_port, dash_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTSCHOOL_")}
    env |= {"SMARTSCHOOL_DATA_DIR": str(tmp_path / "data"),
            "SMARTSCHOOL_API_PORT": str(api_port),
            "SMARTSCHOOL_DASHBOARD_PORT": str(dash_port),
            "SMARTSCHOOL_ADMIN_PASSWORD": PASSWORD}
    log = tmp_path / "demo.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "smartschool", "demo", "--students", "3000", "--duration", "600"],
        env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=tmp_path)
    api = httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=10)
    try:
        def healthy() -> bool:
            assert proc.poll() is None, f"demo exited early:\n{log.read_text()}"
            try:
                return api.get("/api/health").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout=STARTUP_TIMEOUT_S, what="the demo's API")
        r = api.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
        api.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

        def kinds() -> set[str]:
            return {w["kind"] for w in api.get("/api/v1/warnings?limit=1000").json()}

        wait_for(lambda: kinds() == set(KINDS), timeout=60, what="every kind of warning")
        assert "demo history in" in log.read_text()

        browser.set_window_size(1400, 1000)
        browser.get(f"http://127.0.0.1:{dash_port}/warnings")
        wait_for(lambda: "/login" in browser.current_url, what="the login form")
        fill_login(browser, "admin", PASSWORD)
        wait_for(lambda: "/warnings" in browser.current_url, what="back on the page")
        for kind in KINDS:
            wait_for(lambda k=kind: browser.execute_script(  # type: ignore[misc]
                "const e = document.getElementById(arguments[0]);"
                " return e && !e.classList.contains('warn-zero')", f"warn-tile-{k}"),
                what=f"a {kind} tile with warnings")
        assert "Vắng học kéo dài" in page_text(browser)
        shot = screenshot(browser, tmp_path, "demo-warnings.png")
        SHOTS.mkdir(exist_ok=True)
        (SHOTS / "demo-warnings.png").write_bytes(shot.read_bytes())
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        api.close()
    assert proc.returncode == 0, log.read_text()[-3000:]
