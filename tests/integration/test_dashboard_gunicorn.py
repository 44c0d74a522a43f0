"""The dashboard under gunicorn, as deploy/systemd and deploy/compose run it (issue #16)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port, wait_until

pytestmark = pytest.mark.integration


def test_dashboard_serves_its_login_page_under_gunicorn(pg_url: str, tmp_path: Path) -> None:
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    assert gunicorn, "gunicorn is in the dashboard extra"
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SMARTSCHOOL_DATABASE_URL": pg_url,
           "SMARTSCHOOL_DATA_DIR": str(tmp_path)}
    env.pop("SMARTSCHOOL_SECRET_KEY", None)
    proc = subprocess.Popen(
        [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
         "dashboard.app:wsgi_app()"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def login_page() -> httpx.Response | None:
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise AssertionError(f"gunicorn exited {proc.returncode}: {out}")
            try:
                return httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
            except httpx.TransportError:
                return None

        page = wait_until(login_page, timeout=30, what="the dashboard under gunicorn")
        assert page.status_code == 200 and "<form" in page.text
        wall = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert wall.status_code in (200, 302, 303)  # the wall, or the way to log in
    finally:
        proc.terminate()
        assert proc.wait(15) == 0  # SIGTERM is a clean stop for gunicorn

    # Without a database URL the app refuses to build: gunicorn exits rather than serve 500s
    # (cwd: a tmp dir, so no developer's .env supplies one)
    env.pop("SMARTSCHOOL_DATABASE_URL")
    failed = subprocess.run(
        [gunicorn, "--bind", f"127.0.0.1:{free_port()}", "dashboard.app:wsgi_app()"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert failed.returncode != 0 and "SMARTSCHOOL_DATABASE_URL" in failed.stderr
