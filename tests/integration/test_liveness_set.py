"""Liveness on the labelled set of real recordings (tests/fixtures/liveness), with dlib.

Every still-photo replay is refused, every photo moved in its plane too, over the whole
window (the budget, then the turn prompt); every live passage is accepted within the
budget, and its passage stays under 2 s, except the four heads held stock-still that no
cue here tells from a photo (marked below, strict: a cue that starts accepting one fails
the test until the mark goes): those are asked to turn their head, never refused within
their recording. ``smartschool faces liveness`` prints one JSON line per tracked face.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.face.liveness import ApproachReport, LivenessWatch, watch_video
from faces.decision import DEFAULT_AGREE
from faces.liveness import DEFAULT_BUDGET_S, DEFAULT_PROMPT_S, Mode, State, Thresholds
from faces.models import FaceModels

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SET = Path(__file__).resolve().parents[1] / "fixtures" / "liveness"
FPS = 5.0  # frames a Pi gate analyses a second
PASSAGE_S = 2.0

with (SET / "labels.csv").open(newline="") as _handle:
    LABELS = list(csv.DictReader(_handle))


def clips(**match: str) -> list[str]:
    return [row["file"] for row in LABELS if all(row[k] == v for k, v in match.items())]


@pytest.fixture(scope="module")
def watch() -> LivenessWatch:
    return LivenessWatch(FaceModels().load(), Mode.MOTION, Thresholds())


def analyse(watch: LivenessWatch, name: str) -> list[ApproachReport]:
    return watch_video(SET / name, watch, fps=FPS, upsample=1)


def test_the_set_is_what_its_readme_says() -> None:
    assert len(LABELS) == 37
    assert {row["kind"] for row in LABELS} == {"live", "still", "moved", "tilted"}
    assert all((SET / row["file"]).is_file() for row in LABELS)
    assert sum(f.stat().st_size for f in SET.iterdir()) < 4_000_000


@pytest.mark.parametrize("name", clips(kind="still") + clips(kind="moved"))
def test_every_photo_replay_is_refused(watch: LivenessWatch, name: str) -> None:
    reports = analyse(watch, name)
    assert reports, f"{name}: no face found, so nothing was refused either"
    assert all(r.liveness.verdict.state is not State.LIVE for r in reports), [
        r.as_dict() for r in reports]
    # The photo stays in front of the camera past the budget and the prompt (4 s): asked
    # to turn once the budget is spent, then refused, not left pending; unless the
    # detector lost it long enough that its approach ended sooner (moved-trio: 3.2 s).
    longest = max(reports, key=lambda r: r.liveness.cues.frames)
    seen = longest.liveness
    assert seen.prompted_at is not None
    assert DEFAULT_BUDGET_S <= seen.prompted_at - seen.started < DEFAULT_BUDGET_S + 1 / FPS
    if seen.cues.span_s >= DEFAULT_BUDGET_S + DEFAULT_PROMPT_S:
        assert seen.verdict.state is State.FAILED and seen.decided_at is not None
        assert seen.decided_at - seen.started < DEFAULT_BUDGET_S + DEFAULT_PROMPT_S + 1 / FPS
    else:
        assert seen.verdict.state is State.PROMPT


# Refused at 5 fps, measured by bench/liveness.py: neither their five points nor their
# eye regions move beyond what a photo's do (eye cue 0.008-0.043, photos up to 0.039).
STILL_REFUSED = {
    "live-male-a.mp4": "fixed grin, no blink within 1.5 s",
    "live-male-c.mp4": "fixed grin; blinks at 1.5 s, after the budget",
    "live-pair-b.mp4": "holds a tilted pose; eye cue 0.043 (0.058 at 10 fps)",
    "live-trio-pause.mp4": "stands still, 62 px face",
}


@pytest.mark.parametrize("name", sorted(STILL_REFUSED))
def test_a_live_head_held_still_is_asked_to_turn_never_refused(watch: LivenessWatch,
                                                               name: str) -> None:
    reports = analyse(watch, name)
    assert reports and all(r.liveness.verdict.state is not State.FAILED for r in reports)
    subject = max(reports, key=lambda r: r.liveness.cues.frames).liveness
    if subject.cues.span_s >= DEFAULT_BUDGET_S:  # live-male-c's passage ends at 1.44 s
        assert subject.verdict.state is State.PROMPT
        assert subject.prompted_at is not None
        assert subject.prompted_at - subject.started < DEFAULT_BUDGET_S + 1 / FPS
    else:
        assert subject.verdict.state is State.PENDING


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=STILL_REFUSED[name]))
    if name in STILL_REFUSED else name for name in clips(kind="live")])
def test_a_live_face_is_accepted_within_the_budget(watch: LivenessWatch, name: str) -> None:
    reports = analyse(watch, name)
    live = [r.liveness for r in reports if r.liveness.verdict.state is State.LIVE]
    assert live, [r.as_dict() for r in reports]
    first = live[0]
    assert first.decided_at is not None
    decided = first.decided_at - first.started
    assert decided <= DEFAULT_BUDGET_S
    # the gate then needs agree - 1 more agreeing frames: the passage stays under 2 s
    assert decided + (DEFAULT_AGREE - 1) / FPS <= PASSAGE_S


def test_cli_prints_one_json_line_per_tracked_face(tmp_path: Path) -> None:
    from smartschool.cli import app

    videos = [SET / "live-female.mp4", SET / "still-female.mp4"]
    result = CliRunner().invoke(app, ["faces", "liveness", *map(str, videos),
                                      "--upsample", "1"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["video"] for line in lines] == [str(v) for v in videos]
    assert set(lines[0]) == {"video", "first_s", "last_s", "verdict", "why", "cues",
                             "decided_after_s", "prompted_after_s", "watch_ms", "frame_ms"}
    assert set(lines[0]["cues"]) == {"frames", "span_s", "motion", "nonrigid", "blink",
                                     "eyes"}
    assert [(line["verdict"], line["why"]) for line in lines] == [
        ("live", "nonrigid-motion"), ("failed", "still")]
    assert lines[0]["decided_after_s"] <= DEFAULT_BUDGET_S
    assert lines[1]["cues"]["motion"] < 0.05 and lines[1]["cues"]["blink"] is None
    assert 0.0 <= lines[1]["cues"]["eyes"] < Thresholds().eyes
    assert all(line["watch_ms"] > 0 and line["frame_ms"] >= line["watch_ms"] for line in lines)


@pytest.mark.parametrize(("args", "message"), [
    (["--mode", "blink"], "non-commercial"),
    (["--mode", "wave"], "motion or blink"),
])
def test_cli_refuses_bad_options(args: list[str], message: str) -> None:
    from smartschool.cli import app

    result = CliRunner().invoke(app, ["faces", "liveness", str(SET / "live-female.mp4"),
                                      *args])
    assert result.exit_code == 2 and message in result.output


def test_cli_names_a_missing_or_unreadable_video(tmp_path: Path) -> None:
    from smartschool.cli import app

    result = CliRunner().invoke(app, ["faces", "liveness", str(tmp_path / "nope.mp4")])
    assert result.exit_code == 2 and "no such video" in result.output
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    result = CliRunner().invoke(app, ["faces", "liveness", str(junk)])
    assert result.exit_code == 1 and "not a readable video" in result.output


def test_bench_quick_prints_its_final_json_line() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, str(root / "bench" / "liveness.py"), "--quick"],
                         capture_output=True, text=True, timeout=280, check=False, cwd=root)
    final = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == (0 if final["targets_met"] else 1), run.stderr
    (motion,) = final["runs"]
    assert motion["mode"] == "motion" and motion["live_clips"] == 10
    assert motion["attack_acceptance"]["still"] == 0.0
    assert motion["attack_acceptance"]["moved"] == 0.0
    assert set(motion["live_rejection_by_head"]) == {"rolls", "still", "turns"}
    assert motion["live_rejection_by_head"]["turns"] == 0.0
    assert motion["live_rejection_by_head"]["rolls"] == 0.0  # the eye cue's doing
    assert motion["accepted_by"]["live:eye-change"] >= 1
    assert not any(key.split(":")[0] != "live" and key.endswith("eye-change")
                   for key in motion["accepted_by"])  # no photo passes by its eyes
    assert all(v < motion["eyes_threshold"] for v in motion["eyes_attack_max"].values())
    assert set(motion["live_rejected"]) == set(STILL_REFUSED)
    assert set(motion["live_prompted"]) == set(STILL_REFUSED) - {"live-male-c.mp4"}
    assert motion["live_refused"] == []
    assert all(v < motion["prompt_nonrigid"] for v in motion["nonrigid_attack_max"].values())
    assert final["cost"]["added_ms"] > 0 and final["cost"]["ratio"] > 1
    assert set(final["targets"]) >= {"still_met", "moved_met", "passage_met", "cost_met"}
