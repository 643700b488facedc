"""Differential test: alertsim's replay against Prometheus' own rule engine, ``promtool test rules``.

448 seeded random cases (one ``numpy.random.Generator`` per seed), each with a random ``for`` and
``keep_firing_for`` and 30s or 1m evaluation and scrape intervals, over integer series with gaps (some
longer than the lookback) and stale endings:

* 240 threshold rules: every comparison, raw values or ``<fn>_over_time`` (avg, min, max, sum, count,
  last, quantile, stddev) over 1-10 minute windows;
* 48 with hysteresis (``clear``), written in PromQL with the ``ALERTS{alertstate="firing"}`` idiom;
* 48 deliberate exact ties Prometheus computes exactly (``avg_over_time(up[5m]) < 1``, integer sums,
  ``stddev_over_time(x[5m]) == 0``);
* 48 seasonal rules (``x / x offset 10m``, ``x - x offset 10m``, raw or over a window);
* 64 SLO burn-rate rules (1-2 tiers of long and short windows) over ``bad`` or ``good`` and ``total``
  counters summed over one or two instances, with counter resets.

For every case the set of evaluation instants at which promtool reports the alert firing must equal
alertsim's.

How it runs: alertsim replays every case first; its firing instants become ``exp_alerts`` at *every*
evaluation instant (an empty list where alertsim says "not firing"). The cases go into four unit-test
files, one per (``evaluation_interval``, test ``interval``) pair, each holding one test group in which
every case is its own series (label ``case``) with its own alerting rule; ``promtool test rules`` runs
once over the four files. A failure is parsed back to its case: seed, instant, what alertsim expected
and what promtool got.

Mapping promtool's series notation to a Metrics frame
-----------------------------------------------------
* a number: one row at ``k × interval`` after the Unix epoch (promtool's time origin);
* ``_`` (no sample): no row. Both engines look back 5 minutes (closed) across a gap.
* ``stale``: the series' rows end there. alertsim's Metrics frame has no stale markers; a series ends
  when its samples end, and an instant selector keeps returning its last sample for the 5-minute
  lookback, whereas Prometheus drops the series at the marker. The generator only produces markers
  where the two must agree: a marker is always a series' last sample, and

  - range functions (``*_over_time``, ``rate``) skip stale markers in Prometheus (promql/engine.go,
    ``matrixIterSlice``), so for them the marker *is* the end of the samples;
  - for a raw instant selector the last sample before the marker is put on the false side of the
    condition, so "absent" (Prometheus) and "present but false" (alertsim) both count as a false
    instant for ``for`` and ``keep_firing_for``.

  ``test_workbook.py::test_stale_marker_is_not_end_of_samples`` shows the difference when the last
  sample is true.

Ties: values are integers and thresholds have a two-decimal fraction coprime with 10 (x.13, x.37, ...),
so no aggregate of fewer than 100 integer samples (avg, sum, quantile at q in {0.5, 0.75, 0.9}, stddev)
can equal a threshold and summation-order differences cannot flip a comparison. ``==``/``!=`` compare
integers exactly and are only used where the value is a sample (raw, last, min, max) or a count.
Burn-rate limits are ``a/10007`` (a prime larger than any counter increase in a window), so a ratio of
integer increases cannot equal them either.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from alertsim.durations import format_duration, parse_duration
from alertsim.replay import replay
from alertsim.rules import BurnRateRule, BurnWindow, Over, Rule, SeasonalRule, Selector, ThresholdRule

pytestmark = pytest.mark.prometheus

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
THRESHOLD_SEEDS = range(0, 240)
BURN_SEEDS = range(1000, 1064)
HYSTERESIS_SEEDS = range(2000, 2048)
EXACT_SEEDS = range(3000, 3048)
SEASONAL_SEEDS = range(4000, 4048)
INTERVALS_S = (30, 60)
FRACTIONS = (0.13, 0.37, 0.61, 0.89, 0.23, 0.77)
FOR_S = (0, 0, 30, 60, 90, 120, 180, 300, 600)
KEEP_S = (0, 0, 0, 30, 60, 90, 120, 300)
WINDOWS_S = (60, 90, 120, 180, 300, 600)
FNS = ("avg", "min", "max", "sum", "count", "last", "quantile", "stddev")
QUANTILES = (0.5, 0.75, 0.9)
#: (long, short) burn-rate windows in seconds.
TIERS_S = ((300, 60), (600, 120), (900, 300), (1200, 180), (1800, 300))
LOOKBACK_S = 300

Token = int | None | str
"""A promtool sample: an integer, ``None`` for ``_`` (no sample) or ``"stale"``."""


@dataclass(frozen=True, kw_only=True)
class PromAlert:
    """One promtool alerting rule of a case (a burn-rate case has one per tier)."""

    alertname: str
    expr: str
    labels: dict[str, str]
    tier: tuple[str, str] | None = None


@dataclass(frozen=True, kw_only=True)
class Case:
    """A random case: series in promtool notation, the alertsim rule and the same rule(s) in PromQL."""

    seed: int
    eval_s: int
    scrape_s: int
    series: dict[str, list[Token]]
    rule: Rule
    alerts: tuple[PromAlert, ...]
    #: Seconds after the last sample during which the rule can still see it.
    tail_s: int

    @property
    def label(self) -> str:
        return str(self.seed)

    @property
    def end_s(self) -> int:
        return max(len(tokens) for tokens in self.series.values()) * self.scrape_s + self.tail_s

    def describe(self) -> str:
        alerts = "; ".join(a.expr for a in self.alerts)
        return (f"seed {self.seed} (eval {self.eval_s}s, scrape {self.scrape_s}s, for "
                f"{format_duration(self.rule.for_)}, keep_firing_for "
                f"{format_duration(self.rule.keep_firing_for)}): {alerts}")


# --------------------------------------------------------------------------------------------------
# Case generation.

def _regimes(rng: np.random.Generator, n: int) -> np.ndarray:
    """A two-state Markov chain (True = high) so that conditions hold for runs of samples."""
    switch = rng.random(n) < rng.uniform(0.06, 0.3)
    return (np.cumsum(switch) + int(rng.integers(0, 2))) % 2 == 1


def _gaps(rng: np.random.Generator, n: int) -> np.ndarray:
    """Up to three stretches without samples, some longer than the 5-minute lookback."""
    missing = np.zeros(n, dtype=bool)
    for _ in range(int(rng.integers(0, 4))):
        start = int(rng.integers(0, n))
        missing[start:start + int(rng.choice([1, 2, 3, 5, 8, 12]))] = True
    return missing


def _false_value(op: str, threshold: float) -> int:
    """An integer on the false side of ``op threshold``."""
    if op in (">", ">="):
        return math.floor(threshold) - 1
    if op in ("<", "<="):
        return math.ceil(threshold) + 1
    return int(threshold) + 1 if op == "==" else int(threshold)


def _selector(metric: str, case: str, instance: str | None = None) -> str:
    """A promtool/PromQL series selector; also the key of a case's series."""
    extra = f',instance="{instance}"' if instance else ""
    return f'{metric}{{case="{case}"{extra}}}'


def threshold_case(seed: int, *, hysteresis: bool = False) -> Case:
    """A threshold rule on one integer series, raw or over a window; with ``hysteresis`` a ``clear``
    level, written in PromQL with the usual idiom ``x > value or (x > clear and on(case)
    ALERTS{alertstate="firing"})`` (the rule's own firing series from the previous evaluation)."""
    rng = np.random.default_rng(seed)
    eval_s, scrape_s = (int(rng.choice(INTERVALS_S)) for _ in range(2))
    n = int(rng.integers(20, 61)) * 60 // scrape_s
    high = _regimes(rng, n)
    values = np.where(high, rng.integers(6, 10, n), rng.integers(0, 5, n))
    tokens: list[Token] = [None if gap else int(v) for v, gap in zip(values, _gaps(rng, n), strict=True)]

    over = None
    samples = 1
    if rng.random() < 0.6:
        fn = str(rng.choice(FNS))
        window = int(rng.choice(WINDOWS_S))
        q = float(rng.choice(QUANTILES)) if fn == "quantile" else None
        over = Over(fn=fn, window=dt.timedelta(seconds=window), q=q)  # type: ignore[arg-type]
        samples = window // scrape_s + 1
    exact = over is None or over.fn in ("last", "min", "max", "count")
    ordered = [">", ">=", "<", "<="]
    op = str(rng.choice(ordered if hysteresis or not exact else [*ordered, "==", "!="]))
    fn = over.fn if over else None
    if op in ("==", "!="):
        threshold = float(rng.integers(1, samples + 1) if fn == "count" else rng.integers(0, 10))
    else:
        base = {"count": rng.integers(0, samples), "sum": rng.integers(1, 9) * rng.integers(1, samples + 1),
                "stddev": rng.integers(0, 4)}.get(fn or "", rng.integers(1, 9))
        threshold = float(base) + float(rng.choice(FRACTIONS))
    clear = None
    if hysteresis:
        clear = threshold + float(rng.integers(1, 4)) * (-1 if op in (">", ">=") else 1)

    if rng.random() < 0.3:
        stale_at = int(rng.integers(n // 2, n))
        tokens = [*tokens[:stale_at], "stale"]
        numeric = [i for i, tok in enumerate(tokens) if isinstance(tok, int)]
        if over is None and numeric:
            tokens[numeric[-1]] = _false_value(op, threshold if clear is None else clear)

    name = f"T{seed:04d}"
    label = str(seed)
    for_s, keep_s = int(rng.choice(FOR_S)), int(rng.choice(KEEP_S))
    rule = ThresholdRule(name=name, metric="m", matchers={"case": label}, op=op, value=threshold,  # type: ignore[arg-type]
                         over=over, clear=clear, for_=dt.timedelta(seconds=for_s),
                         keep_firing_for=dt.timedelta(seconds=keep_s))
    selector = _selector("m", label)
    if over is None:
        lhs = selector
    else:
        window = f"{int(over.window.total_seconds())}s"
        arg = f"{over.q!r}, " if over.q is not None else ""
        lhs = f"{over.fn}_over_time({arg}{selector}[{window}])"
    tail = LOOKBACK_S if over is None else int(over.window.total_seconds())
    expr = f"{lhs} {op} {threshold!r}"
    if clear is not None:
        expr += (f' or ({lhs} {op} {clear!r} and on(case) ALERTS{{alertname="{name}",'
                 f'alertstate="firing"}})')
    alert = PromAlert(alertname=name, expr=expr, labels={"case": label, "severity": "page"})
    return Case(seed=seed, eval_s=eval_s, scrape_s=scrape_s, series={_selector("m", label): tokens}, rule=rule,
                alerts=(alert,), tail_s=tail + eval_s)


def exact_case(seed: int) -> Case:
    """Deliberate ties that Prometheus computes exactly, as real rules hit them: ``up``-style 0/1 series
    (``avg_over_time(up[5m]) < 1``), integer error counts (``sum_over_time(errors[5m]) > 0``,
    ``>= 2``) and flat lines (``stddev_over_time(x[5m]) == 0``). A window of equal samples has exactly
    that mean and no spread, and integer samples sum exactly, in both engines."""
    rng = np.random.default_rng(seed)
    eval_s, scrape_s = (int(rng.choice(INTERVALS_S)) for _ in range(2))
    n = int(rng.integers(20, 61)) * 60 // scrape_s
    bad = _regimes(rng, n) & (rng.random(n) < 0.7)
    family = str(rng.choice(["up", "errors", "flat"]))
    if family == "up":
        values = np.where(bad, 0, 1)
        fn, op, threshold = "avg", str(rng.choice(["<", "==", "!=", ">="])), float(rng.choice([0, 1]))
    elif family == "errors":
        values = np.where(bad, rng.integers(0, 4, n), 0)
        fn, op, threshold = "sum", str(rng.choice([">", ">=", "==", "<"])), float(rng.integers(0, 4))
    else:
        values = np.where(bad, rng.integers(0, 10, n), 5)
        fn, op, threshold = "stddev", str(rng.choice(["==", ">", "<="])), 0.0
    tokens: list[Token] = [None if gap else int(v) for v, gap in zip(values, _gaps(rng, n), strict=True)]
    if rng.random() < 0.3:
        tokens = [*tokens[:int(rng.integers(n // 2, n))], "stale"]
    window = int(rng.choice(WINDOWS_S))
    name, label = f"X{seed:04d}", str(seed)
    rule = ThresholdRule(name=name, metric="m", matchers={"case": label}, op=op, value=threshold,  # type: ignore[arg-type]
                         over=Over(fn=fn, window=dt.timedelta(seconds=window)),  # type: ignore[arg-type]
                         for_=dt.timedelta(seconds=int(rng.choice(FOR_S))),
                         keep_firing_for=dt.timedelta(seconds=int(rng.choice(KEEP_S))))
    expr = f"{fn}_over_time({_selector('m', label)}[{window}s]) {op} {threshold!r}"
    return Case(seed=seed, eval_s=eval_s, scrape_s=scrape_s, series={_selector("m", label): tokens}, rule=rule,
                alerts=(PromAlert(alertname=name, expr=expr, labels={"case": label, "severity": "page"}),),
                tail_s=window + eval_s)


def seasonal_case(seed: int) -> Case:
    """A seasonal rule: the value against the value one ``period`` ago (PromQL ``offset``), as a ratio or
    a difference, raw or over a window of exact aggregates (min, max, last, sum, count of integers; a
    ratio of two integers is correctly rounded in both engines). Raw cases end without a stale marker:
    the ``offset`` side would see it at another instant than the current side."""
    rng = np.random.default_rng(seed)
    eval_s, scrape_s = (int(rng.choice(INTERVALS_S)) for _ in range(2))
    n = int(rng.integers(20, 61)) * 60 // scrape_s
    values = np.where(_regimes(rng, n), rng.integers(6, 10, n), rng.integers(0, 5, n))
    tokens: list[Token] = [None if gap else int(v) for v, gap in zip(values, _gaps(rng, n), strict=True)]
    over = None
    if rng.random() < 0.5:
        over = Over(fn=str(rng.choice(["min", "max", "last", "sum", "count"])),  # type: ignore[arg-type]
                    window=dt.timedelta(seconds=int(rng.choice(WINDOWS_S))))
        if rng.random() < 0.3:
            tokens = [*tokens[:int(rng.integers(n // 2, n))], "stale"]
    period = int(rng.choice([300, 600, 900]))
    mode = str(rng.choice(["ratio", "difference"]))
    op = str(rng.choice([">", ">=", "<", "<="]))
    frac = float(rng.choice(FRACTIONS))
    value = float(rng.integers(0, 3)) + frac if mode == "ratio" else float(rng.integers(-4, 5)) + frac
    name, label = f"S{seed:04d}", str(seed)
    rule = SeasonalRule(name=name, metric="m", matchers={"case": label}, period=dt.timedelta(seconds=period),
                        mode=mode, op=op, value=value, over=over,  # type: ignore[arg-type]
                        for_=dt.timedelta(seconds=int(rng.choice(FOR_S))),
                        keep_firing_for=dt.timedelta(seconds=int(rng.choice(KEEP_S))))

    def side(offset: str) -> str:
        selector = _selector("m", label)
        if over is None:
            return f"{selector}{offset}"
        return f"{over.fn}_over_time({selector}[{int(over.window.total_seconds())}s]{offset})"

    expr = f"({side('')} {'/' if mode == 'ratio' else '-'} {side(f' offset {period}s')}) {op} {value!r}"
    tail = (LOOKBACK_S if over is None else int(over.window.total_seconds())) + period
    return Case(seed=seed, eval_s=eval_s, scrape_s=scrape_s, series={_selector("m", label): tokens}, rule=rule,
                alerts=(PromAlert(alertname=name, expr=expr, labels={"case": label, "severity": "page"}),),
                tail_s=tail + eval_s)


def _counter(increments: np.ndarray, start: int, reset_at: int | None) -> np.ndarray:
    values = start + np.cumsum(increments) - increments[0]
    if reset_at is not None:
        values[reset_at:] = np.cumsum(increments[reset_at:])
    return values


def burn_case(seed: int) -> Case:
    """A burn-rate rule (1-2 tiers) over ``bad`` (or ``good``) and ``total`` counters summed over one or
    two instances, each with its own start, counter reset, gaps and stale ending."""
    rng = np.random.default_rng(seed)
    eval_s, scrape_s = (int(rng.choice(INTERVALS_S)) for _ in range(2))
    n = int(rng.integers(30, 61)) * 60 // scrape_s
    incident = _regimes(rng, n)
    use_good = bool(rng.random() < 0.4)
    label = str(seed)
    series: dict[str, list[Token]] = {}
    for instance in ("a", "b")[:int(rng.integers(1, 3))]:
        total_inc = rng.integers(20, 121, n)
        p_bad = np.where(incident, rng.uniform(0.05, 0.6), rng.uniform(0.0, 0.01))
        bad_inc = rng.binomial(total_inc, p_bad)
        start = int(rng.choice([0, int(rng.integers(1, 5000))]))
        reset_at = int(rng.integers(5, n - 5)) if rng.random() < 0.3 else None
        counters = {"total": _counter(total_inc, start, reset_at)}
        if use_good:
            counters["good"] = _counter(total_inc - bad_inc, start - start // 50, reset_at)
        else:
            counters["bad"] = _counter(bad_inc, start // 50, reset_at)
        missing = _gaps(rng, n)
        stale_at = int(rng.integers(n // 2, n)) if rng.random() < 0.3 else None
        for metric, values in counters.items():
            tokens: list[Token] = [None if gap else int(v) for v, gap in zip(values, missing, strict=True)]
            if stale_at is not None:
                tokens = [*tokens[:stale_at], "stale"]
            series[_selector(metric, label, instance)] = tokens

    objective = float(rng.choice([0.9, 0.95, 0.99]))
    budget = 1.0 - objective
    picked = rng.choice(len(TIERS_S), size=int(rng.integers(1, 3)), replace=False)
    windows = tuple(
        BurnWindow(long=dt.timedelta(seconds=TIERS_S[i][0]), short=dt.timedelta(seconds=TIERS_S[i][1]),
                   factor=int(rng.integers(100, 5000)) / 10007 / budget, severity="page")
        for i in sorted(picked))
    name = f"B{seed:04d}"
    for_s, keep_s = int(rng.choice(FOR_S)), int(rng.choice(KEEP_S))
    counted = Selector(metric="good" if use_good else "bad", matchers={"case": label})
    rule = BurnRateRule(name=name, objective=objective, total=Selector(metric="total", matchers={"case": label}),
                        good=counted if use_good else None, bad=None if use_good else counted,
                        windows=windows, for_=dt.timedelta(seconds=for_s),
                        keep_firing_for=dt.timedelta(seconds=keep_s))

    def ratio(seconds: int) -> str:
        part = (f"sum(rate({_selector(counted.metric, label)}[{seconds}s])) / "
                f"sum(rate({_selector('total', label)}[{seconds}s]))")
        return f"(1 - ({part}))" if use_good else f"({part})"

    alerts = []
    for i, tier in enumerate(windows):
        long_s, short_s = int(tier.long.total_seconds()), int(tier.short.total_seconds())
        limit = repr(tier.factor * budget)  # exactly the double alertsim compares with
        alerts.append(PromAlert(
            alertname=f"{name}_{i}", expr=f"{ratio(long_s)} > {limit} and {ratio(short_s)} > {limit}",
            labels={"severity": "page"}, tier=(format_duration(tier.long), format_duration(tier.short))))
    tail = max(int(w.long.total_seconds()) for w in windows)
    return Case(seed=seed, eval_s=eval_s, scrape_s=scrape_s, series=series, rule=rule,
                alerts=tuple(alerts), tail_s=tail + eval_s)


@functools.cache
def all_cases() -> tuple[Case, ...]:
    return tuple([threshold_case(s) for s in THRESHOLD_SEEDS] + [burn_case(s) for s in BURN_SEEDS]
                 + [threshold_case(s, hysteresis=True) for s in HYSTERESIS_SEEDS]
                 + [exact_case(s) for s in EXACT_SEEDS] + [seasonal_case(s) for s in SEASONAL_SEEDS])


# --------------------------------------------------------------------------------------------------
# alertsim's side.

_SERIES = re.compile(r'^(?P<metric>\w+)\{case="(?P<case>\d+)"(?:,instance="(?P<instance>\w+)")?\}$')


def metrics_frame(cases: Iterable[Case]) -> pl.DataFrame:
    """The Metrics frame of the cases: one row per numeric token, nothing for ``_`` and ``stale``."""
    rows: dict[str, list] = {"timestamp": [], "metric": [], "value": [], "case": [], "instance": []}
    for case in cases:
        for selector, tokens in case.series.items():
            match = _SERIES.match(selector)
            assert match is not None, selector
            for k, token in enumerate(tokens):
                if isinstance(token, int):
                    rows["timestamp"].append(EPOCH + dt.timedelta(seconds=k * case.scrape_s))
                    rows["metric"].append(match["metric"])
                    rows["value"].append(float(token))
                    rows["case"].append(match["case"])
                    rows["instance"].append(match["instance"])
    return pl.DataFrame(rows, schema={"timestamp": pl.Datetime("us", "UTC"), "metric": pl.String,
                                      "value": pl.Float64, "case": pl.String, "instance": pl.String})


@dataclass(frozen=True, kw_only=True)
class Expected:
    """alertsim's answer for one promtool alert: instants (seconds) at which it fires, out of ``instants``."""

    case: Case
    alert: PromAlert
    instants: tuple[int, ...]
    firing: frozenset[int]


def _firing_instants(alerts: pl.DataFrame, instants: Sequence[int], tier: tuple[str, str] | None
                     ) -> frozenset[int]:
    out: set[int] = set()
    last = instants[-1]
    for labels, fired, resolved in alerts.select("labels", "fired_at", "resolved_at").iter_rows():
        if tier is not None:
            found = json.loads(labels)
            if (found["long"], found["short"]) != tier:
                continue
        lo = int((fired - EPOCH).total_seconds())
        hi = int((resolved - EPOCH).total_seconds()) if resolved is not None else last + 1
        out.update(t for t in instants if lo <= t < hi)
    return frozenset(out)


def expected_firing(cases: Sequence[Case]) -> list[Expected]:
    """Replay the cases with alertsim, one replay per (evaluation, scrape) interval pair."""
    out = []
    by_pair: dict[tuple[int, int], list[Case]] = defaultdict(list)
    for case in cases:
        by_pair[case.eval_s, case.scrape_s].append(case)
    for (eval_s, _), group in sorted(by_pair.items()):
        horizon = max(c.end_s for c in group) // eval_s * eval_s
        instants = tuple(range(0, horizon + 1, eval_s))
        result = replay(metrics_frame(group), [c.rule for c in group], eval_interval=f"{eval_s}s",
                        start=EPOCH, end=EPOCH + dt.timedelta(seconds=horizon))
        per_rule = result.alerts.partition_by("rule", as_dict=True)
        for case in group:
            alerts = per_rule.get((case.rule.name,), result.alerts.clear())
            for alert in case.alerts:
                out.append(Expected(case=case, alert=alert, instants=instants,
                                    firing=_firing_instants(alerts, instants, alert.tier)))
    return out


@functools.cache
def expected_all() -> tuple[Expected, ...]:
    return tuple(expected_firing(all_cases()))


# --------------------------------------------------------------------------------------------------
# promtool's side.

def _values(tokens: Sequence[Token]) -> str:
    return " ".join("_" if t is None else str(t) for t in tokens)


def _labels_yaml(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in sorted(labels.items())) + "}"


def write_promtool_files(expected: Sequence[Expected], directory: Path) -> list[Path]:
    """One rule file and one test file per (evaluation, scrape) interval pair; returns the test files."""
    by_pair: dict[tuple[int, int], list[Expected]] = defaultdict(list)
    for item in expected:
        by_pair[item.case.eval_s, item.case.scrape_s].append(item)
    tests = []
    for (eval_s, scrape_s), items in sorted(by_pair.items()):
        stem = f"eval{eval_s}s_scrape{scrape_s}s"
        rules = [f"groups:\n- name: {stem}\n  interval: {eval_s}s\n  rules:"]
        for item in items:
            rule = item.case.rule
            rules.append(f"  - alert: {item.alert.alertname}\n    expr: {json.dumps(item.alert.expr)}")
            if rule.for_:
                rules.append(f"    for: {int(rule.for_.total_seconds())}s")
            if rule.keep_firing_for:
                rules.append(f"    keep_firing_for: {int(rule.keep_firing_for.total_seconds())}s")
            rules.append("    labels: {severity: page}")
        (directory / f"{stem}_rules.yml").write_text("\n".join(rules) + "\n")

        lines = [f"rule_files: [{stem}_rules.yml]", f"evaluation_interval: {eval_s}s", "tests:",
                 f"- name: {stem}", f"  interval: {scrape_s}s", "  input_series:"]
        seen: set[str] = set()
        for item in items:
            if item.case.label in seen:
                continue
            seen.add(item.case.label)
            for selector, tokens in item.case.series.items():
                lines.append(f"  - series: '{selector}'")
                lines.append(f"    values: '{_values(tokens)}'")
        lines.append("  alert_rule_test:")
        for item in items:
            firing = f"[{{exp_labels: {_labels_yaml(item.alert.labels)}}}]"
            for t in item.instants:
                lines.append(f"  - {{eval_time: {t}s, alertname: {item.alert.alertname}, "
                             f"exp_alerts: {firing if t in item.firing else '[]'}}}")
        path = directory / f"{stem}_test.yml"
        path.write_text("\n".join(lines) + "\n")
        tests.append(path)
    return tests


@dataclass(frozen=True, kw_only=True)
class Mismatch:
    alertname: str
    at_s: int
    expected_firing: bool
    promtool_firing: bool


_FAILURE = re.compile(r"alertname: (?P<name>\S+), time: (?P<time>[^,]+),\s*\n\s*exp:(?P<exp>.*?)\n\s*got:"
                      r"(?P<got>.*?)(?=\n\s*(?:name|alertname): |\Z)", re.S)


def parse_failures(output: str) -> list[Mismatch]:
    """The failed ``alert_rule_test`` entries of ``promtool test rules`` output."""
    return [Mismatch(alertname=m["name"], at_s=int(parse_duration(m["time"]).total_seconds()),
                     expected_firing="Labels:" in m["exp"], promtool_firing="Labels:" in m["got"])
            for m in _FAILURE.finditer(output)]


def run_promtool(promtool: str, expected: Sequence[Expected], directory: Path
                 ) -> tuple[subprocess.CompletedProcess[str], list[Mismatch]]:
    files = write_promtool_files(expected, directory)
    done = subprocess.run([promtool, "test", "rules", *[f.name for f in files]], cwd=directory,
                          capture_output=True, text=True, timeout=120, check=False)
    return done, parse_failures(done.stderr + done.stdout)


def explain(mismatches: Sequence[Mismatch], expected: Sequence[Expected]) -> str:
    """One paragraph per failing case: its seed and rule, then every instant where the engines differ."""
    by_name = {item.alert.alertname: item for item in expected}
    per_alert: dict[str, list[Mismatch]] = defaultdict(list)
    for m in mismatches:
        per_alert[m.alertname].append(m)
    lines = []
    for name, found in sorted(per_alert.items()):
        item = by_name.get(name)
        lines.append(item.case.describe() if item else name)
        lines += [f"    at {format_duration(dt.timedelta(seconds=m.at_s))}: alertsim "
                  f"{'firing' if m.expected_firing else 'not firing'}, promtool "
                  f"{'firing' if m.promtool_firing else 'not firing'}"
                  for m in sorted(found, key=lambda m: m.at_s)]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Tests.

def test_cases_cover_what_the_differential_claims() -> None:
    """The generator really produces gaps, stale endings, every op and function, both intervals, and
    alerts that fire (otherwise agreement would prove little)."""
    cases = all_cases()
    expected = expected_all()
    thresholds = [c for c in cases if isinstance(c.rule, ThresholdRule)]
    assert len(cases) == 448
    assert {(c.eval_s, c.scrape_s) for c in cases} == {(e, s) for e in INTERVALS_S for s in INTERVALS_S}
    assert {c.rule.op for c in thresholds} == {">", ">=", "<", "<=", "==", "!="}
    assert {c.rule.over.fn for c in thresholds if c.rule.over} == set(FNS)
    assert sum(c.rule.over is None for c in thresholds) >= 60
    tokens = [next(iter(c.series.values())) for c in thresholds]
    assert sum("stale" in t for t in tokens) >= 40
    long_gap = LOOKBACK_S // 30 + 1   # samples that cover more than the lookback at 30s scrapes
    assert sum(any(all(v is None for v in t[i:i + long_gap]) for i in range(len(t))) for t in tokens) >= 20
    burns = [c for c in cases if isinstance(c.rule, BurnRateRule)]
    assert sum(c.rule.good is not None for c in burns) >= 15
    assert sum(len(c.series) == 4 for c in burns) >= 15  # two instances, each with total and bad or good
    assert sum(bool(e.firing) for e in expected if isinstance(e.case.rule, SeasonalRule)) >= 20
    assert sum(bool(c.rule.keep_firing_for) for c in cases) >= 60
    assert sum(bool(c.rule.for_) for c in cases) >= 150
    firing = [e for e in expected if e.firing]
    assert len(firing) >= 0.4 * len(expected)
    assert sum(bool(e.firing) for e in expected if e.alert.tier) >= 20
    assert sum(len(e.firing) < len(e.instants) for e in firing) == len(firing)
    # `clear` changes the answer: the same cases without hysteresis fire at other instants.
    held = [c for c in cases if isinstance(c.rule, ThresholdRule) and c.rule.clear is not None]
    plain = expected_firing([replace(c, rule=replace(c.rule, clear=None)) for c in held])
    with_clear = {e.case.seed: e.firing for e in expected if e.case in held}
    assert sum(p.firing != with_clear[p.case.seed] for p in plain) >= 15


def test_promtool_agrees_with_alertsim_on_every_case(promtool: str, tmp_path: Path) -> None:
    expected = expected_all()
    done, mismatches = run_promtool(promtool, expected, tmp_path)
    if done.returncode != 0:
        detail = explain(mismatches, expected) if mismatches else (done.stderr + done.stdout)[-5000:]
        cases = len({m.alertname for m in mismatches})
        pytest.fail(f"promtool disagrees with alertsim on {cases} case(s) "
                    f"({len(mismatches)} instants):\n{detail}", pytrace=False)
    assert done.stdout.count("SUCCESS") == 4


def test_a_wrong_expectation_is_reported_with_its_seed_and_instant(promtool: str, tmp_path: Path) -> None:
    """The harness is not vacuous: flip alertsim's answer at one instant of one case and promtool must
    report exactly that instant of that case."""
    item = next(e for e in expected_all() if e.firing and e.alert.tier is None)
    at = min(item.firing)
    wrong = replace(item, firing=item.firing - {at})
    done, mismatches = run_promtool(promtool, [wrong], tmp_path)
    assert done.returncode != 0
    assert mismatches == [Mismatch(alertname=item.alert.alertname, at_s=at, expected_firing=False,
                                   promtool_firing=True)]
    assert f"seed {item.case.seed} " in explain(mismatches, [wrong])
