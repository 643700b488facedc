"""Causality of the anomaly rules: replaying a prefix of the data gives exactly the alerts that replaying
all of it gives, up to the cut.

For every kind (zscore, mad, ewma, range, cusum, seasonal one- and two-sided, seasonal_band, likelihood,
holt_winters — STL and exponential smoothing — with and without a cooldown), Hypothesis
picks the cut. Up to the cut the prefix replay must have the same evaluations (state exactly, score to
rounding) and the same alerts: every alert of the full replay that fired at or before the cut, with the
same ``active_at`` and ``fired_at``, and its ``resolved_at`` if that is at or before the cut, else null
(still firing at the cut). An alert still pending at the cut is not an alert yet.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertsim.replay import replay
from alertsim.rules import (
    CusumRule,
    EwmaRule,
    HoltWintersRule,
    LikelihoodRule,
    MadRule,
    Over,
    RangeRule,
    SeasonalBandRule,
    SeasonalRule,
    ZScoreRule,
)

START = datetime(2026, 3, 2, tzinfo=UTC)
STEP = timedelta(minutes=1)
HOURS = 30

RULES = {
    "zscore": ZScoreRule(name="Z", metric="latency", window=timedelta(hours=1), threshold=3.0,
                         for_=timedelta(minutes=2)),
    "mad": MadRule(name="M", metric="latency", window=timedelta(minutes=30), threshold=4.0, direction="up",
                   keep_firing_for=timedelta(minutes=3)),
    "ewma": EwmaRule(name="E", metric="latency", halflife=timedelta(minutes=15), warmup=timedelta(hours=1),
                     threshold=3.0, for_=timedelta(minutes=1), keep_firing_for=timedelta(minutes=2)),
    "seasonal": SeasonalRule(name="S", metric="latency", period=timedelta(hours=6), mode="ratio", op=">",
                             value=1.3, over=Over(fn="avg", window=timedelta(minutes=10)),
                             for_=timedelta(minutes=5)),
    "range": RangeRule(name="R", metric="latency", window=timedelta(hours=6), threshold=0.05,
                       cooldown=timedelta(minutes=20)),
    "cusum": CusumRule(name="C", metric="latency", window=timedelta(hours=2), threshold=8.0, direction="up",
                       keep_firing_for=timedelta(minutes=2)),
    "seasonal_two_sided": SeasonalRule(name="S2", metric="latency", period=timedelta(hours=6), mode="ratio",
                                       value=1.25, two_sided=True, cooldown=timedelta(minutes=30)),
    "seasonal_band": SeasonalBandRule(name="SB", metric="latency", period=timedelta(hours=2), seasons=3,
                                      threshold=4.0, lookback=timedelta(minutes=2)),
    "likelihood": LikelihoodRule(name="L", metric="latency", of=ZScoreRule(name="L.of", metric="latency",
                                                                           window=timedelta(hours=1)),
                                 window=timedelta(hours=6), short=timedelta(minutes=2), threshold=0.99),
    # Model fits are the slow part: one host, a refit every 3 hours (the schedule still crosses cuts).
    "holt_winters_stl": HoltWintersRule(name="HS", metric="latency", matchers={"host": "b"},
                                        season=timedelta(hours=2), train=timedelta(hours=8),
                                        refit=timedelta(hours=3), resolution=timedelta(minutes=10),
                                        method="stl", threshold=4.0),
    "holt_winters_ets": HoltWintersRule(name="HE", metric="latency", matchers={"host": "a"},
                                        season=timedelta(hours=2), train=timedelta(hours=6),
                                        refit=timedelta(hours=3), resolution=timedelta(minutes=20),
                                        method="ets", threshold=3.0, keep_firing_for=timedelta(minutes=5)),
}


@functools.cache
def metrics() -> pl.DataFrame:
    """Two hosts, one sample a minute for 30 hours: a 2-hour and a 6-hour cycle, noise, spikes, a level
    shift, and a 20-minute gap in one host's samples."""
    rng = np.random.default_rng(11)
    n = HOURS * 60
    minute = np.arange(n)
    frames = []
    for host, scale in (("a", 1.0), ("b", 2.5)):
        base = 100 * scale + 10 * scale * np.sin(2 * np.pi * minute / 120) + 5 * np.sin(2 * np.pi * minute / 360)
        values = base + rng.normal(0, 2 * scale, n)
        spikes = rng.choice(n, size=12, replace=False)
        values[spikes] += rng.uniform(20, 60, 12) * scale
        values[int(n * 0.7):int(n * 0.7) + 90] += 30 * scale       # a 90-minute level shift
        keep = np.ones(n, dtype=bool)
        if host == "b":
            keep[900:920] = False
        frames.append(pl.DataFrame({
            "timestamp": [START + STEP * int(m) for m in minute[keep]],
            "metric": "latency", "value": values[keep], "host": host,
        }))
    return pl.concat(frames).with_columns(pl.col("timestamp").cast(pl.Datetime("us", "UTC")))


@functools.cache
def full(kind: str):
    data = metrics()
    return replay(data, RULES[kind], start=START, end=data["timestamp"].max(), evaluations=True)


def truncated(alerts: pl.DataFrame, cut: datetime) -> list[tuple]:
    """What a replay ending at ``cut`` must report: alerts fired by then, resolved only if by then."""
    rows = alerts.filter(pl.col("fired_at") <= cut).with_columns(
        pl.when(pl.col("resolved_at") <= cut).then(pl.col("resolved_at")).otherwise(None).alias("resolved_at"))
    return sorted(rows.select("rule", "series", "active_at", "fired_at", "resolved_at").rows())


def test_every_kind_alerts_and_has_scores():
    """Otherwise the property below would hold trivially."""
    for kind in RULES:
        result = full(kind)
        assert result.alerts.height >= 2, kind
        assert result.alerts["resolved_at"].null_count() < result.alerts.height, kind
        assert result.evaluations["score"].drop_nulls().len() > 1000, kind


@functools.cache
def edges(kind: str) -> list[datetime]:
    """Instants around the alerts of the full replay, where a cut is most likely to go wrong: when an
    alert becomes pending, one step before and at firing, one step before and at resolution."""
    out: set[datetime] = set()
    for active, fired, resolved in full(kind).alerts.select("active_at", "fired_at", "resolved_at").rows():
        out |= {active, fired - STEP, fired, fired + STEP}
        if resolved is not None:
            out |= {resolved - STEP, resolved}
    return sorted(t for t in out if t > START + timedelta(minutes=30))


@pytest.mark.parametrize("kind", sorted(RULES))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_prefix_replay_matches_full_replay_up_to_the_cut(kind, data):
    anywhere = st.builds(lambda m, s: START + timedelta(minutes=m, seconds=s),
                         st.integers(30, HOURS * 60 - 2), st.sampled_from([0, 0, 0, 29]))
    cut = data.draw(st.one_of(anywhere, st.sampled_from(edges(kind))), label="cut")
    whole = full(kind)
    prefix = replay(metrics().filter(pl.col("timestamp") <= cut), RULES[kind], start=START, end=cut,
                    evaluations=True)
    assert sorted(prefix.alerts.select("rule", "series", "active_at", "fired_at", "resolved_at").rows()) \
        == truncated(whole.alerts, cut)

    before = whole.evaluations.filter(pl.col("at") <= cut).sort("series", "at")
    got = prefix.evaluations.sort("series", "at")
    assert got.select("series", "at", "state").equals(before.select("series", "at", "state"))
    np.testing.assert_allclose(got["score"].to_numpy(), before["score"].to_numpy(), rtol=1e-9, atol=1e-9,
                               equal_nan=True)
