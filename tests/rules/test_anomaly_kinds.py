"""The anomaly kinds' scores: worked examples (the numbers in each kind's docstring), reference loops
for the recursive kinds, cooldowns, the grid sharing features, and the YAML of the new kinds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

from alertsim.errors import ConfigError
from alertsim.replay import replay
from alertsim.rules import (
    CusumRule,
    LikelihoodRule,
    MadRule,
    RangeRule,
    SeasonalBandRule,
    SeasonalRule,
    ZScoreRule,
    parse_rules,
)
from alertsim.rules.anomaly import (
    AnomalyBase,
    Scores,
    alarm_cooldown,
    anomaly_score,
    cooldown_enter,
    describe,
    nab_scale,
    peak_cooldown,
)
from alertsim.series import Semantics, prepare
from alertsim.series.vectors import Grid

START = datetime(2026, 3, 2, tzinfo=UTC)
MINUTE = 60_000_000


def metrics(values: list[float] | np.ndarray, step: timedelta = timedelta(minutes=1)) -> pl.DataFrame:
    return pl.DataFrame({"timestamp": [START + step * i for i in range(len(values))], "metric": "m",
                         "value": np.asarray(values, dtype=float)}).with_columns(
        pl.col("timestamp").cast(pl.Datetime("us", "UTC")))


def scores_of(rule: AnomalyBase | SeasonalRule, values: list[float] | np.ndarray,
              step: timedelta = timedelta(minutes=1)) -> tuple[Scores, Grid]:
    frame = metrics(values, step)
    t0 = int(START.timestamp() * 1_000_000)
    grid = Grid(t0=t0, step=MINUTE, size=int((len(values) - 1) * step / timedelta(minutes=1)) + 1)
    return rule.scores(prepare(frame), grid, Semantics()), grid


# ------------------------------------------------------------------------------- worked examples

def test_zscore_worked_example() -> None:
    history = [95.0, 105.0] * 30                     # mean 100, sample std 5·sqrt(60/59)
    s, _ = scores_of(ZScoreRule(name="Z", metric="m", window=timedelta(hours=1)), [*history, 120.0])
    expected = (120 - 100) / (5 * np.sqrt(60 / 59))
    assert s.score[0, -1] == pytest.approx(expected)
    assert s.centre is not None and s.centre[0, -1] == pytest.approx(100)


def test_range_worked_example() -> None:
    history = [20.0, 60.0] + [40.0] * 48
    s, _ = scores_of(RangeRule(name="R", metric="m", window=timedelta(days=30)), [*history, 72.0, 10.0])
    assert s.score[0, -2] == pytest.approx(0.3)      # 12 above the max of a 40-wide range
    assert s.score[0, -1] == pytest.approx(-10 / 52)  # below the min of 20..72
    assert s.score[0, 30] == 0.0                     # inside the range


def test_seasonal_band_worked_example() -> None:
    hour = [200.0, 210.0, 190.0, 205.0, 150.0]        # one level per hour, one sample a minute
    values = np.repeat(hour, 60)
    rule = SeasonalBandRule(name="B", metric="m", period=timedelta(hours=1), seasons=4,
                            smooth=timedelta(seconds=1))
    s, _ = scores_of(rule, values)
    assert s.centre is not None and s.centre[0, 4 * 60 + 30] == pytest.approx(202.5)
    assert s.score[0, 4 * 60 + 30] == pytest.approx((150 - 202.5) / (1.4826 * 5.0))


@pytest.mark.parametrize(("now", "op", "two_sided", "fires"), [
    (300.0, ">", False, True),      # ratio 2.5 > 2
    (300.0, ">", True, True),
    (50.0, ">", False, False),      # ratio 0.42: only the two-sided rule sees it
    (50.0, ">", True, True),
    (150.0, ">", True, False),      # ratio 1.25, inside [0.5, 2]
])
def test_seasonal_two_sided_cases(now: float, op: str, two_sided: bool, fires: bool) -> None:
    rule = SeasonalRule(name="S", metric="m", period=timedelta(hours=1), value=2.0, op=op,  # type: ignore[arg-type]
                        two_sided=two_sided)
    result = replay(metrics([120.0] * 60 + [now] * 5), rule, evaluations=True)
    assert (result.alerts.height > 0) == fires


def test_cusum_equals_pages_recursion_on_the_zscores() -> None:
    """S⁺ = max(0, S⁺ + z − k) and S⁻ = max(0, S⁻ − z − k) on the clipped z-scores, each restarting from 0
    after it passed the threshold: the loop below is the definition."""
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(0, 1, 300), rng.normal(1.5, 1, 100), rng.normal(-1, 1, 100)])
    cusum = CusumRule(name="C", metric="m", window=timedelta(hours=2), drift=0.5, clip=3.0, threshold=8.0,
                      min_samples=10)
    z, _ = scores_of(ZScoreRule(name="Z", metric="m", window=timedelta(hours=2), min_samples=10), values)
    s, _ = scores_of(cusum, values)
    up = down = 0.0
    expected = []
    for zt in z.score[0]:
        if not np.isnan(zt):
            zt = min(max(zt, -3.0), 3.0)
            up, down = max(0.0, up + zt - 0.5), max(0.0, down - zt - 0.5)
        expected.append(up if up >= down else -down)
        up = 0.0 if up > 8.0 else up
        down = 0.0 if down > 8.0 else down
    valid = ~np.isnan(z.score[0])
    np.testing.assert_allclose(s.score[0, valid], np.array(expected)[valid], rtol=1e-9, atol=1e-9)
    assert np.nanmax(s.score[0, 300:400]) > 8 and np.nanmin(s.score[0, 400:]) < -8   # the shifts fire


def test_likelihood_equals_its_formula() -> None:
    rng = np.random.default_rng(5)
    values = np.concatenate([rng.normal(100, 5, 400), [160.0, 150.0, 170.0]])
    inner = ZScoreRule(name="L.of", metric="m", window=timedelta(hours=1))
    rule = LikelihoodRule(name="L", metric="m", of=inner, window=timedelta(hours=3), short=timedelta(minutes=3))
    z, _ = scores_of(inner, values)
    s, _ = scores_of(rule, values)
    raw = np.where(z.valid[0], nab_scale(np.abs(z.score[0]) / 3.0), np.nan)
    t = len(values) - 1
    history = raw[t - 180:t]
    history = history[~np.isnan(history)]
    mu, sigma = history.mean(), max(history.std(), np.sqrt(0.0003))
    expected = ndtr((np.nanmean(raw[t - 2:t + 1]) - mu) / sigma)
    assert s.score[0, t] == pytest.approx(expected)
    assert s.score[0, t] > 0.9999
    assert "likelihood" in describe(rule, s, 0, t)


def test_describe_names_value_baseline_and_spread() -> None:
    history = [95.0, 105.0] * 30
    rule = ZScoreRule(name="Z", metric="m", window=timedelta(hours=1))
    s, _ = scores_of(rule, [*history, 120.0])
    text = describe(rule, s, 0, 60)
    assert text.startswith("value 120 is 3.97 spreads of 5.04") and "from 100" in text


def test_sparse_series_score_once_they_hold_enough_samples() -> None:
    """An hourly series scores with the same default as a minutely one: samples are counted, not instants."""
    rng = np.random.default_rng(1)
    values = rng.normal(50, 2, 24 * 3)
    rule = ZScoreRule(name="Z", metric="m", window=timedelta(days=1), lookback=timedelta(hours=1))
    s, _ = scores_of(rule, values, step=timedelta(hours=1))
    first = int(np.flatnonzero(s.valid[0])[0])
    assert first == 9 * 60 + 1                   # the first instant with 10 samples (0h..9h) before it


# ---------------------------------------------------------------------------------------- cooldowns

@pytest.mark.parametrize(("enter", "width", "expected"), [
    ("1100000001", 3, "1100000001"),
    ("1101000001", 3, "1100000001"),         # re-entry 1 instant after the run ended: suppressed
    ("1100010001", 3, "1100010001"),         # 3 instants later: a new alert
    ("1101010001", 3, "1100010001"),         # the suppressed run does not extend the cooldown
    ("1101", 0, "1101"),
])
def test_cooldown_cases(enter: str, width: int, expected: str) -> None:
    got = cooldown_enter(np.array([[c == "1" for c in enter]]), width)
    assert "".join("1" if v else "0" for v in got[0]) == expected


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=60), st.integers(0, 10))
def test_peak_cooldown_only_silences(values: list[float], width: int) -> None:
    score = np.array([values])
    out = peak_cooldown(score, width)
    assert np.all((out == score) | (out == 0))
    assert out[0, 0] == score[0, 0] or score[0, 0] == 0


@pytest.mark.parametrize(("score", "width", "expected"), [
    ([0.2, 0.6, 0.1, 0.7, 0.3, 0.55, 0.4], 3, [0.2, 0.6, 0.0, 0.0, 0.0, 0.55, 0.0]),
    ([0.6, 0.6, 0.6, 0.6], 1, [0.6, 0.0, 0.6, 0.0]),    # a dropped alarm does not extend the silence
    ([0.5, 0.4, 0.6], 2, [0.5, 0.4, 0.6]),               # 0.5 is at the threshold, not above it
    ([0.9, 0.1], 0, [0.9, 0.1]),
])
def test_alarm_cooldown_cases(score: list[float], width: int, expected: list[float]) -> None:
    assert alarm_cooldown(np.array([score]), width).tolist() == [expected]


def test_a_cusum_score_alarms_once_per_cooldown_through_a_level_shift() -> None:
    """CUSUM restarts after every alarm, and a lasting shift against a long baseline alarms again and
    again; the score's cooldown keeps the first alarm and silences the rest, as the alert's does."""
    rng = np.random.default_rng(5)
    values = np.concatenate([rng.normal(10, 1, 600), rng.normal(14, 1, 240)])
    frame = metrics(values)
    t0 = int(START.timestamp() * 1_000_000)
    grid = Grid(t0=t0, step=MINUTE, size=len(values))

    def alarms(cooldown: timedelta) -> np.ndarray:
        rule = CusumRule(name="C", metric="m", window=timedelta(hours=12), threshold=10, drift=1.5, clip=3,
                         cooldown=cooldown)
        return np.flatnonzero(anomaly_score(rule, prepare(frame), grid, Semantics())[1][0] > 0.5)

    free, quiet = alarms(timedelta(0)), alarms(timedelta(hours=2))
    assert free.size >= 5 and free[0] >= 600
    assert quiet.tolist() == [free[0], *free[free >= free[0] + 121][:1]]


def test_cooldown_suppresses_realerting_in_a_replay() -> None:
    values = [10.0] * 120 + [100.0] + [10.0] * 5 + [100.0] + [10.0] * 60 + [100.0]
    rule = RangeRule(name="R", metric="m", window=timedelta(hours=2), threshold=0.1)
    quiet = RangeRule(name="R", metric="m", window=timedelta(hours=2), threshold=0.1,
                      cooldown=timedelta(minutes=30))
    assert replay(metrics(values), rule).alerts.height >= 1
    # The second spike is not a new high any more; cooldown removes nothing there, but the score does.
    assert replay(metrics(values), quiet).alerts.height <= replay(metrics(values), rule).alerts.height


# ------------------------------------------------------------------------------- shared features

def test_a_grid_computes_features_once_per_window(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, ...]] = []
    original = MadRule.compute

    def counting(self: MadRule, sel, grid, sem):  # type: ignore[no-untyped-def]
        calls.append(self.feature_key())
        return original(self, sel, grid, sem)

    monkeypatch.setattr(MadRule, "compute", counting)
    rules = parse_rules({"rules": [{"name": "M", "kind": "mad", "metric": "m", "window": ["30m", "1h", "2h"],
                                    "threshold": [3, 4, 5, 6, 7], "for": ["0s", "2m"]}]})
    assert len(rules) == 30
    rng = np.random.default_rng(2)
    replay(metrics(rng.normal(0, 1, 600)), rules)
    assert len(calls) == 3


def test_scores_are_deterministic() -> None:
    rng = np.random.default_rng(4)
    values = rng.normal(0, 1, 500)
    for rule in (MadRule(name="M", metric="m"), CusumRule(name="C", metric="m", window=timedelta(hours=1)),
                 RangeRule(name="R", metric="m")):
        frame = metrics(values)
        grid = Grid(t0=int(START.timestamp() * 1_000_000), step=MINUTE, size=500)
        a = anomaly_score(rule, prepare(frame), grid, Semantics())[1]
        b = anomaly_score(rule, prepare(frame.clone()), grid, Semantics())[1]
        np.testing.assert_array_equal(a, b)
        assert ((a >= 0) & (a <= 1)).all()


# -------------------------------------------------------------------------------------------- YAML

def test_new_kinds_parse_with_a_grid_inside_the_wrapped_score() -> None:
    rules = parse_rules({"rules": [
        {"name": "L", "kind": "likelihood", "metric": "m", "of": {"kind": "zscore", "window": ["1h", "1d"]},
         "window": "7d", "short": "15m", "threshold": 0.9999},
        {"name": "C", "kind": "cusum", "metric": "m", "drift": 0.5, "cooldown": "1h", "lookback": "2h"},
        {"name": "B", "kind": "seasonal_band", "metric": "m", "period": "1w", "seasons": 3},
        {"name": "S", "kind": "seasonal", "metric": "m", "value": 1.5, "two_sided": True},
    ]})
    assert [r.name for r in rules] == ["L[of.window=1h]", "L[of.window=1d]", "C", "B", "S"]
    first = rules[0]
    assert isinstance(first, LikelihoodRule) and isinstance(first.of, ZScoreRule)
    assert first.of.window == timedelta(hours=1) and first.of.metric == "m"


@pytest.mark.parametrize(("spec", "message"), [
    ({"kind": "likelihood", "of": {"kind": "burn_rate"}}, "has no score to wrap"),
    ({"kind": "likelihood", "of": {"kind": "zscore", "name": "x"}}, "unknown key"),
    ({"kind": "likelihood", "of": {"kind": "zscore"}, "threshold": 1.5}, "strictly between 0 and 1"),
    ({"kind": "likelihood"}, "needs `of`"),
    ({"kind": "seasonal", "value": 0.8, "two_sided": True}, "must be above 1"),
    ({"kind": "cusum", "window": "0s"}, "longer than 0s"),
    ({"kind": "range", "cooldown": "soon"}, "cooldown"),
])
def test_bad_specs_are_config_errors(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_rules({"rules": [{"name": "X", "metric": "m", **spec}]})


def test_a_rule_named_null_keeps_its_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from alertsim.rules import load_rules

    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - {name: Null, kind: zscore, metric: m}\n  - {name: 404, kind: mad, metric: m}\n")
    assert [r.name for r in load_rules(path)] == ["Null", "404"]


def test_mad_falls_back_to_the_mean_absolute_deviation_when_the_mad_is_zero() -> None:
    """A count that is 0 most of the time: the MAD is 0, the mean absolute deviation is not."""
    history = ([0.0] * 9 + [3.0]) * 12                # median 0, MAD 0, mean |deviation| 0.3
    s, _ = scores_of(MadRule(name="M", metric="m", window=timedelta(hours=1)), [*history, 6.0])
    assert s.score[0, -1] == pytest.approx(6.0 / (1.2533 * 0.3))
    flat, _ = scores_of(MadRule(name="M", metric="m", window=timedelta(hours=1)), [5.0] * 60 + [6.0])
    assert flat.score[0, -1] == np.inf                # an entirely flat window: any change is infinite
