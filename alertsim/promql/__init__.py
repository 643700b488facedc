"""PromQL on alertsim's vectorised engine: parse a subset of PromQL and evaluate it at every instant
of an evaluation grid at once; load Prometheus rule files (``groups:``) as replayable rules.

>>> from alertsim.promql import parse
>>> parse("sum by (job) (rate(http_requests_total[5m]))").type
'vector'
"""

from alertsim.promql.engine import EvaluationError, Scalar, Store, Vector, evaluate
from alertsim.promql.parser import PromQLSyntaxError, Unsupported, parse

__all__ = ["EvaluationError", "PromQLSyntaxError", "Scalar", "Store", "Unsupported", "Vector", "evaluate",
           "parse"]
