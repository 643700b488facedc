"""Differential tests against the real engine: Debian's Prometheus 2.42 serving seeded random data
(backfilled with promtool) answers ``query_range`` for random expressions of every family of the
subset, and alertsim must give the same series, instants and values; ``promtool test rules`` must
accept the alerts alertsim replays for random alerting rules (Sloth, Pyrra and SRE Workbook rules
included).

Each family draws at least 100 expressions from a seeded generator. Everything runs against one
server and one promtool invocation, in about a minute.
"""

from __future__ import annotations

import datetime as dt
import math
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from alertsim.errors import AlertsimError
from alertsim.io.promtool import promtool_test, to_yaml
from alertsim.promql.engine import EvaluationError, Scalar, Store, evaluate
from alertsim.series import prepare
from alertsim.series.vectors import Grid
from tests.conftest import require_binary

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
HOURS = 4
STEP = dt.timedelta(minutes=1)
CASES = 100
JOBS, INSTANCES, CODES = ("api", "web"), ("a", "b", "c"), ("200", "500")
BOUNDS = ("0.05", "0.1", "0.25", "0.5", "1", "+Inf")


def _scrapes(rng: np.random.Generator, every: int, *, gap: bool) -> np.ndarray:
    """Scrape offsets (ms) with jitter, some lost samples and perhaps a 20-minute outage."""
    base = np.arange(0, HOURS * 3600_000, every * 1000)
    times = base + rng.integers(0, every * 300, len(base))
    keep = rng.random(len(times)) > 0.05
    if gap:
        start = rng.integers(0, len(times) - 40)
        keep[start:start + 40 * 60 // every] = False
    return times[keep]


def dataset(seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, str, float, dict[str, str]]] = []

    def add(name: str, times: np.ndarray, values: np.ndarray, **labels: str) -> None:
        rows.extend((int(t), name, float(v), labels) for t, v in zip(times, values, strict=True))

    for job in JOBS:
        for instance in INSTANCES:
            for code in CODES:
                t = _scrapes(rng, 15, gap=instance == "c" and code == "200")
                rate = 20.0 if code == "200" else 1.0
                c = np.cumsum(rng.poisson(rate * 15, len(t))).astype(float)
                if rng.random() < 0.5:  # a counter reset
                    k = rng.integers(1, len(c))
                    c[k:] -= c[k - 1]
                add("http_requests_total", t, c, job=job, instance=instance, code=code)
            t = _scrapes(rng, 30, gap=instance == "b")
            g = np.round(rng.normal(50, 15, len(t)), 2)
            g[rng.random(len(t)) < 0.01] = np.nan
            add("temperature", t, g, job=job, instance=instance)
            t = _scrapes(rng, 15, gap=False)
            add("up", t, (rng.random(len(t)) > 0.1).astype(float), job=job, instance=instance)
        t = _scrapes(rng, 30, gap=False)
        obs = rng.exponential(0.2, (len(t), 40))
        for le in BOUNDS:
            counts = np.cumsum((obs <= float(le)).sum(axis=1)).astype(float)
            add("latency_seconds_bucket", t, counts, job=job, le=le)
        t = _scrapes(rng, 15, gap=False)
        total = np.cumsum(rng.poisson(100, len(t))).astype(float)
        bad_rate = np.where((t > 3600_000) & (t < 4500_000), 0.3, 0.002)
        errors = np.cumsum(rng.binomial(rng.poisson(100, len(t)), bad_rate)).astype(float)
        add("slo_requests_total", t, total, job=job)
        add("slo_errors_total", t, errors, job=job)
    names = sorted({k for *_, labels in rows for k in labels})
    epoch_ms = int(T0.timestamp() * 1000)
    return pl.DataFrame({
        "timestamp": pl.Series([epoch_ms + r[0] for r in rows]).cast(pl.Datetime("ms"))
        .cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        "metric": [r[1] for r in rows],
        "value": [r[2] for r in rows],
        **{n: [r[3].get(n, "") for r in rows] for n in names},
    })


# ------------------------------------------------------------------------------------------------
# Expression families: each a generator of random expressions.

def _window(rng: np.random.Generator) -> str:
    return str(rng.choice(["1m", "2m", "5m", "7m", "10m", "15m", "30m", "1h"]))


def _matchers(rng: np.random.Generator, labels: dict[str, tuple[str, ...]]) -> str:
    parts = []
    for name in rng.permutation(list(labels))[: rng.integers(0, 3)]:
        values = labels[str(name)]
        op = str(rng.choice(["=", "!=", "=~", "!~"]))
        value = str(rng.choice(values))
        if op in ("=~", "!~") and rng.random() < 0.5:
            value = "|".join(rng.choice(values, 2, replace=False))
        parts.append(f'{name}{op}"{value}"')
    return "{" + ",".join(parts) + "}" if parts else ""


COUNTER = {"job": JOBS, "instance": INSTANCES, "code": CODES}
GAUGE = {"job": JOBS, "instance": INSTANCES}


def _offset(rng: np.random.Generator) -> str:
    return f" offset {rng.choice(['1m', '5m', '17m'])}" if rng.random() < 0.25 else ""


def selectors(rng: np.random.Generator) -> str:
    metric, labels = [("http_requests_total", COUNTER), ("temperature", GAUGE), ("up", GAUGE)][rng.integers(3)]
    return f"{metric}{_matchers(rng, labels)}{_offset(rng)}"


def rates(rng: np.random.Generator) -> str:
    fn = str(rng.choice(["rate", "irate", "increase", "delta", "idelta"]))
    metric, labels = ("temperature", GAUGE) if fn in ("delta", "idelta") and rng.random() < 0.7 else (
        "http_requests_total", COUNTER)
    return f"{fn}({metric}{_matchers(rng, labels)}[{_window(rng)}]{_offset(rng)})"


def over_time(rng: np.random.Generator) -> str:
    fn = str(rng.choice(["avg", "min", "max", "sum", "count", "last", "present", "stddev", "stdvar", "quantile"]))
    metric, labels = [("temperature", GAUGE), ("up", GAUGE)][rng.integers(2)]
    q = f"{rng.choice([0, 0.1, 0.5, 0.9, 0.99, 1, 1.5, -1])}, " if fn == "quantile" else ""
    return f"{fn}_over_time({q}{metric}{_matchers(rng, labels)}[{_window(rng)}]{_offset(rng)})"


def _inner(rng: np.random.Generator) -> str:
    return selectors(rng) if rng.random() < 0.5 else rates(rng)


def aggregations(rng: np.random.Generator) -> str:
    op = str(rng.choice(["sum", "avg", "min", "max", "count", "quantile"]))
    labels = list(rng.permutation(["job", "instance", "code"])[: rng.integers(0, 3)])
    grouping = f" {'without' if rng.random() < 0.4 else 'by'} ({', '.join(labels)})" if rng.random() < 0.8 else ""
    q = f"{rng.choice([0.5, 0.9, 0.25])}, " if op == "quantile" else ""
    return f"{op}{grouping} ({q}{_inner(rng)})"


def vector_scalar(rng: np.random.Generator) -> str:
    op = str(rng.choice(["+", "-", "*", "/", "%", "^", ">", "<", ">=", "<=", "==", "!="]))
    scalar = str(rng.choice([0, 1, 2.5, 10, 50, 0.5]))
    bool_ = " bool" if op in (">", "<", ">=", "<=", "==", "!=") and rng.random() < 0.4 else ""
    inner = f"({_inner(rng)})"
    return f"{scalar} {op}{bool_} {inner}" if rng.random() < 0.4 else f"{inner} {op}{bool_} {scalar}"


def vector_vector(rng: np.random.Generator) -> str:
    op = str(rng.choice(["+", "-", "*", "/", ">", "<", "!="]))
    bool_ = " bool" if op in (">", "<", "!=") and rng.random() < 0.4 else ""
    kind = rng.integers(4)
    window = _window(rng)
    if kind == 0:  # one-to-one on all labels
        return (f"rate(http_requests_total{{code=\"500\"}}[{window}]{_offset(rng)}) {op}{bool_} ignoring(code) "
                f"rate(http_requests_total{{code=\"200\"}}[{window}])")
    if kind == 1:  # many-to-one
        return (f"rate(http_requests_total[{window}]) {op}{bool_} on(job, instance) group_left "
                f"{'max_over_time' if rng.random() < 0.5 else 'avg_over_time'}(temperature[{window}])")
    if kind == 2:  # one-to-many with included labels
        return (f"sum by (job) (rate(http_requests_total[{window}])) {op}{bool_} on(job) group_right "
                f"sum by (job, code) (rate(http_requests_total[{window}]))")
    return (f"avg_over_time(up[{window}]) {op}{bool_} on(job, instance) group_left(code) "
            f"max by (job, instance, code) (rate(http_requests_total{{code=\"{rng.choice(CODES)}\"}}[{window}]))")


def set_operators(rng: np.random.Generator) -> str:
    op = str(rng.choice(["and", "or", "unless"]))
    a = f"temperature{_matchers(rng, GAUGE)} > {rng.integers(30, 70)}"
    b = f"up{_matchers(rng, GAUGE)} {rng.choice(['==', '!='])} 1"
    matching = str(rng.choice(["", " on(instance)", " on(job, instance)", " ignoring(instance)", " on()"]))
    return f"({a}) {op}{matching} ({b})" if rng.random() < 0.5 else f"({b}) {op}{matching} ({a})"


def functions(rng: np.random.Generator) -> str:
    fn = str(rng.choice(["abs", "clamp_min", "clamp_max", "clamp", "absent", "vector", "scalar", "time"]))
    inner = f"temperature{_matchers(rng, GAUGE)} - {rng.integers(30, 70)}"
    if fn == "abs":
        return f"abs({inner})"
    if fn in ("clamp_min", "clamp_max"):
        return f"{fn}({inner}, {rng.integers(-20, 20)})"
    if fn == "clamp":
        lo, hi = sorted(rng.integers(-20, 20, 2)) if rng.random() < 0.9 else (5, -5)
        return f"clamp({inner}, {lo}, {hi})"
    if fn == "absent":
        return f"absent(temperature{_matchers(rng, GAUGE)} > {rng.integers(40, 90)})"
    if fn == "vector":
        return f"vector({rng.integers(0, 9)}) + on() group_left sum(temperature{_matchers(rng, GAUGE)})" if (
            rng.random() < 0.3) else f"vector(time() / {rng.integers(1, 9)})"
    if fn == "scalar":
        return f"temperature {rng.choice(['>', '-'])} scalar(max(temperature{_matchers(rng, GAUGE)}))"
    return f"time() - {rng.integers(0, 9)}"


def histograms(rng: np.random.Generator) -> str:
    q = str(rng.choice([0.5, 0.9, 0.95, 0.99, 0, 1, 1.2, -0.1]))
    by = str(rng.choice(["le", "le, job"]))
    inner = f"rate(latency_seconds_bucket{_matchers(rng, {'job': JOBS})}[{_window(rng)}])"
    if rng.random() < 0.5:
        inner = f"sum by ({by}) ({inner})"
    return f"histogram_quantile({q}, {inner})"


def slo_rules(rng: np.random.Generator) -> str:
    """Sloth, Pyrra and SRE Workbook expressions (reference §1–§2) with random objectives and factors."""
    objective = float(rng.choice([0.9, 0.99, 0.995, 0.999]))
    budget = f"(1 - {objective})"
    factor = str(rng.choice([1, 2, 3, 6, 7, 14, 14.4]))
    short, long = [("5m", "1h"), ("30m", "1h"), ("2m", "30m"), ("10m", "1h")][rng.integers(4)]
    ratio = ("sum(rate(slo_errors_total{{job=\"{job}\"}}[{w}])) by (job) / "
             "sum(rate(slo_requests_total{{job=\"{job}\"}}[{w}])) by (job)")
    job = str(rng.choice(JOBS))
    style = rng.integers(3)
    if style == 0:  # SRE Workbook approach 6
        return (f"({ratio.format(job=job, w=long)}) > ({factor} * {budget}) and "
                f"({ratio.format(job=job, w=short)}) > ({factor} * {budget})")
    if style == 1:  # Sloth: max without (sloth_window), OR of two tiers
        a = f"max(({ratio.format(job=job, w=short)}) > ({factor} * {budget})) without (sloth_window)"
        b = f"max(({ratio.format(job=job, w=long)}) > ({factor} * {budget})) without (sloth_window)"
        return f"({a} and {b}) or ({a})"
    # Pyrra: errors / total with a regex on the code
    return (f"sum(rate(http_requests_total{{code=~\"5..\",job=\"{job}\"}}[{short}])) / "
            f"sum(rate(http_requests_total{{job=\"{job}\"}}[{short}])) > ({factor} * {budget})")


def _any_series(rng: np.random.Generator) -> tuple[str, dict[str, tuple[str, ...]]]:
    return [("http_requests_total", COUNTER), ("temperature", GAUGE), ("up", GAUGE)][rng.integers(3)]


def changes_resets(rng: np.random.Generator) -> str:
    """Counters with resets, gauges with NaN samples and 0/1 series, through changes() and resets()."""
    metric, labels = _any_series(rng)
    inner = f"{metric}{_matchers(rng, labels)}[{_window(rng)}]{_offset(rng)}"
    return f"{rng.choice(['changes', 'resets'])}({inner})"


def regressions(rng: np.random.Generator) -> str:
    """deriv() and predict_linear() (intercept at the evaluation instant, also under offset)."""
    metric, labels = _any_series(rng)
    inner = f"{metric}{_matchers(rng, labels)}[{_window(rng)}]{_offset(rng)}"
    if rng.random() < 0.5:
        return f"deriv({inner})"
    horizon = rng.choice(["0", "60", "3600", "-300", "4 * 3600"])
    return f"predict_linear({inner}, {horizon})"


def label_functions(rng: np.random.Generator) -> str:
    """label_replace() (anchored regex, $n/${n}/named groups, no match, empty result removing the
    label, colliding outputs) and label_join()."""
    inner = str(rng.choice([f"temperature{_matchers(rng, GAUGE)}", f"rate(http_requests_total[{_window(rng)}])",
                            f"up{_matchers(rng, GAUGE)}"]))
    if rng.random() < 0.6:
        dst = str(rng.choice(["host", "instance", "job", "__name__", "x"]))
        src = str(rng.choice(["instance", "job", "code", "missing"]))
        regex, replacement = [("(.*)", "$1"), ("(a|b)", "node-${1}"), ("a", "seen"), ("", "empty"),
                              ("(?P<first>.)(.*)", "$first:$2"), ("ap", "$1"), (".*", ""),
                              ("(w)(e)(b)", "$3$2$1x"), ("(.)", "$1x")][rng.integers(9)]
        return f'label_replace({inner}, "{dst}", "{replacement}", "{src}", "{regex}")'
    dst = str(rng.choice(["joined", "instance", "job"]))
    sources = ", ".join(f'"{s}"' for s in rng.permutation(["job", "instance", "code", "missing"])[: rng.integers(1, 4)])
    return f'label_join({inner}, "{dst}", "{rng.choice(["-", "", "/"])}", {sources})'


def top_bottom(rng: np.random.Generator) -> str:
    """topk()/bottomk() with grouping, k from 0 past the group size, on 0/1 series (ties) and gauges
    with NaN samples. Ties are drawn only among selected series: Prometheus orders the series of a
    computed expression by Go map iteration, so which of two tied computed series it keeps varies
    from one query to the next."""
    op = str(rng.choice(["topk", "bottomk"]))
    k = str(rng.choice([0, 1, 2, 3, 5, 10, 1.7]))
    grouping = str(rng.choice(["", " by (job)", " by (instance)", " without (instance)"]))
    inner = str(rng.choice([f"up{_matchers(rng, GAUGE)}", f"temperature{_matchers(rng, GAUGE)}",
                            f"rate(http_requests_total[{_window(rng)}])"]))
    return f"{op}{grouping}({k}, {inner})"


def value_aggregations(rng: np.random.Generator) -> str:
    """count_values() (Go float formatting of the label), group(), stddev() and stdvar()."""
    op = str(rng.choice(["count_values", "group", "stddev", "stdvar"]))
    labels = list(rng.permutation(["job", "instance", "code"])[: rng.integers(0, 3)])
    grouping = f" {'without' if rng.random() < 0.4 else 'by'} ({', '.join(labels)})" if rng.random() < 0.7 else ""
    inner = str(rng.choice([f"up{_matchers(rng, GAUGE)}", f"temperature{_matchers(rng, GAUGE)}",
                            f"rate(http_requests_total[{_window(rng)}])", "round(temperature / 10, 0.5)"]))
    param = '"reading", ' if op == "count_values" else ""
    return f"{op}{grouping} ({param}{inner})"


def math_functions(rng: np.random.Generator) -> str:
    """round() (with and without to_nearest), floor(), ceil() and the other element-wise functions,
    the date functions, sort()/sort_desc(), timestamp()."""
    fn = str(rng.choice(["round", "floor", "ceil", "sqrt", "exp", "ln", "log2", "log10", "sgn", "sin", "cos",
                         "atan", "tanh", "deg", "rad", "hour", "minute", "day_of_week", "days_in_month",
                         "month", "year", "day_of_month", "day_of_year", "sort", "sort_desc", "timestamp"]))
    inner = f"temperature{_matchers(rng, GAUGE)} - {rng.integers(30, 70)}"
    if fn == "round":
        return f"round({inner}{rng.choice(['', ', 5', ', 0.1', ', 3'])})"
    if fn == "timestamp":  # a selector's sample times (also under offset), or the evaluation instant
        return str(rng.choice([f"time() - timestamp(up{_matchers(rng, GAUGE)}{_offset(rng)})",
                               f"timestamp(temperature{_matchers(rng, GAUGE)})", f"timestamp({inner})",
                               f"timestamp((temperature{_matchers(rng, GAUGE)}))"]))
    if fn == "exp":
        return f"exp(({inner}) / 10)"
    if fn in ("hour", "minute", "day_of_week", "days_in_month", "month", "year", "day_of_month", "day_of_year"):
        return f"{fn}()" if rng.random() < 0.5 else f"{fn}(time() - {rng.integers(0, 40)} * 86400 + ({inner}))"
    return f"{fn}({inner})"


def subqueries(rng: np.random.Generator) -> str:
    """expr[range:step] with explicit steps that do and do not divide the grid step, the default step,
    offsets on the subquery and inside it, nested subqueries, and rate() over a subquery."""
    step = str(rng.choice(["", "30s", "1m", "2m", "7m", "90s"]))
    window = str(rng.choice(["5m", "10m", "30m", "1h"]))
    offset = f" offset {rng.choice(['1m', '5m', '13m'])}" if rng.random() < 0.3 else ""
    inner = str(rng.choice([f"rate(http_requests_total{_matchers(rng, COUNTER)}[{_window(rng)}]{_offset(rng)})",
                            f"temperature{_matchers(rng, GAUGE)}", f"max by (job) (up{_matchers(rng, GAUGE)})",
                            "sum(rate(http_requests_total[5m]))[10m:1m]"]))
    if inner.endswith("[10m:1m]"):
        return f"max_over_time(avg_over_time({inner})[{window}:{step}]{offset})"
    fn = str(rng.choice(["max_over_time", "avg_over_time", "min_over_time", "count_over_time", "last_over_time",
                         "changes", "deriv", "rate", "increase", "delta", "quantile_over_time"]))
    q = "0.9, " if fn == "quantile_over_time" else ""
    return f"{fn}({q}{inner}[{window}:{step}]{offset})"


def absences(rng: np.random.Generator) -> str:
    """absent_over_time() over selectors that match, match nothing or lose their samples in an outage,
    and over a subquery; pi() beside it."""
    window = _window(rng)
    choice = rng.integers(4)
    if choice == 0:
        return f"absent_over_time(temperature{_matchers(rng, GAUGE)}[{window}]{_offset(rng)})"
    if choice == 1:
        return f'absent_over_time(temperature{{instance="{rng.choice(INSTANCES)}",job="none"}}[{window}])'
    if choice == 2:
        return f"absent_over_time((up{_matchers(rng, GAUGE)} == 0)[{window}:{rng.choice(['', '1m', '5m'])}])"
    return f"absent_over_time(http_requests_total{_matchers(rng, COUNTER)}[{window}]) * pi()"


FAMILIES: dict[str, Callable[[np.random.Generator], str]] = {
    "selectors": selectors, "rates": rates, "over_time": over_time, "aggregations": aggregations,
    "vector_scalar": vector_scalar, "vector_vector": vector_vector, "set_operators": set_operators,
    "functions": functions, "histogram_quantile": histograms, "slo_rules": slo_rules,
    "changes_resets": changes_resets, "regressions": regressions, "label_functions": label_functions,
    "top_bottom": top_bottom, "value_aggregations": value_aggregations, "math_functions": math_functions,
    "subqueries": subqueries, "absences": absences,
}


def expressions(family: str) -> list[str]:
    rng = np.random.default_rng(sum(map(ord, family)))
    make = FAMILIES[family]
    return [make(rng) for _ in range(CASES)]


# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_and_store():  # type: ignore[no-untyped-def]
    require_binary("prometheus", package="prometheus")
    require_binary("promtool", package="prometheus")
    from alertsim.testing import start_prometheus

    frame = dataset()
    store = Store.from_prepared(prepare(frame))
    with start_prometheus(frame) as server:
        yield server, store


def _grid() -> Grid:
    start = int(T0.timestamp()) * 1_000_000
    return Grid(t0=start, step=int(STEP.total_seconds()) * 1_000_000, size=HOURS * 60)


def _ours(expr: str, store: Store, grid: Grid) -> dict[tuple[tuple[tuple[str, str], ...], int], float]:
    value = evaluate(expr, store, grid)
    if isinstance(value, Scalar):
        return {((), int(t)): float(v) for t, v in zip(grid.instants, value.values, strict=True)}
    out = {}
    for row, labels in enumerate(value.labels):
        for k in np.flatnonzero(value.present[row]):
            out[(labels, int(grid.instants[k]))] = float(value.values[row, k])
    return out


def _theirs(frame: pl.DataFrame) -> dict[tuple[tuple[tuple[str, str], ...], int], float]:
    names = [c for c in frame.columns if c not in ("timestamp", "metric", "value")]
    out = {}
    for row in frame.iter_rows(named=True):
        labels = {n: row[n] for n in names if row[n]}
        if row["metric"]:
            labels["__name__"] = row["metric"]
        at = int(row["timestamp"].timestamp() * 1_000_000)
        out[(tuple(sorted(labels.items())), at)] = row["value"]
    return out


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_values_equal_query_range(server_and_store, family: str) -> None:  # type: ignore[no-untyped-def]
    server, store = server_and_store
    grid = _grid()
    end = T0 + STEP * (grid.size - 1)
    compared = 0
    for expr in expressions(family):
        try:
            reference = server.query_range(expr, T0, end, STEP)
        except AlertsimError as error:
            with pytest.raises(EvaluationError):
                _ours(expr, store, grid)
            assert "422" in str(error) or "execution" in str(error), expr
            continue
        theirs = _theirs(reference)
        ours = _ours(expr, store, grid)
        missing = sorted(set(theirs) - set(ours))[:3]
        extra = sorted(set(ours) - set(theirs))[:3]
        assert not missing and not extra, f"{expr}: missing {missing}, extra {extra}"
        wrong = [(k, ours[k], theirs[k]) for k in theirs if not _same(ours[k], theirs[k])]
        assert not wrong, f"{expr}: {len(wrong)} values differ, e.g. {wrong[:3]}"
        compared += len(theirs)
    assert compared > 0


# ------------------------------------------------------------------------------------------------
# Alert firing sets: promtool must accept what alertsim replays.

def aligned_dataset(seed: int = 11) -> pl.DataFrame:
    """Samples every 30s on the grid (promtool's input format), with lost samples and outages."""
    rng = np.random.default_rng(seed)
    n = HOURS * 120
    frames = []
    for job in JOBS:
        for instance in INSTANCES:
            keep = rng.random(n) > 0.05
            if instance == "c":
                start = rng.integers(0, n - 30)
                keep[start:start + 25] = False
            t = np.flatnonzero(keep) * 30_000
            level = np.round(50 + 20 * np.sin(np.arange(n) / 40 + rng.random() * 6) + rng.normal(0, 5, n), 1)
            frames.append(pl.DataFrame({"t": t, "metric": "temperature", "value": level[keep],
                                        "job": job, "instance": instance}))
            total = np.cumsum(rng.poisson(100, n)).astype(float)
            bad = np.where((np.arange(n) > 120) & (np.arange(n) < 180), 0.2, 0.001)
            errors = np.cumsum(rng.binomial(100, bad)).astype(float)
            for metric, values in (("slo_requests_total", total), ("slo_errors_total", errors)):
                frames.append(pl.DataFrame({"t": np.arange(n) * 30_000, "metric": metric, "value": values,
                                            "job": job, "instance": instance}))
    epoch = int(T0.timestamp() * 1000)
    return pl.concat(frames).select(
        (pl.col("t") + epoch).cast(pl.Datetime("ms")).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        .alias("timestamp"), "metric", "value", "job", "instance")


def alert_rules(rng: np.random.Generator, count: int) -> str:
    lines = ["groups:"]
    lines += ["- name: slo-recordings", "  rules:"]
    for w in ("5m", "30m", "1h"):
        lines += [f"  - record: job:slo_errors_per_request:ratio_rate{w}",
                  f"    expr: sum(rate(slo_errors_total[{w}])) by (job) / sum(rate(slo_requests_total[{w}])) by (job)"]
    lines += ["- name: random-alerts", "  rules:"]
    for i in range(count):
        kind = rng.integers(9)
        if kind == 0:
            expr = f"avg_over_time(temperature{_matchers(rng, GAUGE)}[{_window(rng)}]) > {rng.integers(40, 65)}"
        elif kind == 1:
            expr = (f"max by (job) (temperature) - min by (job) (temperature) > {rng.integers(10, 40)}")
        elif kind == 2:
            factor = rng.choice([1, 6, 14.4])
            expr = (f"job:slo_errors_per_request:ratio_rate1h > ({factor} * 0.001) and "
                    f"job:slo_errors_per_request:ratio_rate5m > ({factor} * 0.001)")
        elif kind == 3:
            expr = f"absent(temperature{{instance=\"{rng.choice(INSTANCES)}\",job=\"{rng.choice(JOBS)}\"}})"
        elif kind == 4:
            expr = f"changes(temperature{_matchers(rng, GAUGE)}[{_window(rng)}]) > {rng.integers(5, 20)}"
        elif kind == 5:
            expr = f"predict_linear(temperature{_matchers(rng, GAUGE)}[30m], {rng.choice([600, 3600])}) > 70"
        elif kind == 6:  # a subquery without a step: the evaluation interval
            expr = (f"max_over_time(avg_over_time(temperature{_matchers(rng, GAUGE)}[5m])"
                    f"[{rng.choice(['10m', '30m'])}:{rng.choice(['', '2m'])}]) > {rng.integers(55, 70)}")
        elif kind == 7:
            expr = (f"label_replace(topk by (job) ({rng.integers(1, 3)}, temperature), \"host\", \"h-$1\", "
                    f"\"instance\", \"(.*)\") > {rng.integers(45, 65)}")
        else:
            expr = f"deriv(temperature{_matchers(rng, GAUGE)}[10m]) > {rng.choice([0.01, 0.03])}"
        lines += [f"  - alert: Random{i}", f"    expr: '{expr}'"]
        if rng.random() < 0.6:
            lines.append(f"    for: {rng.choice(['1m', '2m', '5m', '90s'])}")
        if rng.random() < 0.3:
            lines.append(f"    keep_firing_for: {rng.choice(['1m', '3m'])}")
        lines.append(f"    labels: {{severity: {rng.choice(['page', 'ticket'])}}}")
    return "\n".join(lines) + "\n"


def test_alert_firing_sets_equal_promtool(tmp_path: Path) -> None:
    promtool = require_binary("promtool", package="prometheus")
    rules = tmp_path / "rules.yml"
    rules.write_text(alert_rules(np.random.default_rng(3), CASES))
    document = promtool_test(rules, aligned_dataset(), start=T0 + dt.timedelta(hours=1),
                             end=T0 + dt.timedelta(hours=HOURS) - dt.timedelta(minutes=1),
                             series_interval="30s", rule_file="rules.yml")
    cases = document["tests"][0]["alert_rule_test"]
    firing = sum(len(c["exp_alerts"]) for c in cases)
    assert len(cases) > 1000 and firing > 100
    test = tmp_path / "test.yml"
    test.write_text(to_yaml(document))
    done = subprocess.run([promtool, "test", "rules", str(test)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
