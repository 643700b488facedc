"""A rule kind that lives outside alertsim: ``RisingRule`` fires while a metric has risen at each of the
last ``steps`` evaluations, and its own rule file format (``rising:``). It implements the rule contract
of :mod:`alertsim.rules.base` and nothing else; alertsim knows nothing of it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alertsim.durations import parse_duration
from alertsim.errors import ConfigError
from alertsim.rules import Dialect
from alertsim.rules.base import Condition, RuleBase
from alertsim.series import Grid, Prepared, Semantics, value


@dataclass(frozen=True, kw_only=True)
class RisingRule(RuleBase):
    """Fires for a series whose value rose at each of the last ``steps`` evaluation instants."""

    metric: str
    matchers: Mapping[str, str] = field(default_factory=dict)
    steps: int = 3
    kind: str = field(init=False, default="rising")

    partitionable = True  # one series at a time

    def conditions(self, prepared: Prepared, grid: Grid, semantics: Semantics) -> list[Condition]:
        selection = prepared.select(self.metric, self.matchers)
        vector = value(selection, grid, None, semantics)
        values, present = vector.values, vector.present
        rose = np.zeros(values.shape, dtype=bool)
        rose[:, 1:] = (values[:, 1:] > values[:, :-1]) & present[:, 1:] & present[:, :-1]
        # rising at each of the last `steps` instants: a run of `steps` rises ending here
        run = np.zeros(values.shape, dtype=np.int64)
        for t in range(1, values.shape[1]):
            run[:, t] = np.where(rose[:, t], run[:, t - 1] + 1, 0)
        return [Condition(rule=self, series=selection.table["series"].to_list(), labels=selection.label_dicts(),
                          enter=run >= self.steps, present=present, value=values, severity=self.severity)]

    def single_sample(self) -> str | None:
        return "steps: 1 pages on one rising sample" if self.steps < 2 else None

    def findings(self) -> list[tuple[str, str]]:
        return [("invalid", f"steps: {self.steps} fires at every instant with data")] if self.steps < 1 else []


def _recognises(documents: list[Any]) -> bool:
    return len(documents) == 1 and isinstance(documents[0], Mapping) and "rising" in documents[0]


def _parse(text: str, documents: list[Any], file: str) -> Sequence[RuleBase]:
    rules = []
    for spec in documents[0]["rising"]:
        if "metric" not in spec:
            raise ConfigError("a rising rule needs a metric", file=file, rule=spec.get("name"), field="metric")
        rules.append(RisingRule(name=spec["name"], metric=spec["metric"], steps=int(spec.get("steps", 3)),
                                matchers=spec.get("matchers", {}), severity=spec.get("severity", "page"),
                                for_=parse_duration(spec.get("for", "0s")),
                                annotations=spec.get("annotations", {})))
    return rules


#: The format's entry for ``load_rules(path, dialects=...)``.
RISING = Dialect(name="rising", recognises=_recognises, parse=_parse)
