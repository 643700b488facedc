"""Tuning: one shared replay of a grid, scores per candidate, Pareto frontier, budget recommendations."""

from __future__ import annotations

import polars as pl
import pytest

from alertsim.errors import ConfigError
from alertsim.replay import replay
from alertsim.rules import parse_rules
from alertsim.series import prepare
from alertsim.tune import dominated, parse_budget, tune
from tests.report.conftest import GRID


@pytest.mark.parametrize(("text", "per_week"), [("2/week", 2.0), ("1/day", 7.0), ("30/month", 7.0),
                                                 ("0.5/week", 0.5), (3, 3.0)])
def test_budget_grammar(text, per_week):
    assert parse_budget(text) == pytest.approx(per_week)


@pytest.mark.parametrize("text", ["2 per week", "week", "-1/week", "2/fortnight", ""])
def test_bad_budget_is_a_config_error(text):
    with pytest.raises(ConfigError, match="budget"):
        parse_budget(text)


def test_domination_case_table():
    # recall ↑, pages ↓, ttd ↓: c is dominated by a (same recall, more pages, slower); b trades off.
    import numpy as np

    recall = np.array([1.0, 0.5, 1.0, np.nan])
    pages = np.array([2.0, 1.0, 3.0, 0.5])
    ttd = np.array([60.0, 30.0, 120.0, np.nan])
    assert dominated(recall, pages, ttd).tolist() == [False, False, True, False]


def test_tune_scores_every_candidate_once_and_recommends_within_budget(world):
    rules = parse_rules(GRID)
    result = tune(world["metrics"], rules, world["incidents"], budget="3/week")
    assert result.candidates.height == len(rules) == 8
    # The greedy recommendation picks one candidate per rule family.
    assert sorted(result.recommendations["family"].to_list()) == ["CPUZ", "HighCPU"]
    # Every recommended candidate is on its frontier.
    assert result.candidates.filter(pl.col("recommended"))["frontier"].all()
    # Scores agree with a separate replay of one candidate.
    one = next(r for r in rules if r.name == "HighCPU[value=70,for=5m]")
    alone = replay(world["metrics"], [one]).alerts
    row = result.candidates.filter(pl.col("rule") == one.name).row(0, named=True)
    assert row["alerts"] == alone.height
    assert row["recall"] == 1.0 and row["precision"] == 1.0


def test_features_are_computed_once_per_window(world):
    prepared = prepare(world["metrics"])
    rules = parse_rules(GRID)
    replay(prepared, rules)
    selection = next(v for k, v in prepared.cache.items() if k[0] == "select")
    value_keys = [k for k in selection.cache if k[0] == "value"]
    zscore_keys = [k for k in selection.cache if k[0] == "ZScoreRule"]
    assert len(value_keys) == 1 and len(zscore_keys) == 1
