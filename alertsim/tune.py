"""Tuning sweeps: replay a grid of candidate rules once, score each against incidents, find the Pareto
frontier and recommend a candidate per rule under a paging budget.

All candidates are replayed together, so features are shared: each (series, window) rolling
computation — the value every threshold and ``for`` is compared against, a z-score baseline, a
burn-rate window — is computed once for the whole grid (see ``Prepared.cached``).

Per candidate: ``alerts_per_week``, ``pages_per_week`` (alerts of severity ``page``), ``precision``,
``recall``, ``time_to_detect_median``, ``budget_at_detection_median``. A candidate is on the frontier of
its rule when no other candidate of the same rule is at least as good on recall (higher is better),
pages per week and median time-to-detect (lower is better; undetected = worst) and better on one.

Recommendations: the paging ``budget`` (e.g. ``2/week``) holds per team (the rule's ``team`` label;
rules without one share the team ``-``). Each rule starts at its frontier candidate with the fewest
pages; the team's budget is then spent greedily on the upgrade with the most recall gained per extra
page, until nothing more fits. When even the quietest candidates exceed the budget, the
recommendations say so (``over_budget``) rather than hiding it.

Today's rules (``current``) are replayed with the grid, each as one more candidate of its family (named
``<rule> (today)``), so the recommendation can be to keep it. Each recommendation then has an
``action``: ``keep`` (today's rule is the pick), ``retune`` (a candidate), or ``consider removing``
when the candidate that fits the budget catches *far fewer* incidents than today's rule: a recall
below :data:`FAR_BELOW` (80%) of today's, i.e. it would stop catching more than one in five of the
incidents today's rule catches. Such a rule costs pages for little detection at this budget; removing
it (or a larger budget) is the honest choice, not a quieter rule that misses what it is for. Without
``current`` the action is ``retune`` and ``current_recall`` is empty.

>>> parse_budget("2/week")
2.0
>>> parse_budget("10/month")
2.3333333333333335
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from alertsim.durations import Duration
from alertsim.errors import ConfigError, Notice
from alertsim.frames import DURATION
from alertsim.quality.detection import score
from alertsim.replay import Replay, replay
from alertsim.rules import RuleBase, load_rules
from alertsim.scale import Dataset, replay_dataset
from alertsim.series import Prepared, prepare

log = logging.getLogger(__name__)

_PER = {"day": 7.0, "week": 1.0, "month": 7.0 / 30.0}

#: A candidate's recall is *far below* today's when it is below this share of it (it would miss more
#: than one in five of the incidents today's rule catches): the recommendation says "consider removing".
FAR_BELOW = 0.8
#: Suffix of today's rule among a family's candidates.
TODAY = " (today)"


def action(recall: float | None, current_recall: float | None, *, is_current: bool = False) -> str:
    """What to do with a rule whose recommended candidate has ``recall`` and today's rule
    ``current_recall``: ``keep``, ``retune`` or ``consider removing`` (recall far below today's).

    >>> action(0.9, 1.0), action(0.5, 1.0), action(0.5, None), action(1.0, 1.0, is_current=True)
    ('retune', 'consider removing', 'retune', 'keep')
    """
    if is_current:
        return "keep"
    if current_recall is not None and current_recall > 0 and (recall or 0.0) < FAR_BELOW * current_recall:
        return "consider removing"
    return "retune"


def parse_budget(text: str | float) -> float:
    """A paging budget as pages per week: ``"2/week"``, ``"1/day"``, ``"10/month"`` (30 days) or a number."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text < 0:
            raise ConfigError(f"must not be negative, got {text}", field="budget")
        return float(text)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*/\s*(day|week|month)\s*", str(text))
    if not match:
        raise ConfigError(f"{text!r} is not a paging budget; write e.g. '2/week', '1/day' or '10/month'",
                          field="budget")
    return float(match.group(1)) * _PER[match.group(2)]


@dataclass(frozen=True, eq=False)
class Tuning:
    """Result of :func:`tune`: ``candidates`` (one row per candidate with its scores, ``frontier`` and
    ``recommended`` flags), ``recommendations`` (one row per rule), and the underlying ``replay``."""

    candidates: pl.DataFrame
    recommendations: pl.DataFrame
    replay: Replay
    budget_per_week: float
    #: The replay's notices, and candidates that never fired (never recommended: nothing was measured).
    notices: tuple[Notice, ...] = ()

    @property
    def frontier(self) -> pl.DataFrame:
        return self.candidates.filter(pl.col("frontier"))


def _family(rule: RuleBase) -> str:
    return rule.base_name or rule.name


def dominated(recall: np.ndarray, pages: np.ndarray, ttd: np.ndarray) -> np.ndarray:
    """Pareto domination on (recall ↑, pages ↓, ttd ↓); NaN recall counts as 0, NaN ttd as +inf."""
    r = np.nan_to_num(recall, nan=0.0)
    t = np.where(np.isnan(ttd), np.inf, ttd)
    better_eq = (r[None, :] >= r[:, None]) & (pages[None, :] <= pages[:, None]) & (t[None, :] <= t[:, None])
    strictly = (r[None, :] > r[:, None]) | (pages[None, :] < pages[:, None]) | (t[None, :] < t[:, None])
    return np.any(better_eq & strictly, axis=1)


def _recommend(table: pl.DataFrame, budget: float) -> pl.Series:
    """Greedy per-team allocation of the paging budget over each rule's frontier."""
    chosen: dict[str, int] = {}
    rows = table.with_row_index("_i")
    for _team, members in rows.group_by("team", maintain_order=True):
        options: dict[str, list[tuple[int, float, float, float]]] = {}
        for family_key, frame in members.filter(pl.col("frontier")).group_by("family", maintain_order=True):
            ttd = frame["ttd_seconds"].fill_null(float("inf")).to_list()
            opts = sorted(zip(frame["_i"].to_list(), frame["pages_per_week"].to_list(),
                              frame["recall"].fill_null(0.0).to_list(), ttd, strict=True),
                          key=lambda o: (o[1], -o[2], o[3]))
            options[str(family_key[0])] = opts
        current = {fam: 0 for fam in options}
        spent = sum(opts[0][1] for opts in options.values())
        while True:
            best = None
            for fam, opts in options.items():
                here = opts[current[fam]]
                for j in range(current[fam] + 1, len(opts)):
                    extra = opts[j][1] - here[1]
                    gain = opts[j][2] - here[2]
                    if gain <= 0 or spent + extra > budget + 1e-12:
                        continue
                    value = gain / extra if extra > 0 else np.inf
                    if best is None or value > best[0]:
                        best = (value, fam, j, extra)
            if best is None:
                break
            _, fam, j, extra = best
            current[fam] = j
            spent += extra
        for fam, opts in options.items():
            chosen[fam] = opts[current[fam]][0]
    picked = set(chosen.values())
    return pl.Series("recommended", [i in picked for i in range(table.height)])


def tune(metrics: pl.DataFrame | Prepared | Dataset, rules: Sequence[RuleBase] | str | os.PathLike[str],
         incidents: pl.DataFrame, *, budget: str | float = "2/week", eval_interval: Duration = "1m",
         start: datetime | str | None = None, end: datetime | str | None = None, early: Duration = "0m",
         late: Duration = "0m", match_on: Sequence[str] | dict[str, str] = ("service",),
         engine: str = "memory", scheduler: Any = None,
         current: Sequence[RuleBase] | str | os.PathLike[str] | None = None) -> Tuning:
    """Replay every candidate of ``rules`` (a grid, see :mod:`alertsim.rules.config`) over ``metrics``
    once, score each against ``incidents`` and recommend one candidate per rule under ``budget``.

    Parameters
    ----------
    metrics : Metrics frame (or ``prepare()``-d), or a :class:`alertsim.scale.Dataset`.
    rules : rules or a rule file; list-valued parameters expand into candidates.
    incidents : Incidents frame, the truth for precision/recall/time-to-detect.
    budget : pages per week per team, e.g. ``"2/week"``. Default ``"2/week"``.
    eval_interval, start, end : as for :func:`alertsim.replay`.
    early, late, match_on : as for :func:`alertsim.score`.
    engine, scheduler : ``"local"``/``"dask"`` to sweep a :class:`alertsim.scale.Dataset` partition by
        partition (locally or on a Dask cluster); default in memory.
    current : today's rules (or their file): each rule whose name is a family of the grid joins it as
        the candidate ``<name> (today)``; recommendations then say ``keep``, ``retune`` or ``consider
        removing`` (see the module). Default: none.
    """
    budget_per_week = parse_budget(budget)
    loaded = load_rules(rules) if isinstance(rules, str | os.PathLike) else rules
    rule_list = list(loaded)
    if current is not None:
        extra = _today_candidates(current, rule_list)
        if extra:
            rule_list += extra
            loaded = rule_list
    if isinstance(metrics, Dataset):
        result = replay_dataset(metrics, rule_list, eval_interval=eval_interval, start=start, end=end,
                                engine="local" if engine == "memory" else engine,  # type: ignore[arg-type]
                                scheduler=scheduler)
    elif engine != "memory":
        raise ConfigError(f"engine {engine!r} replays a Dataset (alertsim.scale.open_dataset); "
                          "an in-memory frame uses engine='memory'", field="engine")
    else:
        result = replay(prepare(metrics), loaded, eval_interval=eval_interval, start=start, end=end)
    quality = score(result.alerts, incidents, early=early, late=late, match_on=match_on,
                    period=(result.start, result.end), rules=[r.name for r in rule_list])
    table = _candidate_table(result, quality, rule_list)
    # A candidate that never fired measured nothing: it is never on the frontier, never recommended.
    silent = table["alerts"].to_numpy() == 0
    notices = list(result.notices) + _silent_notices(table, silent)
    table = table.with_columns(pl.Series("frontier", _frontier(table) & ~silent))
    table = table.with_columns(_recommend(table, budget_per_week))
    recommendations = _recommendations(table, budget_per_week)
    notices += _removal_notices(recommendations)
    log.info("tuned %d candidates of %d rules", table.height, table["family"].n_unique())
    for notice in notices[len(result.notices):]:
        log.warning("%s", notice)
    return Tuning(candidates=table.drop("ttd_seconds"), recommendations=recommendations, replay=result,
                  budget_per_week=budget_per_week, notices=tuple(notices))


def _today_candidates(current: Sequence[RuleBase] | str | os.PathLike[str], grid: list[RuleBase]) -> list[RuleBase]:
    """Today's rules that name a family of the grid, as the candidates ``<name> (today)``."""
    today = load_rules(current) if isinstance(current, str | os.PathLike) else list(current)
    families = {_family(r) for r in grid}
    return [replace(r, name=r.name + TODAY, base_name=r.name)  # type: ignore[type-var]
            for r in today if r.name in families]


def _candidate_table(result: Replay, quality: pl.DataFrame, rule_list: list[RuleBase]) -> pl.DataFrame:
    """One row per candidate: family, kind, team, alerts and pages (per week), precision, recall and
    time to detect (``ttd_seconds`` for the frontier)."""
    weeks = max((result.end - result.start).total_seconds() / (7 * 86400), 1e-9)
    counts = result.alerts.group_by("rule").agg(
        pl.len().alias("alerts"), (pl.col("severity") == "page").sum().alias("pages"))
    meta = pl.DataFrame({
        "rule": [r.name for r in rule_list],
        "family": [_family(r) for r in rule_list],
        "kind": [r.kind for r in rule_list],
        "team": [str(r.labels.get("team", "-")) for r in rule_list],
        "current": [r.base_name is not None and r.name == r.base_name + TODAY for r in rule_list],
    })
    # today's rule is weighed against its family's candidates, under their team's budget
    grid_team = meta.filter(~pl.col("current")).group_by("family").agg(pl.col("team").first().alias("_team"))
    meta = meta.join(grid_team, on="family", how="left").with_columns(
        pl.when(pl.col("current")).then(pl.col("_team")).otherwise(pl.col("team")).alias("team")).drop("_team")
    return (meta.join(counts, on="rule", how="left")
            .join(quality.select("rule", "precision", "recall", "incidents_detected",
                                 "time_to_detect_median", "budget_at_detection_median"),
                  on="rule", how="left")
            .with_columns(pl.col("alerts").fill_null(0), pl.col("pages").fill_null(0))
            .with_columns((pl.col("alerts") / weeks).alias("alerts_per_week"),
                          (pl.col("pages") / weeks).alias("pages_per_week"),
                          pl.col("time_to_detect_median").cast(DURATION).dt.total_seconds(fractional=True)
                          .alias("ttd_seconds")))


def _frontier(table: pl.DataFrame) -> np.ndarray:
    """Candidates no other of their family beats on recall, pages per week and time to detect."""
    frontier = np.zeros(table.height, dtype=bool)
    for _fam, group in table.with_row_index("_i").group_by("family", maintain_order=True):
        idx = group["_i"].to_numpy()
        beaten = dominated(group["recall"].fill_null(np.nan).to_numpy().astype(float),
                           group["pages_per_week"].to_numpy().astype(float),
                           group["ttd_seconds"].fill_null(np.nan).to_numpy().astype(float))
        frontier[idx] = ~beaten
    return frontier


def _recommendations(table: pl.DataFrame, budget_per_week: float) -> pl.DataFrame:
    """The recommended candidate of each family, beside today's rule, with its team's pages and action."""
    today_recall = table.filter(pl.col("current")).select(
        "family", pl.col("recall").alias("current_recall"), pl.col("pages_per_week").alias("current_pages_per_week"))
    recommendations = (table.filter(pl.col("recommended"))
                       .select("family", "team", "rule", "pages_per_week", "recall", "precision",
                               "time_to_detect_median", "budget_at_detection_median", "current")
                       .join(today_recall, on="family", how="left")
                       .with_columns(pl.col("pages_per_week").sum().over("team").alias("team_pages_per_week"))
                       .with_columns(over_budget=pl.col("team_pages_per_week") > budget_per_week + 1e-9)
                       .sort("team", "family"))
    return recommendations.with_columns(pl.Series("action", [
        action(r["recall"], r["current_recall"], is_current=r["current"])
        for r in recommendations.iter_rows(named=True)], dtype=pl.String)).drop("current")


def _removal_notices(recommendations: pl.DataFrame) -> list[Notice]:
    return [Notice(code="consider-removing", rule=r["family"], message=(
        f"under the budget the best candidate, {r['rule']}, catches {r['recall'] or 0:.0%} of the incidents "
        f"against {r['current_recall']:.0%} for today's rule (below {FAR_BELOW:.0%} of it): consider removing "
        "the rule (or a larger budget) rather than a quieter rule that misses what it is for"))
        for r in recommendations.iter_rows(named=True) if r["action"] == "consider removing"]


def _silent_notices(table: pl.DataFrame, silent: np.ndarray) -> list[Notice]:
    found = []
    for family, group in table.with_columns(pl.Series("_silent", silent)).group_by("family", maintain_order=True):
        quiet = group.filter(pl.col("_silent"))["rule"].to_list()
        if not quiet:
            continue
        if len(quiet) == group.height:
            found.append(Notice(code="no-candidate-fired", rule=str(family[0]),
                                message=f"none of its {group.height} candidate(s) fired over the replay, so none "
                                        "is recommended: widen the grid or check the rule's metric"))
        else:
            found.append(Notice(code="candidate-never-fired", rule=str(family[0]),
                                message=f"{len(quiet)} of {group.height} candidates never fired and are not "
                                        f"recommended: {', '.join(quiet[:5])}{' ...' if len(quiet) > 5 else ''}"))
    return found
