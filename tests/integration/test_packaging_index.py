"""`pip install '.[gate]'` resolves for a Raspberry Pi (linux/aarch64, Python 3.11) from
wheels alone, against the package index (issue #16)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.network


@pytest.mark.timeout(240)
def test_gate_extra_resolves_for_linux_aarch64_from_wheels(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    # manylinux_2_34: lgpio's wheels need it and Raspberry Pi OS 12 (glibc 2.36) takes it;
    # pip does not widen an explicit platform tag, so the 2014 tag is named as well.
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report",
         str(report), "--platform", "manylinux_2_34_aarch64", "--platform",
         "manylinux2014_aarch64", "--only-binary=:all:", "--python-version", "3.11",
         "--target", str(tmp_path / "target"), ".[gate]"],
        cwd=ROOT, capture_output=True, text=True, timeout=200, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    installs = {i["metadata"]["name"].lower().replace("_", "-"): i["download_info"]["url"]
                for i in json.loads(report.read_text())["install"]}
    assert {"gpiozero", "lgpio", "paho-mqtt", "pydantic-core", "psutil"} <= set(installs)
    assert "aarch64" in installs["lgpio"] and "aarch64" in installs["pydantic-core"]
    assert not {"psycopg", "fastapi", "dash", "pgserver"} & set(installs)
