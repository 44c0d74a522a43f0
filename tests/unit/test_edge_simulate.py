"""``edge simulate`` inputs: tap files and options that do not fit the gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import AgentConfig, GateConfig
from edge.gate.simulate import SimulationError, all_taps, read_taps, simulate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("04A1B2C3\n\n# a comment\n04:a1:b2:c4\n", ["04A1B2C3", "04:a1:b2:c4"]),
        ("uid,person\n04A1B2C3,a\n04A1B2C4,b\n", ["04A1B2C3", "04A1B2C4"]),
        ("person,uid\na,04A1B2C3\n", ["04A1B2C3"]),
        ("04A1B2C3,in\n", ["04A1B2C3"]),  # first column when there is no header
        ("", []),
    ],
)
def test_read_taps(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = tmp_path / "taps.csv"
    path.write_text(text)
    assert read_taps(path) == expected


def test_taps_from_the_file_then_the_options(tmp_path: Path) -> None:
    path = tmp_path / "taps.txt"
    path.write_text("AA\n")
    assert all_taps(["BB"], path) == ["AA", "BB"]
    assert all_taps(["BB"], None) == ["BB"]


def test_frames_need_a_face_mode(tmp_path: Path) -> None:
    config = AgentConfig(device="g", school="s", role="gate", gate=GateConfig())
    with pytest.raises(SimulationError, match="face mode"):
        simulate(config, images=tmp_path)
    with pytest.raises(SimulationError, match="not both"):
        simulate(config, images=tmp_path, video=tmp_path / "v.mp4")
