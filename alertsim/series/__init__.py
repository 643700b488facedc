"""Series: samples laid out per series and selected on an evaluation grid, as Prometheus selects them.

The layer below the rules: :mod:`~alertsim.series.vectors` (instant and range selection, ``rate``,
vectorised over every series at once), :mod:`~alertsim.series.over_time` (the ``*_over_time`` numerics
of native rules and PromQL), :mod:`~alertsim.series.prepared` (a Metrics frame laid
out once for evaluation, selections, :class:`Semantics`) and :mod:`~alertsim.series.grid` (the evaluation
instants of a replay). It imports nothing of alertsim but errors, durations, frames and the budget.
"""

from alertsim.series.grid import instant_us, make_grid, to_datetime
from alertsim.series.prepared import Prepared, Selection, Semantics, prepare, value
from alertsim.series.vectors import LOOKBACK_US, Grid, SeriesSet, Vector

__all__ = ["LOOKBACK_US", "Grid", "Prepared", "Selection", "Semantics", "SeriesSet", "Vector", "instant_us",
           "make_grid", "prepare", "to_datetime", "value"]
