"""The rule contract: what every rule kind and dialect implements, and the :class:`Condition` it returns.

A rule is a frozen keyword-only dataclass deriving from :class:`RuleBase`. The replay engine, the
partitioned replay of :mod:`alertsim.scale`, :func:`alertsim.lint` and the vendors' notification model
call only the methods below and never ask which kind a rule is:

* :meth:`RuleBase.conditions` (abstract) — the rule's condition for every matching series at every grid
  instant, as one or more :class:`Condition` records; the Prometheus state machine (``for``,
  ``keep_firing_for``) runs over them in :mod:`alertsim.replay`;
* :meth:`RuleBase.grid_on` — the instants the rule is evaluated at (default: the replay's grid);
* :attr:`RuleBase.partitionable` and :meth:`RuleBase.colocated` — whether a replay split into series
  partitions gives the same alerts, and which series must stay in one partition;
* :meth:`RuleBase.notifications` — where a dialect has its own notification model (CloudWatch actions,
  Cloud Monitoring and Datadog re-notification), the notifications of one alert episode;
* lint hooks: :meth:`RuleBase.single_sample`, :meth:`RuleBase.signal`, :meth:`RuleBase.overlaps`,
  :meth:`RuleBase.findings`,
  :meth:`RuleBase.severity_given` and :attr:`RuleBase.severity_field`.

A new kind is one module with its record (implementing :meth:`~RuleBase.conditions`); a new rule *file
format* adds one entry to :data:`alertsim.rules.formats.DIALECTS`.

>>> import numpy as np
>>> from alertsim.series import Grid
>>> @dataclass(frozen=True, kw_only=True)
... class Always(RuleBase):
...     kind: str = field(init=False, default="always")
...     def conditions(self, prepared, grid, semantics):
...         on = np.ones((1, grid.size), dtype=bool)
...         return [Condition(rule=self, series=["x"], labels=[{}], enter=on, present=on,
...                           value=np.ones((1, grid.size)), severity=self.severity)]
>>> Always(name="A").conditions(None, Grid(t0=0, step=60_000_000, size=3), None)[0].enter.tolist()
[[True, True, True]]
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import numpy as np

from alertsim.errors import Notice
from alertsim.series import Grid, Prepared, Semantics

#: Metric names of counters (and histogram parts): a rule on them does not fire on one gauge sample.
COUNTER = re.compile(r"(_total|_count|_sum|_bucket)$")
#: One notification a vendor sends for an alert episode: (sent at, ``firing`` | ``repeat`` | ``resolved``).
Sent = tuple[datetime, str]


@dataclass(frozen=True, kw_only=True)
class RuleBase(ABC):
    """Fields every rule has, and the contract every rule kind implements (see the module docstring)."""

    name: str
    severity: str = "page"
    for_: timedelta = timedelta(0)
    keep_firing_for: timedelta = timedelta(0)
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    kind: str = field(init=False, default="")
    #: The rule's name before grid expansion (``HighCPU`` for ``HighCPU[value=85]``).
    base_name: str | None = None

    #: A replay of series partitions gives the same alerts as one of the whole history: the rule looks at
    #: one series at a time, or aggregates only across the groups :meth:`colocated` keeps together.
    partitionable: ClassVar[bool] = False
    #: What lint calls the field that says whether a rule pages.
    severity_field: ClassVar[str] = "severity"

    @property
    def alertname(self) -> str:
        return self.base_name or self.name

    @abstractmethod
    def conditions(self, prepared: Prepared, grid: Grid, semantics: Semantics) -> list[Condition]:
        """The rule's condition(s) for every matching series at every instant of ``grid``."""

    def grid_on(self, grid: Grid) -> Grid:
        """The instants this rule is evaluated at, given the replay's grid (a Prometheus rule group and a
        vendor alarm have their own interval). Default: ``grid``."""
        return grid

    def colocated(self) -> tuple[list[tuple[str, Mapping[str, str]]], tuple[str, ...]] | None:
        """Series a partitioned replay must keep in one partition: ``(selectors, by)`` — the series matching
        any ``(metric, matchers)`` selector with equal ``by`` labels go together. Default: none."""
        return None

    def notifications(self, alert: Mapping[str, Any], end: datetime | None) -> list[Sent] | None:
        """The notifications the rule's own system sends for one alert episode (a row of an Alerts frame;
        open episodes re-notify until ``end``), or None when the rule has no notification model of its own
        (its alerts go through Alertmanager, :func:`alertsim.notify`)."""
        return None

    # Lint hooks -----------------------------------------------------------------------------------

    def single_sample(self) -> str | None:
        """Why the rule fires on a single evaluation of a gauge (one sample pages someone), or None."""
        return None

    def signal(self) -> tuple[str, dict[str, str], str] | None:
        """``(metric, label constraints, "up" | "down")`` of a threshold-like rule, for finding overlapping
        rules; None when the rule is not one."""
        return None

    def overlaps(self, other: RuleBase) -> str | None:
        """Why ``other`` pages for the same thing as this rule (one incident, two pages), or None. Default:
        both compare the same metric in the same direction on series both can match."""
        mine, theirs = self.signal(), other.signal()
        if mine and theirs and mine[0] == theirs[0] and mine[2] == theirs[2] and _compatible(mine[1], theirs[1]) \
                and _compatible(theirs[1], mine[1]):
            word = "above" if mine[2] == "up" else "below"
            return (f"pages on {mine[0]} {word} a threshold for the same series as {other.alertname!r}: "
                    "one incident, two pages")
        return None

    def findings(self) -> list[tuple[str, str]]:
        """Kind-specific lint findings as ``(check, message)``. Default: none."""
        return []

    def severity_given(self, explicit: bool | None) -> bool:
        """Whether the source said how the rule pages (``explicit``: what the rule file said, None when the
        file cannot tell)."""
        return True if explicit is None else explicit


def _compatible(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    return all(b.get(k, v) == v for k, v in a.items())


@dataclass(frozen=True, eq=False)
class Condition:
    """One alerting condition evaluated for ``n`` series on a grid (arrays are ``(n, instants)``).

    ``enter`` is the condition; ``stay`` (hysteresis) the condition that keeps a firing alert firing.
    ``present`` marks instants where the rule had data to evaluate (``state`` null otherwise).
    """

    rule: RuleBase
    series: list[str]
    labels: list[dict[str, str]]
    enter: np.ndarray
    present: np.ndarray
    value: np.ndarray
    severity: str
    stay: np.ndarray | None = None
    score: np.ndarray | None = None
    #: An array, or a function computing it: anomaly bounds are only built when evaluations are kept.
    bound: np.ndarray | Callable[[], np.ndarray] | None = None
    budget: np.ndarray | None = None
    extra_labels: Mapping[str, str] = field(default_factory=dict)
    #: Instants (a bool per grid instant) at which the rule's evaluation failed: no state change there.
    failed: np.ndarray | None = None
    #: Evaluation failures of this rule and of the recording rules it reads.
    health: tuple[Health, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Health:
    """How often one rule's evaluation failed over a replay, as Prometheus' rule health reports it
    (``rule_evaluation_failures_total`` and the last error); ``kind`` is ``alerting`` or ``recording``.

    >>> from alertsim.promql.engine import Failures
    >>> failures = Failures.none(3)
    >>> failures.add(np.array([1]), "vector cannot contain metrics with the same labelset")
    >>> h = Health.of("Changed", "alerting", failures, Grid(t0=0, step=60_000_000, size=3))
    >>> h.failures, h.last_error_at, h.last_error
    (1, 60000000, 'vector cannot contain metrics with the same labelset')
    """

    rule: str
    kind: str
    failures: int
    last_error: str
    last_error_at: int
    file: str | None = None
    line: int | None = None

    @classmethod
    def of(cls, rule: str, kind: str, failures: Any, grid: Grid, *, first: int = 0, file: str | None = None,
           line: int | None = None) -> Health | None:
        """The health of ``failures`` (:class:`alertsim.promql.engine.Failures`) from grid index
        ``first`` on, or None when the rule never failed there."""
        count = int(failures.failed[first:].sum())
        last = failures.last()
        if not count or last is None:
            return None
        at = grid.t0 + grid.step * int(np.flatnonzero(failures.failed)[-1])
        return cls(rule=rule, kind=kind, failures=count, last_error=last[1], last_error_at=int(at), file=file,
                   line=line)

    def notice(self, evaluations: int) -> Notice:
        """The warning a replay gives for this rule (out of ``evaluations`` instants)."""
        kind = "recording rule" if self.kind == "recording" else "rule"
        at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=self.last_error_at)
        return Notice(code="evaluation-failed", rule=self.rule, file=self.file, line=self.line,
                      message=f"the {kind}'s evaluation failed at {self.failures:,} of {evaluations:,} instants, "
                              f"which have no result (the last at {at.isoformat()}: {self.last_error}); the other "
                              "rules are not affected")


class LoadedRules(list):  # type: ignore[type-arg]
    """The rules of a file, plus ``notices`` for the rules that were left out of it (outside the
    supported subset), each naming the file and line, the rule and the construct. It is a plain
    list otherwise; :func:`alertsim.replay` carries the notices into its result.

    >>> from alertsim.errors import Notice
    >>> rules = LoadedRules([], notices=[Notice(code="unsupported-rule", rule="B", message="skipped")])
    >>> len(rules), [n.rule for n in rules.notices]
    (0, ['B'])
    """

    def __init__(self, rules: Iterable[RuleBase] = (), *, notices: Iterable[Notice] = ()):
        super().__init__(rules)
        self.notices: tuple[Notice, ...] = tuple(notices)


__all__ = ["COUNTER", "Condition", "Health", "LoadedRules", "RuleBase", "Sent"]
