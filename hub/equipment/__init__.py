"""Equipment (issue #6): asset register and import, alarm rules and lifecycle, work orders,
the evaluator thread, and the time-series rollups the charts read."""
