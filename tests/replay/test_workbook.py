"""SRE Workbook ch. 5 ("Alerting on SLOs") and the promtool-verified examples of the reference
(shared/reference/prometheus-alertmanager-slo.md §1, §3.6), replayed with alertsim.

Series are written in promtool's expanding notation (``0+600x181``, ``1 _x8``) so each case reads like
the promtool unit test it reproduces; :func:`series_frame` turns them into a Metrics frame (``_`` is no
row; ``stale`` ends the series' rows, see test_promtool_differential.py for that mapping).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from alertsim.replay import replay
from alertsim.rules import BurnRateRule, BurnWindow, Selector, ThresholdRule

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
PERIOD = timedelta(days=30)
FAST_PAGE = BurnWindow(long=timedelta(hours=1), short=timedelta(minutes=5), factor=14.4, severity="page")

_SELECTOR = re.compile(r"^(?P<metric>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?$")
_TERM = re.compile(r"^(?P<start>-?\d+(?:\.\d+)?)(?:(?P<sign>[+-])(?P<step>\d+(?:\.\d+)?))?x(?P<times>\d+)$")


def expand(values: str) -> list[float | str | None]:
    """promtool's expanding notation: ``a+bxn`` is n+1 samples a, a+b, ..., ``axn`` n+1 copies, ``_`` no
    sample (``_xn``: n of them) and ``stale`` a stale marker."""
    out: list[float | str | None] = []
    for token in values.split():
        if token == "_":
            out.append(None)
        elif token.startswith("_x"):
            out += [None] * int(token[2:])
        elif token == "stale":
            out.append("stale")
        elif match := _TERM.match(token):
            start, step = float(match["start"]), float(match["step"] or 0)
            step = -step if match["sign"] == "-" else step
            out += [start + step * k for k in range(int(match["times"]) + 1)]
        else:
            out.append(float(token))
    return out


def series_frame(series: dict[str, str], interval: timedelta = MINUTE) -> pl.DataFrame:
    """A Metrics frame from promtool ``input_series`` (selector -> values), samples every ``interval``
    from the Unix epoch; a ``stale`` marker ends the series."""
    rows = []
    for selector, values in series.items():
        match = _SELECTOR.match(selector)
        assert match, selector
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
        for k, value in enumerate(expand(values)):
            if value == "stale":
                break
            if value is not None:
                rows.append({"timestamp": EPOCH + k * interval, "metric": match["metric"], "value": value,
                             **labels})
    frame = pl.DataFrame(rows)
    return frame.with_columns(pl.col("timestamp").cast(pl.Datetime("us", "UTC")),
                              pl.col("value").cast(pl.Float64))


def firing_at(alerts: pl.DataFrame, at: datetime, **labels: str) -> bool:
    """Whether an alert with these labels is firing at instant ``at`` (fired_at <= at < resolved_at)."""
    for row in alerts.iter_rows(named=True):
        found = json.loads(row["labels"])
        if any(found.get(k) != v for k, v in labels.items()):
            continue
        if row["fired_at"] <= at and (row["resolved_at"] is None or at < row["resolved_at"]):
            return True
    return False


def minutes(m: float) -> datetime:
    return EPOCH + timedelta(minutes=m)


# --------------------------------------------------------------------------------------------------
# Reference §3.6: promtool-verified timing, lookback and SLO examples, as case tables.

TIMING_RULES = [
    ThresholdRule(name="ForThreeMinutes", metric="cond", op=">", value=0, for_=timedelta(minutes=3)),
    ThresholdRule(name="KeepFiring", metric="cond", op=">", value=0, keep_firing_for=timedelta(minutes=2)),
    ThresholdRule(name="NoFor", metric="cond", op=">", value=0),
]


@pytest.fixture(scope="module")
def timing_alerts() -> pl.DataFrame:
    # t=0..12m :   0 0 1 1 1 1 1 0 0 0 0 0 0
    metrics = series_frame({'cond{job="x"}': "0 0 1 1 1 1 1 0 0 0 0 0 0"})
    return replay(metrics, TIMING_RULES, start=EPOCH, end=minutes(12)).alerts


@pytest.mark.parametrize(("alertname", "minute", "firing"), [
    ("NoFor", 1, False),
    ("NoFor", 2, True),
    ("ForThreeMinutes", 4, False),   # pending since 2m
    ("ForThreeMinutes", 5, True),    # 5m - 2m >= 3m -> firing
    ("ForThreeMinutes", 6, True),
    ("ForThreeMinutes", 7, False),   # condition false -> resolved immediately
    ("NoFor", 7, False),
    ("KeepFiring", 8, True),         # false since 7m, 8m - 7m < 2m
    ("KeepFiring", 9, False),        # 9m - 7m >= 2m -> resolved
])
def test_timing_test(timing_alerts, alertname, minute, firing):
    assert firing_at(timing_alerts, minutes(minute), alertname=alertname, job="x") is firing


def test_timing_test_episodes(timing_alerts):
    got = {row["rule"]: (row["active_at"], row["fired_at"], row["resolved_at"])
           for row in timing_alerts.iter_rows(named=True)}
    assert got == {"ForThreeMinutes": (minutes(2), minutes(5), minutes(7)),
                   "KeepFiring": (minutes(2), minutes(2), minutes(9)),
                   "NoFor": (minutes(2), minutes(2), minutes(7))}


STALE_RULES = [ThresholdRule(name="Gap", metric="cond", op=">", value=0),
               ThresholdRule(name="Flappy", metric="cond2", op=">", value=0, for_=timedelta(minutes=3))]


@pytest.mark.parametrize(("alertname", "job", "minute", "firing"), [
    ("Gap", "gap", 4, True),      # one sample at 0, then none: still seen through the 5m lookback ...
    ("Gap", "gap", 5, True),      # ... including exactly 5m later (closed lookback in 2.x) ...
    ("Gap", "gap", 6, False),     # ... and gone after
    ("Flappy", "f", 6, False),    # true 0-2m, false at 3m, true again from 4m: pending restarted at 4m
    ("Flappy", "f", 7, True),
])
def test_stale_test(alertname, job, minute, firing):
    metrics = series_frame({'cond{job="gap"}': "1 _x8", 'cond2{job="f"}': "1 1 1 0 1 1 1 1 1 1"})
    alerts = replay(metrics, STALE_RULES, start=EPOCH, end=minutes(9)).alerts
    assert firing_at(alerts, minutes(minute), alertname=alertname, job=job) is firing


def test_stale_marker_is_not_end_of_samples():
    """The one place where alertsim's input cannot say what promtool's can. In stale_test.yml,
    ``cond{job="stale"}`` is ``1 stale``: Prometheus drops the series at the marker and never fires
    (promtool lists only job="gap" at 4m). alertsim's Metrics frame has no stale markers; the series
    just ends, so the last sample stays visible for the 5-minute lookback, like the gap series.
    Exports from a Prometheus server (``query_range``) already have staleness applied, so this only
    matters for hand-written data — and it cannot change an alert when the last sample before the
    marker is false (the differential test's generator keeps to that)."""
    metrics = series_frame({'cond{job="stale"}': "1 stale _x7", 'cond{job="stale_false"}': "1 0 stale _x6"})
    alerts = replay(metrics, STALE_RULES[:1], start=EPOCH, end=minutes(9)).alerts
    assert [firing_at(alerts, minutes(m), job="stale") for m in (1, 4, 5, 6)] == [True, True, True, False]
    assert [firing_at(alerts, minutes(m), job="stale_false") for m in (1, 4, 5, 6)] == [False] * 4


SLO_RULE = BurnRateRule(
    name="SLOFastBurn", objective=0.999, by=("job",), windows=(FAST_PAGE,),
    bad=Selector(metric="slo_errors_total", matchers={"job": "myjob"}),
    total=Selector(metric="slo_requests_total", matchers={"job": "myjob"}))
SLO_SERIES = {
    # 10 req/s, scraped every minute
    'slo_requests_total{job="myjob"}': "0+600x181",
    # no errors until t=60m, then 100% errors for 10 minutes (t=61m..70m), then none
    'slo_errors_total{job="myjob"}': "0x60 600+600x9 6000x110",
}


@pytest.fixture(scope="module")
def slo_replay():
    return replay(series_frame(SLO_SERIES), SLO_RULE, start=EPOCH, end=minutes(181), evaluations=True)


@pytest.mark.parametrize(("minute", "firing"), [
    (60, False),
    (61, True),     # the first evaluation that sees the errors
    (74, True),     # errors stopped after 70m; the 5m window still includes them
    (75, False),    # the short window clears -> the alert resets
])
def test_slo_test(slo_replay, minute, firing):
    assert firing_at(slo_replay.alerts, minutes(minute), job="myjob", severity="page") is firing


def test_slo_test_long_window_ratio(slo_replay):
    """promtool's promql_expr_test: ``job:slo_errors_per_request:ratio_rate1h`` at 75m is 1/6 (10 of the
    60 minutes in the window were errors) while the alert has already reset."""
    at_75 = slo_replay.evaluations.filter(pl.col("at") == minutes(75))
    burn = at_75["value"].item()  # the long-window burn rate, error ratio / (1 − objective)
    assert burn * (1 - 0.999) == pytest.approx(0.16666666666666669, rel=1e-12)


# --------------------------------------------------------------------------------------------------
# The workbook's numbers.

def slo_counters(*, hours: float, interval: timedelta, rps: float, error_ratio) -> pl.DataFrame:
    """``requests_total`` and ``errors_total`` counters sampled every ``interval`` from the epoch;
    ``error_ratio(t_seconds) -> float`` is the share of requests failing between two samples."""
    step = interval.total_seconds()
    t = np.arange(0, hours * 3600 + step / 2, step)
    per_step = np.full(len(t), rps * step)
    per_step[0] = 0
    errors = per_step * np.array([error_ratio(s) for s in t])
    frame = pl.DataFrame({
        "timestamp": [EPOCH + timedelta(seconds=float(s)) for s in t] * 2,
        "metric": ["requests_total"] * len(t) + ["errors_total"] * len(t),
        "value": np.concatenate([np.cumsum(per_step), np.cumsum(errors)]),
        "job": "api",
    })
    return frame.with_columns(pl.col("timestamp").cast(pl.Datetime("us", "UTC")))


def burn_rule(windows, *, for_=timedelta(0)) -> BurnRateRule:
    return BurnRateRule(name="Availability", objective=0.999, windows=tuple(windows), for_=for_,
                        bad=Selector(metric="errors_total"), total=Selector(metric="requests_total"))


def test_full_outage_is_caught_at_the_first_evaluation_and_resets_five_minutes_after():
    """A 100% outage from 2h to 2h10m with 1-minute scrapes and evaluations: the 14.4× 1h/5m tier fires
    at the first evaluation after errors start and resolves 5 minutes after they end (the short window
    empties), although the 1h burn rate is still far above 14.4."""
    start, end = 120 * 60, 130 * 60
    metrics = slo_counters(hours=4, interval=MINUTE, rps=10,
                           error_ratio=lambda s: 1.0 if start < s <= end else 0.0)
    result = replay(metrics, burn_rule([FAST_PAGE]), evaluations=True)
    (alert,) = result.alerts.iter_rows(named=True)
    assert (alert["active_at"], alert["fired_at"], alert["resolved_at"]) == (
        minutes(121), minutes(121), minutes(135))
    long_burn = result.evaluations.filter(pl.col("at") == minutes(135))["value"].item()
    assert long_burn == pytest.approx(10 / 60 / 0.001)  # 10 bad minutes in the last hour: 167×


def test_budget_at_detection_is_factor_times_long_window_over_period():
    """Budget consumed when the fast tier fires: the workbook's ``factor × long / period`` = 14.4 × 1h /
    30d = 2%, *up to one evaluation interval's worth of budget*.

    The 1h error ratio of a 100% outage grows by ``interval / 1h`` per evaluation, so the first
    evaluation above 14.4 × 0.1% has burnt between 2% and 2% + ``interval / (0.1% × 30d)`` (what one
    interval of total outage costs): with 1-minute evaluations that is 2.3% of slack, more than the
    value itself, so this runs on a 10-second grid where the slack is 0.39%. The engine records the
    budget actually burnt in the long window at the firing instant: 60 s of outage = 2.31%."""
    interval = timedelta(seconds=10)
    start = 2 * 3600
    metrics = slo_counters(hours=2.5, interval=interval, rps=10,
                           error_ratio=lambda s: 1.0 if start < s <= start + 600 else 0.0)
    (alert,) = replay(metrics, burn_rule([FAST_PAGE]), eval_interval=interval).alerts.iter_rows(named=True)
    assert alert["fired_at"] == EPOCH + timedelta(seconds=start + 60)  # first instant with > 51.84 s burnt
    formula = FAST_PAGE.factor * (FAST_PAGE.long / PERIOD)
    one_interval = interval / (0.001 * PERIOD)
    assert formula == pytest.approx(0.02)
    assert formula <= alert["budget_at_detection"] <= formula + one_interval
    assert alert["budget_at_detection"] == pytest.approx(60 / (0.001 * PERIOD.total_seconds()))


def test_for_ten_minutes_never_fires_on_five_minute_spikes():
    """Workbook Figure 5-3: error ratio over 5 minutes > 0.1% with ``for: 10m``; 100% error spikes of
    5 minutes every 10 minutes never fire, although each spike burns almost 12% of the 30-day budget
    and three of them 35%. The 5m window sees errors 9 minutes out of every 10: the timer resets."""
    spikes = 3

    def spike(s: float) -> float:
        """Errors in the minute ending at sample ``s``: minutes 61-65, 71-75, 81-85 fail completely."""
        minute = round(s / 60)
        return 1.0 if 60 < minute <= 60 + 10 * spikes and (minute - 61) % 10 < 5 else 0.0

    metrics = slo_counters(hours=2, interval=MINUTE, rps=10, error_ratio=spike)
    window = [BurnWindow(long=timedelta(minutes=5), short=timedelta(minutes=5), factor=1.0, severity="page")]
    result = replay(metrics, burn_rule(window, for_=timedelta(minutes=10)), evaluations=True)
    assert result.alerts.height == 0

    true_minutes = result.evaluations.filter(pl.col("state"))["at"]
    assert len(true_minutes) == 9 * spikes  # true 9 of every 10 minutes, never 11 in a row

    errors = metrics.filter(pl.col("metric") == "errors_total")["value"].max()
    per_period = 10 * PERIOD.total_seconds()  # requests in 30 days at this traffic
    consumed = errors / (0.001 * per_period)
    assert consumed == pytest.approx(0.35, abs=0.005)
    assert consumed / spikes == pytest.approx(0.116, abs=0.001)

    # The same spikes with `for: 5m` do fire: it is the duration clause that hides them.
    shorter = replay(metrics, burn_rule(window, for_=timedelta(minutes=5))).alerts
    assert shorter.height == spikes
