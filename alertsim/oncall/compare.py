"""Compare on-call designs side by side on the same pages with common random numbers.

Every design is simulated with the same seed, so replicate *r* of each design reads the same uniform
streams (slot by slot, see :class:`~alertsim.oncall._plan.Layout`): differences between designs are
paired per replicate. A difference is *significant* when the 95% interval over replicates of the paired
difference excludes zero, i.e. one design is better in at least 97.5% of the simulated periods.

>>> import datetime as dt, polars as pl
>>> from alertsim.oncall.design import parse_design
>>> def solo(mean): return parse_design({"name": f"ack-{mean}",
...     "escalation": {"levels": [{"targets": ["user:ana"]}]},
...     "responders": {"default": {"ack": {"dist": "exponential", "mean": mean}}}})
>>> pages = pl.DataFrame({"page_id": [f"p{i}" for i in range(30)], "urgency": ["high"] * 30,
...     "paged_at": [dt.datetime(2026, 1, 5, tzinfo=dt.UTC) + dt.timedelta(hours=i) for i in range(30)]})
>>> result = compare(pages, [solo("2m"), solo("8m")], replicates=50, seed=1)
>>> result.summary["design"].to_list()
['ack-2m', 'ack-8m']
>>> bool(result.differences.filter(pl.col("metric") == "mtta_mean_min")["significant"][0])
True
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from alertsim.errors import ConfigError
from alertsim.oncall.design import Design, check_pages, load_design, read_pages
from alertsim.oncall.simulate import METRICS, Simulation, simulate
from alertsim.text import plain, plain_all

HEADLINE = (
    ("mtta_mean_min", "MTTA mean (min)"),
    ("mtta_median_min", "MTTA median (min)"),
    ("mtta_p90_min", "MTTA p90 (min)"),
    ("escalation_rate", "escalation rate"),
    ("missed_rate", "missed rate"),
    ("unrouted_rate", "unrouted rate"),
    ("retrigger_rate", "re-trigger rate"),
    ("mttr_mean_min", "MTTR mean (min)"),
    ("interruptions_per_person", "interruptions / person"),
    ("sleep_interruptions_per_person", "sleep interruptions / person"),
    ("sleep_interruptions_max", "sleep interruptions, worst person"),
    ("pages_gini", "Gini of pages per person (0–1, 0 = even)"),
    ("sleep_gini", "Gini of sleep interruptions (0–1, 0 = even)"),
)
"""Metrics shown in the side-by-side table, with their labels."""


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """Designs simulated on the same pages.

    ``summary``: one row per design (``design``, ``pages``, ``replicates`` and each metric with
    ``_lo``/``_hi``). ``differences``: per design other than the baseline and metric, the paired
    difference to the baseline (mean, ``lo``, ``hi``) and ``significant``. ``people``: per design
    and person, mean pages and interruptions with intervals. ``simulations``: the full results.
    """

    summary: pl.DataFrame
    differences: pl.DataFrame
    people: pl.DataFrame
    simulations: tuple[Simulation, ...]

    @property
    def outcomes(self) -> pl.DataFrame:
        """Per-page outcomes of every design, with a ``design`` column first."""
        return pl.concat([s.outcomes.select(pl.lit(s.design).alias("design"), pl.all())
                          for s in self.simulations])

    @property
    def burden(self) -> pl.DataFrame:
        """Per-replicate, per-person burden of every design, with a ``design`` column first."""
        return pl.concat([s.burden.select(pl.lit(s.design).alias("design"), pl.all())
                          for s in self.simulations])


def differences(simulations: Sequence[Simulation], *, baseline: int = 0) -> pl.DataFrame:
    """Paired per-replicate differences of every metric to the baseline design.

    Returns ``design, baseline, metric, difference, lo, hi, significant``; ``difference`` is the
    mean over replicates of (design − baseline), ``lo``/``hi`` the 2.5th/97.5th percentiles.
    """
    base = simulations[baseline]
    rows: list[tuple[Any, ...]] = []
    for sim in simulations:
        if sim is base:
            continue
        joined = sim.metrics.join(base.metrics, on="replicate", suffix="_base")
        for metric in METRICS:
            diff = (joined[metric] - joined[f"{metric}_base"]).to_numpy().astype(float)
            diff = diff[np.isfinite(diff)]
            if diff.size == 0:
                rows.append((sim.design, base.design, metric, None, None, None, None))
                continue
            lo, hi = (float(v) for v in np.percentile(diff, [2.5, 97.5]))
            rows.append((sim.design, base.design, metric, float(diff.mean()), lo, hi,
                         bool(lo > 0 or hi < 0)))
    return pl.DataFrame(rows, schema={"design": pl.String, "baseline": pl.String, "metric": pl.String,
                                      "difference": pl.Float64, "lo": pl.Float64, "hi": pl.Float64,
                                      "significant": pl.Boolean}, orient="row")


def compare(pages: pl.DataFrame | str | os.PathLike[str],
            designs: Sequence[Design | str | os.PathLike[str]], *, replicates: int = 1000,
            seed: int = 7, keep_outcomes: bool = True, progress: Any = None, engine: str = "local",
            scheduler: Any = None) -> Comparison:
    """Simulate each design on ``pages`` with the same seed; the first design is the baseline.

    Parameters
    ----------
    pages : PAGES frame, or a CSV/Parquet path or run directory.
    designs : :class:`Design` objects or design YAML paths (names must be unique).
    replicates, seed : as for :func:`~alertsim.oncall.simulate.simulate` (default 1000, 7).
    keep_outcomes : keep per-page outcomes (default True).
    progress : optional callable taking each finished :class:`Simulation` (for progress bars).
    """
    if not designs:
        raise ConfigError("compare needs at least one design", field="designs")
    loaded = [d if isinstance(d, Design) else load_design(d) for d in designs]
    names = [d.name for d in loaded]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ConfigError(f"design names must be unique, repeated: {duplicated}", field="name")
    frame = read_pages(pages) if not isinstance(pages, pl.DataFrame) else check_pages(pages)
    sims = []
    for design in loaded:
        sims.append(simulate(frame, design, replicates=replicates, seed=seed, keep_outcomes=keep_outcomes,
                             engine=engine, scheduler=scheduler))
        if progress is not None:
            progress(sims[-1])
    people = pl.concat([s.people.select(pl.lit(s.design).alias("design"), pl.all()) for s in sims])
    return Comparison(summary=pl.concat([s.summary for s in sims]), differences=differences(sims),
                      people=people, simulations=tuple(sims))


def _format(value: float | None, metric: str) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    if metric.endswith("_rate"):
        return f"{100 * value:.1f}%"
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"


def comparison_table(comparison: Comparison) -> pl.DataFrame:
    """The side-by-side table the CLI prints: one row per headline metric, one column per design,
    cells ``mean [lo, hi]`` with ▲/▼ where a design is significantly higher/lower than the baseline
    (the first design)."""
    diffs = {(r["design"], r["metric"]): r for r in comparison.differences.iter_rows(named=True)}
    columns: dict[str, list[str]] = {"metric": [label for _, label in HEADLINE]}
    for row in comparison.summary.iter_rows(named=True):
        cells = []
        for metric, _ in HEADLINE:
            text = (f"{_format(row[metric], metric)} [{_format(row[f'{metric}_lo'], metric)}, "
                    f"{_format(row[f'{metric}_hi'], metric)}]") if row[metric] is not None else "–"
            d = diffs.get((row["design"], metric))
            if d is not None and d["significant"]:
                text += " ▲" if d["difference"] > 0 else " ▼"
            cells.append(text)
        columns[row["design"]] = cells
    return pl.DataFrame(columns)


def plot_mtta(comparison: Comparison, ax: Any = None) -> Any:
    """Box plot of the per-replicate mean time to acknowledge of each design; returns the Axes."""
    import matplotlib.pyplot as plt  # noqa: PLC0415  (heavy, 1 s: only figures need it)

    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 1.6 * len(comparison.simulations)), 4.0))
    data = [s.metrics["mtta_mean_min"].drop_nans().drop_nulls().to_numpy() for s in comparison.simulations]
    ax.boxplot(data, tick_labels=plain_all(s.design for s in comparison.simulations), showfliers=False)
    ax.set_ylabel("MTTA per replicate (min)")
    ax.set_title("Mean time to acknowledge")
    ax.tick_params(axis="x", labelrotation=20)
    return ax


def plot_sleep(comparison: Comparison, ax: Any = None) -> Any:
    """Grouped bars: mean sleep-hour interruptions per person and design; returns the Axes."""
    import matplotlib.pyplot as plt  # noqa: PLC0415  (heavy, 1 s: only figures need it)

    people = list(dict.fromkeys(comparison.people["responder"].to_list()))
    designs = [s.design for s in comparison.simulations]
    if ax is None:
        _, ax = plt.subplots(figsize=(max(5.0, 0.7 * len(people) * max(1, len(designs)) / 2), 4.0))
    width = 0.8 / max(1, len(designs))
    x = np.arange(len(people))
    for i, name in enumerate(designs):
        rows = comparison.people.filter(pl.col("design") == name)
        values = dict(zip(rows["responder"], rows["sleep_interruptions_mean"], strict=True))
        ax.bar(x + i * width, [values.get(p, 0.0) for p in people], width, label=plain(name))
    ax.set_xticks(x + width * (len(designs) - 1) / 2, plain_all(people), rotation=30, ha="right")
    ax.set_ylabel("sleep-hour interruptions (mean)")
    ax.set_title("Sleep interruptions per person")
    ax.legend(fontsize="small")
    return ax


__all__ = ["HEADLINE", "Comparison", "compare", "comparison_table", "differences", "plot_mtta",
           "plot_sleep"]
