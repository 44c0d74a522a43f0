"""When creating the TimescaleDB extension would end the session with FATAL."""

from __future__ import annotations

import pytest

from hub.db import timescale_problem


@pytest.mark.parametrize(
    ("available", "installed", "preload", "refused"),
    [
        (False, False, "", False),                       # plain PostgreSQL: nothing to try
        (True, True, "", False),                         # already created (and so loaded)
        (True, False, "timescaledb", False),             # preloaded: create works
        (True, False, "pg_stat_statements, timescaledb", False),
        (True, False, '"timescaledb"', False),           # quoted entry in the setting
        (True, False, "", True),                         # package there, not preloaded
        (True, False, "pg_stat_statements", True),
        (True, False, "timescaledb_toolkit", True),      # a different library
    ],
)
def test_timescale_problem(available: bool, installed: bool, preload: str,
                           refused: bool) -> None:
    problem = timescale_problem(available=available, installed=installed, preload=preload)
    assert (problem is not None) == refused
    if problem:
        assert "shared_preload_libraries = 'timescaledb'" in problem
