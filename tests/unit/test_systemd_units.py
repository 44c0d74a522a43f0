"""deploy/systemd: every unit passes `systemd-analyze verify` without a warning, and
carries the directives its role needs (issue #16)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

UNITS = ROOT / "deploy" / "systemd"
BIN = Path(sys.executable).parent
ANALYZE = shutil.which("systemd-analyze")
SERVICES = ["smartschool-hub.service", "smartschool-dashboard.service",
            "smartschool-edge@.service", "smartschool-backup.service"]
HARDENING = ["NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
             "ReadWritePaths=/var/lib/smartschool",
             "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"]


def directives(name: str) -> list[str]:
    lines = (UNITS / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and line[0] not in "#;["]


def installed_copy(tmp_path: Path) -> list[Path]:
    """The units as installed, with /opt/smartschool pointing at this venv (verify checks
    that each command exists); the template as an instance (a template cannot start)."""
    assert (BIN / "smartschool").exists() and (BIN / "gunicorn").exists()
    copies = []
    for unit in sorted(UNITS.iterdir()):
        name = unit.name.replace("@.", "@gate-1.")
        target = tmp_path / name
        target.write_text(unit.read_text(encoding="utf-8")
                          .replace("/opt/smartschool/bin/", f"{BIN}/"), encoding="utf-8")
        copies.append(target)
    return copies


def verify(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    assert ANALYZE
    return subprocess.run(
        [ANALYZE, "verify", "--man=no", "--recursive-errors=no", *map(str, paths)],
        capture_output=True, text=True, timeout=60, check=False, cwd=paths[0].parent)


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (no systemd)")
def test_every_unit_verifies_without_a_warning(tmp_path: Path) -> None:
    copies = installed_copy(tmp_path)
    assert {p.name for p in copies} >= {"smartschool-backup.timer",
                                        "smartschool-edge@gate-1.service"}
    for path in copies:
        done = verify([path])
        # verify exits 0 on "Unknown key ... ignoring": a warning is a failure here
        assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), (
            path.name, done.stdout, done.stderr)


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (no systemd)")
def test_the_check_sees_what_systemd_252_ignores(tmp_path: Path) -> None:
    # ImportCredential= is systemd 254+: on Debian 12 it would be silently ignored
    unit = tmp_path / "probe.service"
    unit.write_text(f"[Service]\nExecStart={BIN}/smartschool --help\nImportCredential=x\n"
                    "SetCredential=gallery_key:\n")
    done = verify([unit])
    assert "ImportCredential" in done.stderr and "gallery_key" in done.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_is_hardened(name: str) -> None:
    found = directives(name)
    assert [h for h in HARDENING if h not in found] == []
    assert any(d.startswith("CapabilityBoundingSet=") for d in found)


@pytest.mark.parametrize("name", ["smartschool-hub.service", "smartschool-edge@.service"])
def test_long_running_services_prove_they_are_alive(name: str) -> None:
    found = directives(name)
    assert "Type=notify" in found and any(d.startswith("WatchdogSec=") for d in found)
    assert "Restart=always" in found


def test_a_gate_reaches_its_devices_and_nothing_else() -> None:
    found = directives("smartschool-edge@.service")
    assert "DevicePolicy=closed" in found
    allowed = {d.split("=", 1)[1] for d in found if d.startswith("DeviceAllow=")}
    assert {"char-gpiochip rw", "char-input rw", "char-video4linux rw"} <= allowed
    for other in ("smartschool-hub.service", "smartschool-dashboard.service",
                  "smartschool-backup.service"):
        assert "PrivateDevices=yes" in directives(other)


def test_only_the_broker_password_is_a_required_credential() -> None:
    found = directives("smartschool-edge@.service")
    loaded = {d.split("=", 1)[1].split(":", 1)[0] for d in found
              if d.startswith("LoadCredential=")}
    defaulted = {d.split("=", 1)[1].split(":", 1)[0] for d in found
                 if d.startswith("SetCredential=")}
    assert loaded == {"mqtt-password", "gallery_key", "device_token"}
    assert loaded - defaulted == {"mqtt-password"}


def test_the_backup_timer_starts_the_backup(tmp_path: Path) -> None:
    timer = directives("smartschool-backup.timer")
    assert any(d.startswith("OnCalendar=") for d in timer) and "Persistent=true" in timer
    backup = directives("smartschool-backup.service")
    assert "Type=oneshot" in backup
    assert any("db backup /var/lib/smartschool/backups" in d for d in backup)


def test_an_optional_credential_left_at_its_default_reads_as_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edge.gate.sync import device_token
    from faces.keys import GalleryKeyError, gallery_key, require_key

    # what SetCredential=NAME:\n leaves in $CREDENTIALS_DIRECTORY when the file is missing
    (tmp_path / "gallery_key").write_text("\n")
    (tmp_path / "device_token").write_text("\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.delenv("SMARTSCHOOL_GALLERY_KEY", raising=False)
    monkeypatch.delenv("SMARTSCHOOL_DEVICE_TOKEN", raising=False)
    assert not gallery_key()
    with pytest.raises(GalleryKeyError):
        require_key()  # a face gate without its key says so, as without the credential
    assert device_token("SMARTSCHOOL_DEVICE_TOKEN", "device_token") is None
