"""Figures for reports and notebooks. Each takes frames and an optional ``ax`` and returns the Axes.

>>> import polars as pl
>>> candidates = pl.DataFrame({"family": ["HighCPU"] * 2, "rule": ["a", "b"], "pages_per_week": [1.0, 3.0],
...                            "recall": [0.5, 1.0], "frontier": [True, True], "recommended": [True, False]})
>>> plot_pareto(candidates).get_xlabel()
'pages per week'
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from matplotlib.axes import Axes

from alertsim.text import plain, plain_all

BUCKET_COLOURS = {"business": "#4c72b0", "off": "#dd8452", "off_hours": "#dd8452", "sleep": "#c44e52"}
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _axes(ax: Axes | None, size: tuple[float, float] = (7, 4)) -> Axes:
    if ax is not None:
        return ax
    _, created = plt.subplots(figsize=size, layout="constrained")
    return created  # type: ignore[no-any-return]


def plot_pareto(candidates: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Recall against pages per week for every candidate; each rule's frontier joined by a line and
    the recommended candidate starred."""
    ax = _axes(ax)
    families = candidates["family"].unique(maintain_order=True).to_list()
    colours = plt.get_cmap("tab10")
    for i, family in enumerate(families):
        rows = candidates.filter(pl.col("family") == family)
        colour = colours(i % 10)
        ax.scatter(rows["pages_per_week"], rows["recall"].fill_null(0.0), s=18, alpha=0.45, color=colour)
        front = rows.filter(pl.col("frontier")).sort("pages_per_week")
        ax.plot(front["pages_per_week"], front["recall"].fill_null(0.0), "-o", ms=4, color=colour,
                label=plain(family))
        chosen = rows.filter(pl.col("recommended"))
        ax.scatter(chosen["pages_per_week"], chosen["recall"].fill_null(0.0), marker="*", s=220,
                   color=colour, edgecolor="black", zorder=5)
    ax.set_xlabel("pages per week")
    ax.set_ylabel("recall (incidents caught)")
    ax.set_ylim(-0.03, 1.05)
    ax.set_title("Candidates: recall vs paging load (★ recommended)")
    ax.grid(alpha=0.3)
    if families:
        ax.legend(fontsize=8, loc="lower right")
    return ax


def hour_of_week(frame: pl.DataFrame, *, at: str = "paged_at", tz: str = "tz") -> pl.DataFrame:
    """Add ``weekday`` (0 = Monday) and ``hour`` in each row's own time zone (column ``tz``)."""
    parts = []
    for (zone,), rows in frame.group_by(tz, maintain_order=True):
        local = rows[at].dt.convert_time_zone(str(zone or "UTC"))
        parts.append(rows.with_columns(weekday=local.dt.weekday() - 1, hour=local.dt.hour()))
    if not parts:
        return frame.with_columns(weekday=pl.lit(None, pl.Int8), hour=pl.lit(None, pl.Int8))
    return pl.concat(parts, how="vertical_relaxed")


def plot_heatmap(pages: pl.DataFrame, *, at: str = "paged_at", tz: str = "tz", ax: Axes | None = None,
                 title: str = "Pages by hour of week (responder's local time)") -> Axes:
    """A 7 × 24 heat-map of pages by local weekday and hour (``tz`` column: the responder's zone)."""
    ax = _axes(ax, (9, 3.4))
    grid = np.zeros((7, 24))
    if pages.height:
        local = hour_of_week(pages, at=at, tz=tz).drop_nulls(["weekday", "hour"])
        np.add.at(grid, (local["weekday"].to_numpy().astype(int), local["hour"].to_numpy().astype(int)), 1)
    image = ax.imshow(grid, aspect="auto", cmap="magma_r", interpolation="nearest")
    ax.set_yticks(range(7), DAYS)
    ax.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    ax.set_xlabel("local hour")
    ax.axvspan(-0.5, 7.5, color="navy", alpha=0.06)
    ax.axvspan(21.5, 23.5, color="navy", alpha=0.06)
    ax.figure.colorbar(image, ax=ax, label="pages", shrink=0.8)
    ax.set_title(title)
    return ax


def plot_interruptions(responders: pl.DataFrame, *, ax: Axes | None = None,
                       buckets: Sequence[str] = ("business", "off_hours", "sleep")) -> Axes:
    """Stacked bars of interruptions per person by bucket (business / off hours / sleep)."""
    ax = _axes(ax, (8, 3.8))
    rows = responders.sort("responder")
    names = plain_all(rows["responder"].to_list())
    bottom = np.zeros(len(names))
    for bucket in buckets:
        if bucket not in rows.columns:
            continue
        values = rows[bucket].fill_null(0).to_numpy().astype(float)
        ax.bar(names, values, bottom=bottom, label=bucket.replace("_", " "),
               color=BUCKET_COLOURS.get(bucket))
        bottom += values
    if len(names):
        mean = bottom.mean()
        ax.axhline(mean, color="grey", ls="--", lw=1, label=f"mean {mean:.1f}")
        ax.axhline(2 * mean, color="black", ls=":", lw=1, label="2× mean (outlier)")
    ax.set_ylabel("interruptions")
    ax.set_title("Interruptions per person")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(fontsize=8)
    return ax


def plot_trend(weekly: pl.DataFrame, *, label: str, ax: Axes | None = None, unit: float = 60.0,
               unit_name: str = "minutes") -> Axes:
    """A weekly statistic (``week``, ``value``, ``ci_low``, ``ci_high`` as durations) with its CI band."""
    ax = _axes(ax, (7, 3.4))
    rows = weekly.drop_nulls("value").sort("week")
    if rows.height:
        def seconds(col: str) -> np.ndarray:
            return rows[col].dt.total_seconds(fractional=True).to_numpy() / unit

        weeks = rows["week"].to_list()
        ax.plot(weeks, seconds("value"), "-o", ms=3, label=label)
        ax.fill_between(weeks, seconds("ci_low"), seconds("ci_high"), alpha=0.25, label="95% CI")
    ax.set_ylabel(unit_name)
    ax.set_title(f"{label} per week")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.tick_params(axis="x", rotation=30)
    return ax


def plot_designs(summary: pl.DataFrame, *, ax: Axes | None = None, metric: str = "mtta_mean_min") -> Axes:
    """Simulated designs side by side: a metric with its 95% interval (``<metric>_lo``/``_hi``)."""
    ax = _axes(ax, (7, 3.4))
    rows = summary.sort(metric)
    names = plain_all(rows["design"].to_list())
    values = rows[metric].to_numpy().astype(float)
    low_col, high_col = f"{metric}_lo", f"{metric}_hi"
    if low_col in rows.columns and high_col in rows.columns:
        err = np.vstack([values - rows[low_col].to_numpy(), rows[high_col].to_numpy() - values])
        ax.barh(names, values, xerr=np.abs(err), capsize=4, color="#4c72b0")
    else:
        ax.barh(names, values, color="#4c72b0")
    ax.set_xlabel(metric.replace("_", " "))
    ax.set_title("Simulated designs (95% CI over replicates)")
    ax.grid(alpha=0.3, axis="x")
    return ax


def plot_timeline(*, metrics: pl.DataFrame, incident: dict[str, Any], spans: pl.DataFrame,
                  marks: Sequence[tuple[datetime, str, str]] = (), axes: Sequence[Axes] | None = None
                  ) -> Sequence[Axes]:
    """A postmortem timeline: metric series (top) with the incident window shaded, and one lane per
    rule with pending (light) and firing (dark) spans (bottom); ``marks`` are vertical lines
    (instant, label, colour) for notifications, pages, acknowledgement and resolution.

    ``spans`` has ``rule``, ``state`` (pending/firing), ``start_at``, ``end_at``.
    """
    if axes is None:
        _fig, created = plt.subplots(2, 1, figsize=(10, 6), sharex=True, layout="constrained",
                                    gridspec_kw={"height_ratios": [2, 1.4]})
        axes = list(created)
    top, lanes = axes[0], axes[1]
    for series, rows in metrics.group_by("series", maintain_order=True):
        top.plot(rows["timestamp"].to_list(), rows["value"].to_list(), lw=1, label=plain(series[0]))
    for ax in (top, lanes):
        ax.axvspan(incident["started_at"], incident["resolved_at"] or incident["started_at"], color="red",
                   alpha=0.1, label="incident" if ax is top else None)
    rules = spans["rule"].unique(maintain_order=True).to_list()
    for i, rule in enumerate(rules):
        for row in spans.filter(pl.col("rule") == rule).iter_rows(named=True):
            colour = "#f0ad4e" if row["state"] == "pending" else "#c9302c"
            lanes.barh(i, (row["end_at"] - row["start_at"]), left=row["start_at"], height=0.6, color=colour)
    lanes.set_yticks(range(len(rules)), plain_all(rules), fontsize=8)
    lanes.set_ylim(-0.7, max(len(rules), 1) - 0.3)
    for at, label, colour in marks:
        for ax in (top, lanes):
            # The stubs say float, but matplotlib converts datetimes through the axis units.
            ax.axvline(at, color=colour, lw=1, ls="--")  # type: ignore[arg-type]
        top.annotate(plain(label), (at, 1.0), xycoords=("data", "axes fraction"), rotation=90, fontsize=7,
                     va="top", ha="right", color=colour)
    top.set_title(f"Incident {plain(incident['incident_id'])}: metrics, rule states, notifications")
    top.legend(fontsize=7, loc="upper left")
    lanes.set_xlabel("time (UTC)")
    lanes.tick_params(axis="x", rotation=30)
    return axes
