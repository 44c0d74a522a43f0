"""The plan's targets (issue #13): indicator definitions, their inputs and monthly snapshots."""
