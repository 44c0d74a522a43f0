"""What a classroom agent measures, one collector per asset or source.

A collector is a small object with a ``name`` (the metric prefix of its
failures), an ``asset`` tag (``None`` for the device itself), a poll interval and
``collect(now) -> metrics``. ``CollectorScheduler`` polls each on its own
interval and turns an exception into ``collector.<name>.ok = false`` plus
``collector.<name>.error``, so one failing collector never stops the others.
"""

from edge.collectors.base import Collector, CollectorScheduler, Reading, failure_metrics

__all__ = ["Collector", "CollectorScheduler", "Reading", "failure_metrics"]
