"""pyproject.toml's extras match the deployable roles and every dependency is bounded
(issue #16). The aarch64 resolution against the package index is in
tests/integration/test_packaging_index.py."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]
OURS = re.compile(r"^smartschool\[([a-z,-]+)\]$")
# type stubs follow the library they describe, and have no major versions of their own
UNBOUNDED_OK = {"types-pyyaml", "types-openpyxl"}


def name_of(requirement: str) -> str:
    return re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0].lower()


def expand(extra: str) -> set[str]:
    names: set[str] = set()
    for req in EXTRAS[extra]:
        if match := OURS.match(req):
            for inner in match[1].split(","):
                names |= expand(inner)
        else:
            names.add(name_of(req))
    return names


def test_every_role_and_every_old_name_is_an_extra() -> None:
    assert {"gate", "gate-evdev", "classroom", "hub", "dashboard", "demo",
            "edge", "face", "dev", "all"} <= set(EXTRAS)


def test_every_direct_dependency_has_an_upper_bound() -> None:
    requirements = PROJECT["dependencies"] + [
        r for reqs in EXTRAS.values() for r in reqs if not OURS.match(r)]
    unbounded = [r for r in requirements
                 if "<" not in r.split(";")[0] and name_of(r) not in UNBOUNDED_OK]
    assert unbounded == []


def test_roles_hold_what_they_deploy() -> None:
    # the embedded demo services stay out of a production hub (pgserver is x86_64 only)
    assert {"pgserver", "amqtt"} <= expand("demo")
    assert not {"pgserver", "amqtt"} & (expand("hub") | expand("dashboard"))
    assert {"gpiozero", "lgpio"} <= expand("gate") and "evdev" in expand("gate-evdev")
    assert not {"psycopg", "fastapi", "dash"} & expand("gate")
    assert "gunicorn" in expand("dashboard") and "psycopg" in expand("dashboard")
    # deploy/setup.sh installs `all`: everything a developer runs, but no Pi-only hardware
    assert expand("all") >= expand("demo") | expand("face") | expand("dev") | expand("edge")
    assert not {"gpiozero", "lgpio", "evdev"} & expand("all")


def requirements_of(extra: str) -> list[str]:
    found: list[str] = []
    for req in EXTRAS[extra]:
        if match := OURS.match(req):
            for inner in match[1].split(","):
                found += requirements_of(inner)
        else:
            found.append(req)
    return found


def test_the_hub_lock_pins_every_hub_dependency_within_its_bounds_with_hashes() -> None:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    text = (ROOT / "deploy" / "requirements-hub.lock").read_text(encoding="utf-8")
    pins = {canonicalize_name(m[1]): m[2]
            for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", text, re.MULTILINE)}
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text)
    assert all("--hash=sha256:" in b for b in blocks[1:]), "every pin carries its hashes"
    assert "smartschool @" not in text  # the project itself is installed with --no-deps
    for raw in PROJECT["dependencies"] + requirements_of("hub") + requirements_of("dashboard"):
        req = Requirement(raw)
        name = canonicalize_name(req.name)
        assert name in pins, f"{name} is not in the lock: run bash deploy/lock.sh"
        assert req.specifier.contains(pins[name], prereleases=True), (name, pins[name])


def test_the_demo_without_pgserver_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from smartschool.demo.embedded import EmbeddedPostgres

    monkeypatch.setitem(sys.modules, "pgserver", None)  # as on arm64: not installed
    with pytest.raises(RuntimeError, match="SMARTSCHOOL_DATABASE_URL"):
        EmbeddedPostgres(tmp_path / "pg").start()
    assert not (tmp_path / "pg").exists()  # nothing half-made
