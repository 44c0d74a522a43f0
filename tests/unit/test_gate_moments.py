"""RecentMoments (edge/gate/moments.py), the card debounce and the "same passage" rule of
a gate and a classroom door, as tables of moments and what each answers."""

from __future__ import annotations

import pytest

from edge.gate.moments import RecentMoments

# (moments a key is read at, within_s, whether each read repeats the one before)
REPEATS = [
    pytest.param([0.0], 1.5, [False], id="a first read is a tap"),
    pytest.param([0.0, 1.0], 1.5, [False, True], id="read again within: held on the reader"),
    pytest.param([0.0, 1.5], 1.5, [False, False], id="exactly within_s later: a new tap"),
    pytest.param([0.0, 2.0], 1.5, [False, False], id="later: a new tap"),
    # Every read counts as the latest: a card held for 4 s at 1 read/s stays one tap.
    pytest.param([0.0, 1.0, 2.0, 3.0, 4.0], 1.5, [False, True, True, True, True],
                 id="held on the reader for long"),
    pytest.param([0.0, 1.0, 3.0], 1.5, [False, True, False], id="lifted and tapped again"),
    pytest.param([5.0, 4.0], 1.5, [False, True], id="a clock read out of order"),
    pytest.param([0.0, 0.0], 0.0, [False, False], id="no debounce"),
]


@pytest.mark.parametrize(("reads", "within_s", "repeats"), REPEATS)
def test_repeat(reads: list[float], within_s: float, repeats: list[bool]) -> None:
    moments = RecentMoments(within_s)
    assert [moments.repeat("04A1", at) for at in reads] == repeats


def test_repeats_are_per_key() -> None:
    moments = RecentMoments(1.5)
    assert [moments.repeat(uid, 0.0) for uid in ("04A1", "04B2", "04A1")] == [False, False, True]


# (noted at, asked at, within_s, recent?)
RECENT = [
    pytest.param(None, 0.0, 10.0, False, id="never noted"),
    pytest.param(0.0, 0.0, 10.0, True, id="just now"),
    pytest.param(0.0, 9.9, 10.0, True, id="a tap then the camera: the same passage"),
    pytest.param(0.0, 10.0, 10.0, False, id="exactly within_s later: a new passage"),
    pytest.param(0.0, 60.0, 10.0, False, id="a minute later"),
]


@pytest.mark.parametrize(("noted", "asked", "within_s", "recent"), RECENT)
def test_recent(noted: float | None, asked: float, within_s: float, recent: bool) -> None:
    moments = RecentMoments(within_s)
    if noted is not None:
        moments.note("HS1", noted)
    assert moments.recent("HS1", asked) is recent
    assert not moments.recent("HS2", asked)


def test_asking_notes_nothing() -> None:
    moments = RecentMoments(10.0)
    assert not moments.recent("HS1", 0.0)
    assert len(moments) == 0
    moments.note("HS1", 0.0)
    moments.note("HS1", 20.0)  # the latest note counts
    assert moments.recent("HS1", 25.0)


# (moments noted, keep, pruned at, keys left)
PRUNES = [
    pytest.param({"a": 0.0, "b": 5.0}, 2, 100.0, {"a", "b"}, id="not past keep: all stay"),
    pytest.param({"a": 0.0, "b": 5.0, "c": 95.0}, 2, 100.0, {"c"},
                 id="past keep: only what is still recent"),
    pytest.param({"a": 0.0, "b": 90.0, "c": 95.0}, 2, 100.0, {"b", "c"},
                 id="exactly within_s old still stays"),
    pytest.param({"a": 0.0, "b": 1.0, "c": 2.0}, 2, 100.0, set(), id="all old: all go"),
    pytest.param({"a": 99.0, "b": 99.5, "c": 100.0}, 2, 100.0, {"a", "b", "c"},
                 id="all recent: more than keep stay"),
]


@pytest.mark.parametrize(("noted", "keep", "at", "left"), PRUNES)
def test_prune(noted: dict[str, float], keep: int, at: float, left: set[str]) -> None:
    moments = RecentMoments(10.0, keep=keep)
    for key, t in noted.items():
        moments.note(key, t)
    moments.prune(at)
    assert len(moments) == len(left)
    assert {key for key in noted if moments.recent(key, noted[key])} == left


def test_the_default_keep_is_the_agents_thousand() -> None:
    moments = RecentMoments(1.5)
    for n in range(1000):
        moments.note(f"{n:04X}", 0.0)
    moments.prune(100.0)
    assert len(moments) == 1000  # pruned only past 1000, as the agents always did
    moments.note("FFFF", 99.0)
    moments.prune(100.0)
    assert len(moments) == 1
