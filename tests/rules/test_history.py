"""A replay that starts inside the data scores its first instants from the samples before them: the
scores of a late-starting replay are those of the replay from the data's start, on the same instants
(as PromQL's ``*_over_time`` reads samples before a ``query_range`` start)."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from alertsim.replay import replay
from alertsim.rules import LikelihoodRule, MadRule, RangeRule, SeasonalBandRule, ZScoreRule

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from realistic import realistic

RULES = [
    ZScoreRule(name="Z", metric="cpu", window=timedelta(hours=1), threshold=2.5),
    MadRule(name="M", metric="cpu", window=timedelta(minutes=45), threshold=3),
    RangeRule(name="R", metric="cpu", window=timedelta(hours=3), threshold=0.0),
    SeasonalBandRule(name="B", metric="cpu", period=timedelta(hours=2), seasons=3, threshold=3),
    LikelihoodRule(name="L", metric="cpu", of=ZScoreRule(name="", metric="cpu", window=timedelta(hours=1)),
                   window=timedelta(hours=4), threshold=0.99),
]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.kind)
@pytest.mark.parametrize("seed", [1, 2])
def test_a_late_start_scores_as_the_whole_replay_does(rule, seed):
    frame = realistic(series=4, points=24 * 60, interval_s=60, seed=seed)
    first = frame["timestamp"].min()
    start = (first + timedelta(hours=14)).isoformat()
    whole = replay(frame, [rule], evaluations=True).evaluations
    late = replay(frame, [rule], evaluations=True, start=start).evaluations
    assert whole is not None and late is not None and late.height
    joined = late.join(whole, on=["series", "at"], how="left", suffix="_whole")
    assert joined.filter(pl.col("score").is_null() != pl.col("score_whole").is_null()).height == 0
    np.testing.assert_allclose(joined["score"].to_numpy(), joined["score_whole"].to_numpy(), rtol=1e-9, atol=1e-9)
    assert (joined["state"] == joined["state_whole"]).mean() > 0.999
