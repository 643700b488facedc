"""Replay benchmark: alertsim against a raw-numpy floor and against a real Prometheus server, on aligned
and on realistic data side by side.

Generated, seeded data at 1-minute resolution. *Aligned*: 1,000 ``cpu`` gauges × 100,000 points (100 M
points) with daily seasonality, noise and incidents, every sample on the evaluation grid; 100 services'
``requests_total``/``errors_total`` counters × 100,000 points (20 M points) for the SLO rule.
*Realistic* (:mod:`realistic`): 1,000 gauges × a week of 1-minute scrapes (10 M points) as a real
Prometheus export looks — each series at its own phase, ±50 ms jitter, 0.5 % missing scrapes, 5 %
of series starting late or ending early — and 100 services' counters with resets. Every row reports
both figures; each floor is the plain-numpy implementation of the same work on the same data (on
realistic data that includes selecting the newest sample within the lookback, per series with
``searchsorted``).

* **threshold+for** (``cpu > 80``, ``for: 5m``): ``replay()`` on prepared data against the honest
  minimum in raw numpy over the same (series × instants) array — compare, run edges, for-filter.
* **z-score 1h** (``ZScoreRule``, 1 h trailing window, up, 4σ) against a per-series numpy cumsum floor.
* **burn rate**: the workbook's 4 tiers (14.4× 1h/5m, 6× 6h/30m, 3× 1d/2h, 1× 3d/6h) per service.
* The same expressions through Prometheus (Debian's 2.42, backfilled with promtool, ``query_range``
  at the same 1-minute step) on a subset it can take in reasonable time; ratios compare points per
  second (series × instants), so the subset's size does not favour either side. Prometheus has no
  ``for`` in ``query_range``: it evaluates the bare condition, alertsim the condition plus the alert
  state machine. Where the semantics are the same, the number of true instants is cross-checked.
* Peak memory (max RSS) of a fresh process that builds the 100 M-point Metrics frame, prepares it
  and replays the threshold and z-score rules, once dropping the frame after ``prepare`` and once
  keeping it.

Timings are the best of a few runs, wall clock; each run starts from a fresh ``Prepared`` (no
cached selections or features). ``prepare`` (layout, sorting checks) is timed on its own. Each row's
note has the CPU times and the load average, since the machine may be shared. ``--quick`` runs small
sizes and does not judge the targets, which are for the full size.

    python benchmarks/run.py --only replay [--quick]
"""

from __future__ import annotations

import gc
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from alertsim.replay import replay
from alertsim.rules import BurnRateRule, Selector, ThresholdRule, ZScoreRule
from alertsim.series import LOOKBACK_US, Grid, Prepared, make_grid, prepare

MINUTE_US = 60_000_000
START_US = 1_767_225_600_000_000          # 2026-01-01T00:00:00Z, a multiple of the step
THRESHOLD, FOR_STEPS = 80.0, 5
THRESHOLD_LOW = 70.0                      # realistic gauges against Prometheus: a line they do cross
ZSCORE_SIGMAS, ZSCORE_WINDOW = 4.0, 60
OBJECTIVE = 0.999
TIERS = (("1h", "5m", 14.4), ("6h", "30m", 6.0), ("1d", "2h", 3.0), ("3d", "6h", 1.0))
HISTORY_FOR_3D = 3 * 24 * 60 + 10         # instants of history the 3d window needs before the first one


@dataclass(frozen=True, kw_only=True)
class Sizes:
    series: int
    points: int
    services: int
    repeats: int
    realistic_points: int                  # scrapes per series of the realistic data (a week at 1 m)
    prom_threshold: tuple[int, int]        # (series, instants) Prometheus evaluates
    prom_zscore: tuple[int, int]
    prom_burn: tuple[int, int]             # (services, instants)


FULL = Sizes(series=1000, points=100_000, services=100, repeats=3, realistic_points=7 * 24 * 60,
             prom_threshold=(200, 10_000), prom_zscore=(50, 10_000), prom_burn=(5, 5_000))
QUICK = Sizes(series=50, points=20_000, services=10, repeats=2, realistic_points=2_000,
              prom_threshold=(20, 5_000), prom_zscore=(10, 2_000), prom_burn=(2, 1_000))


# --------------------------------------------------------------------------------------------------
# Data.

def gauge_values(series: int, points: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Instants (µs) and a (series, points) array of CPU-like values: a level per series, a daily
    cycle, noise, and incidents (a few per series, 2–60 minutes, +30–60)."""
    rng = np.random.default_rng(seed)
    instants = START_US + MINUTE_US * np.arange(points, dtype=np.int64)
    values = rng.normal(0.0, 5.0, (series, points))
    values += (10.0 * np.sin(2 * np.pi * np.arange(points) / 1440))[None, :]
    values += rng.uniform(20.0, 50.0, (series, 1))
    incidents = rng.poisson(points / 5000, series)
    for row, count in enumerate(incidents):
        for start, length, height in zip(rng.integers(0, points, count), rng.integers(2, 60, count),
                                         rng.uniform(30.0, 60.0, count), strict=True):
            values[row, start:start + length] += height
    return instants, values


def counter_values(services: int, points: int, *, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Instants and (services, points) cumulative ``requests_total`` and ``errors_total``: ~10 req/s,
    a 0.05% error ratio, and outages of 5–120 minutes at 1–50% errors."""
    rng = np.random.default_rng(seed)
    instants = START_US + MINUTE_US * np.arange(points, dtype=np.int64)
    requests = rng.poisson(600.0, (services, points)).astype(np.float64)
    errors = rng.binomial(requests.astype(np.int64), 0.0005).astype(np.float64)
    for row in range(services):
        for start in rng.integers(0, points, rng.poisson(points / 20_000)):
            stop = start + int(rng.integers(5, 120))
            errors[row, start:stop] = rng.binomial(requests[row, start:stop].astype(np.int64),
                                                   rng.uniform(0.01, 0.5))
    return instants, np.cumsum(requests, axis=1), np.cumsum(errors, axis=1)


def metrics_frame(parts: list[tuple[str, np.ndarray]], instants: np.ndarray, label: str,
                  names: list[str]) -> pl.DataFrame:
    """A long Metrics frame from (metric, (series, points) values) parts sharing instants and label values."""
    frames = []
    for metric, values in parts:
        series, points = values.shape
        frames.append(pl.DataFrame({
            "timestamp": pl.Series(np.tile(instants, series)).cast(pl.Datetime("us", "UTC")),
            "metric": pl.repeat(metric, series * points, eager=True),
            "value": pl.Series(np.ascontiguousarray(values).reshape(-1)),
            # one chunk per series: no gather, no transient copy of 16-byte string views
            label: pl.concat([pl.repeat(name, points, eager=True) for name in names[:series]], rechunk=False),
        }))
    return pl.concat(frames) if len(frames) > 1 else frames[0]


def realistic_gauges(series: int, points: int) -> pl.DataFrame:
    """``cpu`` gauges exported as a real Prometheus scrapes them (see :mod:`realistic`)."""
    from realistic import realistic

    return realistic(series=series, points=points, metric="cpu", seed=7)


def realistic_counters(services: int, points: int) -> pl.DataFrame:
    """``requests_total`` counters with resets, scraped as in :func:`realistic_gauges`, and
    ``errors_total`` a small share of them (resetting with them), per ``service``."""
    from realistic import realistic

    requests = realistic(series=services, points=points, metric="requests_total", kind="counter", seed=11)
    errors = requests.with_columns(pl.lit("errors_total").alias("metric"), (pl.col("value") * 0.0005).floor())
    return pl.concat([requests, errors]).rename({"instance": "service"})


def host_names(count: int) -> list[str]:
    return [f"host-{i:04d}" for i in range(count)]


def service_names(count: int) -> list[str]:
    return [f"svc-{i:03d}" for i in range(count)]


# --------------------------------------------------------------------------------------------------
# Rules and their floors.

THRESHOLD_RULE = ThresholdRule(name="HighCPU", metric="cpu", op=">", value=THRESHOLD,
                               for_=timedelta(minutes=FOR_STEPS))
ZSCORE_RULE = ZScoreRule(name="CPUAnomaly", metric="cpu", threshold=ZSCORE_SIGMAS, direction="up",
                         window=timedelta(minutes=ZSCORE_WINDOW))
BURN_RULE = BurnRateRule(name="Availability", objective=OBJECTIVE, total=Selector(metric="requests_total"),
                         bad=Selector(metric="errors_total"), by=("service",))


def numpy_floor(values: np.ndarray, threshold: float, for_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The least work that finds the firing episodes: compare into a zero-padded buffer, every change
    of state with one flatnonzero, keep runs longer than ``for``. Returns (row, fired column)."""
    n, size = values.shape
    padded = np.zeros((n, size + 2), dtype=bool)
    np.greater(values, threshold, out=padded[:, 1:-1])
    change = np.flatnonzero(padded[:, 1:] != padded[:, :-1])
    start, end = change[0::2], change[1::2]
    keep = end - start > for_steps
    row = start[keep] // (size + 1)
    return row, start[keep] - row * (size + 1) + for_steps


def selection_floor(prepared: Prepared, grid: Grid) -> np.ndarray:
    """Plain numpy, one series at a time: the newest sample within the 5-minute lookback at every
    instant (``searchsorted``, gather, age check) — the (series × instants) values a rule compares."""
    data = prepared.data
    instants = grid.instants
    out = np.empty((data.n, grid.size))
    for row in range(data.n):
        lo, hi = int(data.offsets[row]), int(data.offsets[row + 1])
        times = data.times[lo:hi]
        index = np.searchsorted(times, instants, side="right") - 1
        safe = np.maximum(index, 0)
        fresh = (index >= 0) & (instants - times[safe] <= LOOKBACK_US)
        out[row] = np.where(fresh, data.values[lo:hi][safe], np.nan)
    return out


def zscore_floor(values: np.ndarray, width: int, sigmas: float) -> int:
    """Per-series numpy: cumsum of x and x², window sums by slicing, mean/std, compare. True instants."""
    size = values.shape[1]
    hits = 0
    c1, c2 = np.zeros(size + 1), np.zeros(size + 1)
    for row in values:
        np.cumsum(row, out=c1[1:])
        np.cumsum(row * row, out=c2[1:])
        s1 = c1[width:size] - c1[:size - width]
        s2 = c2[width:size] - c2[:size - width]
        mean = s1 / width
        std = np.sqrt(np.maximum(s2 / width - mean * mean, 0.0) * width / (width - 1))
        hits += int(np.count_nonzero(row[width:] - mean > sigmas * std))
    return hits


# --------------------------------------------------------------------------------------------------
# Measuring.

@dataclass(frozen=True, kw_only=True)
class Timing:
    seconds: float        # best wall-clock time
    cpu_seconds: float    # best CPU time of this process
    result: Any


def best_of(repeats: int, work: Callable[[], Any]) -> Timing:
    """Run ``work`` ``repeats`` times (collecting garbage between runs); the best wall and CPU times."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        result = None
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return Timing(seconds=min(walls), cpu_seconds=min(cpus), result=result)


def replay_fresh(prepared: Prepared, rule: Any) -> Any:
    """Replay ``rule`` on the same data without the selections and features cached by earlier runs."""
    return replay(Prepared(data=prepared.data, table=prepared.table, labels=prepared.labels), [rule])


def rate(points: float, seconds: float) -> float:
    """Millions of points per second."""
    return points / seconds / 1e6


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f}/{five:.1f} on {os.cpu_count()} CPUs"


def _iso(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))


def prometheus_available() -> bool:
    return all(shutil.which(b) or os.path.exists(f"/usr/bin/{b}") for b in ("prometheus", "promtool"))


def prometheus_version() -> str:
    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout
    return "Prometheus " + (out.split()[2].split("+")[0] if len(out.split()) > 2 else "?")


def time_prometheus(frame: pl.DataFrame, queries: dict[str, str], first_us: int, last_us: int,
                    repeats: int) -> dict[str, tuple[float, int]]:
    """Backfill ``frame``, start Prometheus, and time ``query_range`` of each expression over
    [first, last] at a 1-minute step (best of ``repeats``, HTTP round trips only, JSON left unparsed).
    Returns expression name → (seconds, result points)."""
    from alertsim.testing import range_query_params, start_prometheus

    out: dict[str, tuple[float, int]] = {}
    with start_prometheus(frame) as server:
        for name, expr in queries.items():
            params = range_query_params(expr, _iso(first_us), _iso(last_us), "1m")
            best = float("inf")
            for _ in range(repeats):
                started = time.perf_counter()
                bodies = [server.get("/api/v1/query_range", p) for p in params]
                best = min(best, time.perf_counter() - started)
            points = sum(len(r["values"]) for body in bodies for r in json.loads(body)["data"]["result"])
            out[name] = (best, points)
    return out


def burn_expression() -> str:
    def ratio(window: str) -> str:
        return (f"sum by (service) (rate(errors_total[{window}])) / "
                f"sum by (service) (rate(requests_total[{window}]))")
    budget = 1 - OBJECTIVE
    tiers = [f"({ratio(long)} > ({factor} * {budget:g}) and {ratio(short)} > ({factor} * {budget:g}))"
             for long, short, factor in TIERS]
    return " or ".join(tiers)


#: alertsim's z-score in PromQL: mean and sample std of the 60 instants before t ([59m59s] offset 1m
#: holds exactly those; stddev_over_time is the population std, hence the sqrt(60/59) factor).
ZSCORE_EXPR = (f"(cpu - avg_over_time(cpu[{ZSCORE_WINDOW - 1}m59s] offset 1m)) / "
               f"(stddev_over_time(cpu[{ZSCORE_WINDOW - 1}m59s] offset 1m) * "
               f"{(ZSCORE_WINDOW / (ZSCORE_WINDOW - 1)) ** 0.5!r}) > {ZSCORE_SIGMAS:g}")


def true_instants(metrics: pl.DataFrame, rule: Any, first_us: int, last_us: int) -> int:
    """How many (series, instant) pairs alertsim's condition holds on, over [first, last]
    (one per series and instant even when several burn-rate tiers hold)."""
    result = replay(metrics, [rule], evaluations=True, start=_iso(first_us), end=_iso(last_us))
    assert result.evaluations is not None
    # A burn-rate tier is its own series (its name carries long/short); PromQL's `or` of the tiers
    # counts a service once per instant, so the tier labels are left out of the count.
    untiered = pl.col("series").str.replace_all(r'(long|short)="[^"]*",?', "").str.replace(r",}$", "}")
    return result.evaluations.filter(pl.col("state")).select(untiered, "at").n_unique()


# --------------------------------------------------------------------------------------------------
# Peak memory, in a fresh process.

def peak_rss_gb() -> float:
    """This process' peak resident memory. VmHWM belongs to the process image, so unlike ru_maxrss it
    does not inherit the peak of the parent that forked it."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1e6       # kB → GB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def memory_child(series: int, points: int, keep_frame: bool, realistic: bool = False) -> dict[str, float]:
    """Build the Metrics frame, prepare it, (drop it,) replay threshold+for and z-score: max RSS."""
    if realistic:
        frame = realistic_gauges(series, points)
    else:
        instants, values = gauge_values(series, points, seed=7)
        frame = metrics_frame([("cpu", values)], instants, "instance", host_names(series))
        del values
    after_frame = peak_rss_gb()
    prepared = prepare(frame)
    if not keep_frame:
        del frame
    gc.collect()
    result = replay(prepared, [THRESHOLD_RULE, ZSCORE_RULE])
    peak = peak_rss_gb()
    return {"peak_gb": peak, "after_frame_gb": after_frame, "alerts": result.alerts.height}


def measure_memory(series: int, points: int, keep_frame: bool, realistic: bool = False) -> dict[str, float]:
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import bench_replay as b; "
            "print(json.dumps(b.memory_child(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == '1', "
            "sys.argv[5] == '1')))")
    done = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(series), str(points),
                           "1" if keep_frame else "0", "1" if realistic else "0"], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory measurement failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------------
# The benchmark.

def grid_of(prepared: Prepared) -> Grid:
    """The grid ``replay()`` evaluates on by default (1 m, the span of the data)."""
    return make_grid(prepared, "1m", None, None)


def realistic_floor_threshold(prepared: Prepared, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    return numpy_floor(selection_floor(prepared, grid), THRESHOLD, FOR_STEPS)


def realistic_floor_zscore(prepared: Prepared, grid: Grid) -> int:
    return zscore_floor(selection_floor(prepared, grid), ZSCORE_WINDOW, ZSCORE_SIGMAS)


def versus_prometheus(sizes: Sizes, rates: dict[str, float], instants: np.ndarray, grid_values: np.ndarray,
                      burn_instants: np.ndarray, requests: np.ndarray, errors: np.ndarray) -> dict[str, dict[str, Any]]:
    """Rows comparing alertsim's rates with Prometheus' ``query_range`` on subsets of the same data."""
    ours, real_ours, zours = rates["threshold"], rates["real_threshold"], rates["zscore"]
    real_zours, bours, real_bours = rates["real_zscore"], rates["burn"], rates["real_burn"]
    versus: dict[str, dict[str, Any]] = {}
    peer = f"{prometheus_version()} query_range"
    last = sizes.points - 1
    k, m = sizes.prom_threshold
    sub = metrics_frame([("cpu", grid_values[:k, -m:])], instants[-m:], "instance", host_names(k))
    seconds, prom_points = time_prometheus(sub, {"threshold": f"cpu > {THRESHOLD:g}"}, int(instants[-m]),
                                           int(instants[last]), sizes.repeats)["threshold"]
    agree = true_instants(sub, ThresholdRule(name="c", metric="cpu", op=">", value=THRESHOLD),
                          int(instants[-m]), int(instants[last]))
    theirs = rate(k * m, seconds)
    # The same on a realistic subset: k series of m scrapes, off the grid, gaps and churn.
    real_sub = realistic_gauges(k, m)
    real_times = real_sub["timestamp"].dt.epoch("us")
    first_us = -(-int(real_times.min()) // MINUTE_US) * MINUTE_US
    last_us = int(real_times.max()) // MINUTE_US * MINUTE_US
    real_seconds, real_prom_points = time_prometheus(
        real_sub, {"threshold": f"cpu > {THRESHOLD_LOW:g}"}, first_us, last_us, sizes.repeats)["threshold"]
    real_agree = true_instants(real_sub, ThresholdRule(name="c", metric="cpu", op=">", value=THRESHOLD_LOW),
                               first_us, last_us)
    real_theirs = rate(k * ((last_us - first_us) // MINUTE_US + 1), real_seconds)
    versus["threshold"] = {
        "area": "replay", "case": f"threshold+for vs Prometheus ({k}×{m:,} subset | realistic)",
        "value": ours, "realistic": real_ours, "unit": "M points/s", "peer": peer, "peer_value": theirs,
        "realistic_peer_value": real_theirs, "ratio": ours / theirs, "realistic_ratio": real_ours / real_theirs,
        "target": ">= 20x | >= 20x", "ok": ours / theirs >= 20 and real_ours / real_theirs >= 20,
        "note": f"Prometheus evaluates `cpu > {THRESHOLD:g}` (no `for`); true instants: "
                f"Prometheus {prom_points:,}, alertsim {agree:,}; realistic subset `cpu > {THRESHOLD_LOW:g}`: "
                f"Prometheus {real_prom_points:,}, alertsim {real_agree:,}"}

    k, m = sizes.prom_zscore
    first = sizes.points - m
    history = first - ZSCORE_WINDOW - 1
    sub = metrics_frame([("cpu", grid_values[:k, history:])], instants[history:], "instance",
                        host_names(k))
    seconds, prom_points = time_prometheus(sub, {"zscore": ZSCORE_EXPR}, int(instants[first]),
                                           int(instants[last]), sizes.repeats)["zscore"]
    agree = true_instants(sub, ZSCORE_RULE, int(instants[first]), int(instants[last]))
    theirs = rate(k * m, seconds)
    versus["zscore"] = {
        "area": "replay", "case": f"z-score 1h vs Prometheus ({k}×{m:,} subset)",
        "value": zours, "realistic": real_zours, "unit": "M points/s", "peer": peer, "peer_value": theirs,
        "ratio": zours / theirs, "realistic_ratio": real_zours / theirs,
        "target": ">= 80x", "ok": zours / theirs >= 80,
        "note": f"PromQL: {ZSCORE_EXPR}; true instants: Prometheus {prom_points:,}, alertsim {agree:,}. The "
                "PromQL form assumes samples on the grid, so Prometheus runs on aligned data only; the "
                "realistic ratio compares alertsim on realistic data with Prometheus on aligned data"}

    k, m = sizes.prom_burn
    first = sizes.points - m
    history = max(0, first - HISTORY_FOR_3D)
    sub = metrics_frame([("requests_total", requests[:k, history:]), ("errors_total", errors[:k, history:])],
                        burn_instants[history:], "service", service_names(k))
    seconds, prom_points = time_prometheus(sub, {"burn": burn_expression()}, int(burn_instants[first]),
                                           int(burn_instants[last]), max(1, sizes.repeats - 1))["burn"]
    agree = true_instants(sub, BURN_RULE, int(burn_instants[first]), int(burn_instants[last]))
    theirs = rate(2 * k * m, seconds)
    versus["burn"] = {
        "area": "replay", "case": f"burn rate 4 tiers vs Prometheus ({2 * k}×{m:,} subset)",
        "value": bours, "realistic": real_bours, "unit": "M points/s", "peer": peer, "peer_value": theirs,
        "ratio": bours / theirs, "realistic_ratio": real_bours / theirs, "target": ">= 20x",
        "ok": bours / theirs >= 20,
        "note": f"points are counter series × instants; true (service, instant) pairs: "
                f"Prometheus {prom_points:,}, alertsim {agree:,}; the realistic ratio compares alertsim on "
                "realistic counters with Prometheus on the aligned subset"}
    return versus


CLI_RULES = f"""groups:
- name: cpu
  rules:
  - alert: HighCPU
    expr: cpu > {THRESHOLD:g}
    for: {FOR_STEPS}m
"""


def _wall(argv: list[str], repeats: int, cwd: Path) -> tuple[float, float]:
    """Best and median wall time of a fresh process running ``argv`` (hyperfine-style)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, cwd=cwd)
        times.append(time.perf_counter() - started)
    return min(times), float(np.median(times))


def byte_compiled() -> None:
    """Byte-compile alertsim's modules, as installing the package does. A checkout whose environment
    sets PYTHONDONTWRITEBYTECODE (this machine's does) otherwise compiles every module from source in
    every process, a cost no installed command line pays (polars, the peer, is installed)."""
    import compileall

    import alertsim

    compileall.compile_dir(Path(alertsim.__file__).parent, quiet=1)


def cli_row(sizes: Sizes) -> dict[str, Any]:
    """``alertsim replay m.parquet --rules r.yaml --out run`` as a whole process on a Parquet export
    (aligned and realistic), next to a Python process that only imports polars and reads the file;
    alertsim's modules byte-compiled as an installed package has them (:func:`byte_compiled`)."""
    import tempfile

    from realistic import aligned, realistic

    byte_compiled()
    repeats = 3 if sizes is QUICK else 5
    alertsim = str(Path(sys.executable).with_name("alertsim"))
    out: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        (where / "r.yaml").write_text(CLI_RULES)
        for name, make in (("aligned", aligned), ("realistic", realistic)):
            make(series=sizes.series, points=sizes.realistic_points, metric="cpu", seed=7).write_parquet(
                where / f"{name}.parquet")
            ours = _wall([alertsim, "replay", f"{name}.parquet", "--rules", "r.yaml", "--out", f"run-{name}"],
                         repeats, where)
            floor = _wall([sys.executable, "-c", f"import polars as pl; pl.read_parquet('{name}.parquet')"],
                          repeats, where)
            out[name] = (ours[0], floor[0])
    (ours_a, floor_a), (ours_r, floor_r) = out["aligned"], out["realistic"]
    return {"area": "replay", "case": f"whole process `alertsim replay m.parquet --rules r.yaml --out run`, "
            f"{sizes.series * sizes.realistic_points / 1e6:g} M points, threshold+for",
            "value": ours_a, "realistic": ours_r, "unit": "s (wall)",
            "peer": "python: import polars, read the Parquet", "peer_value": floor_a, "realistic_peer_value": floor_r,
            "ratio": ours_a / floor_a, "realistic_ratio": ours_r / floor_r, "target": "<= 3x | <= 3x",
            "ok": ours_a <= 3 * floor_a and ours_r <= 3 * floor_r,
            "note": f"best of {repeats} fresh processes each, alertsim's modules byte-compiled as installed; "
                    f"ratios are alertsim's time over the reader's; {_load()}"}


def run(quick: bool = False) -> list[dict[str, Any]]:
    sizes = QUICK if quick else FULL
    rows: list[dict[str, Any]] = []
    points = sizes.series * sizes.points
    label = f"{sizes.series:,} series × {sizes.points:,}"
    real_label = f"{sizes.series:,} × {sizes.realistic_points:,} realistic"

    # Realistic gauges first (small): prepare, threshold+for and z-score against their numpy floors.
    real_frame = realistic_gauges(sizes.series, sizes.realistic_points)
    real_points = sizes.series * sizes.realistic_points      # nominal (series × scrapes), as on aligned data
    real_ingest = best_of(1, partial(prepare, real_frame))
    real: Prepared = real_ingest.result
    del real_frame
    real_grid = grid_of(real)
    real_threshold = best_of(sizes.repeats, partial(replay_fresh, real, THRESHOLD_RULE))
    real_floor = best_of(sizes.repeats, partial(realistic_floor_threshold, real, real_grid))
    if real_threshold.result.alerts.height != len(real_floor.result[0]):
        raise RuntimeError(f"realistic data: alertsim found {real_threshold.result.alerts.height} alerts, "
                           f"the numpy floor {len(real_floor.result[0])}")
    real_zscore = best_of(sizes.repeats, partial(replay_fresh, real, ZSCORE_RULE))
    real_zfloor = best_of(1 if not quick else sizes.repeats, partial(realistic_floor_zscore, real, real_grid))

    # Aligned gauges: prepare once (timed), then threshold+for, its floor, z-score and its floor.
    instants, values = gauge_values(sizes.series, sizes.points, seed=7)
    frame = metrics_frame([("cpu", values)], instants, "instance", host_names(sizes.series))
    del values
    ingest = best_of(1, partial(prepare, frame))
    prepared: Prepared = ingest.result
    del frame
    gc.collect()
    rows.append({"area": "replay", "case": f"prepare (ingest) {label} | {real_label}",
                 "value": rate(points, ingest.seconds), "realistic": rate(real_points, real_ingest.seconds),
                 "unit": "M points/s"})
    grid_values = prepared.data.values.reshape(sizes.series, sizes.points)

    threshold = best_of(sizes.repeats, partial(replay_fresh, prepared, THRESHOLD_RULE))
    floor = best_of(max(sizes.repeats, 5), partial(numpy_floor, grid_values, THRESHOLD, FOR_STEPS))
    floor_rows, _ = floor.result
    alerts = threshold.result.alerts
    if alerts.height != len(floor_rows):
        raise RuntimeError(f"alertsim found {alerts.height} alerts, the numpy floor {len(floor_rows)}")
    ours = rate(points, threshold.seconds)
    real_ours = rate(real_points, real_threshold.seconds)
    ratio, real_ratio = floor.seconds / threshold.seconds, real_floor.seconds / real_threshold.seconds
    rows.append({"area": "replay", "case": f"threshold+for, {label} | {real_label} "
                 f"({alerts.height:,} | {real_threshold.result.alerts.height:,} alerts)",
                 "value": ours, "realistic": real_ours, "unit": "M points/s",
                 "peer": "numpy floor (run-length; realistic: + per-series newest-sample selection)",
                 "peer_value": rate(points, floor.seconds),
                 "realistic_peer_value": rate(real_points, real_floor.seconds),
                 "ratio": ratio, "realistic_ratio": real_ratio,
                 "target": ">= 0.5x floor | >= 100 M/s and >= 2x floor",
                 "ok": ratio >= 0.5 and real_ours >= 100 and real_ratio >= 2,
                 "note": f"CPU time: alertsim {threshold.cpu_seconds:.3f}s | {real_threshold.cpu_seconds:.3f}s, "
                         f"floor {floor.cpu_seconds:.3f}s | {real_floor.cpu_seconds:.3f}s; {_load()}"})

    zscore = best_of(sizes.repeats, partial(replay_fresh, prepared, ZSCORE_RULE))
    zfloor = best_of(1 if not quick else sizes.repeats,
                     partial(zscore_floor, grid_values, ZSCORE_WINDOW, ZSCORE_SIGMAS))
    zours = rate(points, zscore.seconds)
    real_zours = rate(real_points, real_zscore.seconds)
    rows.append({"area": "replay", "case": f"z-score 1h, {label} | {real_label} "
                 f"({zscore.result.alerts.height:,} | {real_zscore.result.alerts.height:,} alerts)",
                 "value": zours, "realistic": real_zours, "unit": "M points/s",
                 "peer": "numpy cumsum floor (realistic: + per-series newest-sample selection)",
                 "peer_value": rate(points, zfloor.seconds),
                 "realistic_peer_value": rate(real_points, real_zfloor.seconds),
                 "ratio": zfloor.seconds / zscore.seconds, "realistic_ratio": real_zfloor.seconds / real_zscore.seconds,
                 "target": ">= 40 M points/s | >= 40 M points/s",
                 "ok": zours >= 40 and real_zours >= 40,
                 "note": f"CPU time: alertsim {zscore.cpu_seconds:.2f}s | {real_zscore.cpu_seconds:.2f}s, "
                         f"floor {zfloor.cpu_seconds:.2f}s | {real_zfloor.cpu_seconds:.2f}s; {_load()}"})

    # Counters: the 4-tier burn-rate rule.
    burn_instants, requests, errors = counter_values(sizes.services, sizes.points, seed=11)
    counters = metrics_frame([("requests_total", requests), ("errors_total", errors)], burn_instants,
                             "service", service_names(sizes.services))
    burn_prepared = prepare(counters)
    burn_points = 2 * sizes.services * sizes.points
    burn = best_of(sizes.repeats, partial(replay_fresh, burn_prepared, BURN_RULE))
    bours = rate(burn_points, burn.seconds)
    del burn_prepared, counters
    real_burn_prepared = prepare(realistic_counters(sizes.services, sizes.realistic_points))
    real_burn = best_of(sizes.repeats, partial(replay_fresh, real_burn_prepared, BURN_RULE))
    real_bours = rate(2 * sizes.services * sizes.realistic_points, real_burn.seconds)
    del real_burn_prepared
    gc.collect()

    # Prometheus on subsets of the same data.
    versus = versus_prometheus(sizes, {"threshold": ours, "real_threshold": real_ours, "zscore": zours,
                                       "real_zscore": real_zours, "burn": bours, "real_burn": real_bours},
                               instants, grid_values, burn_instants, requests, errors) \
        if prometheus_available() else {}
    del prepared, grid_values, requests, errors
    gc.collect()

    skipped = {"area": "replay", "case": "vs Prometheus: skipped, prometheus/promtool not installed",
               "value": float("nan"), "unit": ""}
    rows.insert(2, versus.get("threshold", skipped))
    rows.append(versus.get("zscore", skipped))
    rows.append({"area": "replay", "case": f"burn rate 4 tiers, {sizes.services} services × {sizes.points:,} | "
                 f"× {sizes.realistic_points:,} realistic ({burn.result.alerts.height:,} | "
                 f"{real_burn.result.alerts.height:,} alerts)", "value": bours, "realistic": real_bours,
                 "unit": "M points/s",
                 "note": f"{burn_points / 1e6:g} M | {2 * sizes.services * sizes.realistic_points / 1e6:g} M points "
                         f"(2 counters per service); CPU time {burn.cpu_seconds:.2f}s | {real_burn.cpu_seconds:.2f}s; "
                         f"{_load()}"})
    rows.append(versus.get("burn", skipped))

    rows.append(cli_row(sizes))
    for keep in (False, True):
        used = measure_memory(sizes.series, sizes.points, keep)
        real_used = measure_memory(sizes.series, sizes.realistic_points, keep, realistic=True)
        rows.append({"area": "replay",
                     "case": f"peak memory, {points / 1e6:g} M points | {real_points / 1e6:g} M realistic, "
                             f"threshold+for and z-score, frame {'kept' if keep else 'dropped after prepare'}",
                     "value": used["peak_gb"], "realistic": real_used["peak_gb"], "unit": "GB (max RSS)",
                     "target": "<= 8 GB", "ok": used["peak_gb"] <= 8,
                     "note": f"max RSS once the Metrics frame was built: {used['after_frame_gb']:.2f} GB | "
                             f"{real_used['after_frame_gb']:.2f} GB"})
    if quick:  # the targets are for the full size; small runs are dominated by fixed costs
        for row in rows:
            row.pop("ok", None)
    return rows


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    for row in run(quick=quick):
        print(row)
