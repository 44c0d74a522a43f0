"""Warnings and forecasts (issue 15): pure rules, the nightly runner, the read side."""
