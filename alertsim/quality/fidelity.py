"""Fidelity: does a replay fire as production did? Compare a replay's alerts with the firing history
Prometheus itself recorded in its ``ALERTS`` series.

``ALERTS{alertstate="firing"}`` holds one sample per rule evaluation of every firing alert, at the
evaluation's own timestamp. :func:`production_episodes` turns those samples into episodes (a gap of
more than 1.5 evaluation intervals ends one; an episode resolves one interval after its last firing
sample, or is still open at the end of the history); :func:`compare_firing` pairs them with the
replay's episodes of the same alert series and reports, per rule, matched episodes, the differences of
firing and resolving times, and the likely causes of any mismatch:

* **evaluation offset** — Prometheus evaluates each group at a fixed offset within its interval (a
  hash of the group), not at multiples of the interval since the epoch; the offset seen in the history
  is reported, and ``alertsim replay --eval-offset`` replays on the same instants;
* **scrape gaps** — an unmatched episode next to a gap in the replayed metrics longer than twice their
  usual spacing;
* **rule changes** — alerts production fired that the replayed rules do not define (renamed or removed
  rules), or the same alert with other labels (changed rule labels).

>>> import polars as pl, datetime as dt
>>> t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
>>> history = pl.DataFrame({"timestamp": [t + dt.timedelta(seconds=s) for s in (13, 73, 133, 313)],
...     "metric": "ALERTS", "value": 1.0, "alertname": "Hot", "alertstate": "firing", "host": "a"})
>>> episodes = production_episodes(history, end=t + dt.timedelta(minutes=10))
>>> [(s, f.strftime("%M:%S"), r.strftime("%M:%S")) for s, f, r in episodes.select(
...     "series", "fired_at", "resolved_at").rows()]
[('Hot{host="a"}', '00:13', '03:13'), ('Hot{host="a"}', '05:13', '06:13')]
>>> episodes["offset_s"].to_list()
[13.0, 13.0]
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from alertsim.errors import InputError
from alertsim.frames import INSTANT, label_columns, series_name

PRODUCTION = {"alertname": pl.String(), "series": pl.String(), "fired_at": INSTANT, "resolved_at": INSTANT,
              "interval_s": pl.Float64(), "offset_s": pl.Float64()}
FIDELITY = {"rule": pl.String(), "replayed": pl.Int64(), "production": pl.Int64(), "matched": pl.Int64(),
            "matched_pct": pl.Float64(), "only_replayed": pl.Int64(), "only_production": pl.Int64(),
            "max_fired_diff_s": pl.Float64(), "max_resolved_diff_s": pl.Float64(),
            "production_offset_s": pl.Float64(), "causes": pl.String()}
_US = 1_000_000


def production_episodes(history: pl.DataFrame, *, end: datetime | None = None,
                        interval: timedelta | None = None) -> pl.DataFrame:
    """The firing episodes recorded in ``ALERTS{alertstate="firing"}`` samples (a Metrics frame as
    ``alertsim fetch prometheus --alerts-history`` writes it; other metrics are ignored).

    ``interval`` is each alert's evaluation interval; default: the most common spacing of its samples.
    ``end`` is the end of the history (default: its last sample): an episode whose next evaluation would
    fall after it is still open (``resolved_at`` null). ``offset_s`` is where in its interval the alert
    was evaluated (seconds after a multiple of the interval since the epoch).
    """
    if "alertname" not in history.columns:
        raise InputError("the history holds no ALERTS series (no alertname column); fetch it with "
                         "`alertsim fetch prometheus --alerts-history`")
    alerts = history.filter(pl.col("metric") == "ALERTS")
    if "alertstate" in alerts.columns:
        alerts = alerts.filter(pl.col("alertstate") == "firing")
    labels = [c for c in label_columns(alerts) if c not in ("alertname", "alertstate")]
    if alerts.is_empty():
        return pl.DataFrame(schema=PRODUCTION)
    end_us = _us(end) if end is not None else int(alerts["timestamp"].dt.epoch("us").max())  # type: ignore[arg-type]
    rows: list[dict[str, Any]] = []
    keyed = alerts.with_columns(pl.col("timestamp").dt.epoch("us").alias("_us")).sort("_us")
    for key, part in keyed.group_by(["alertname", *labels], maintain_order=True):
        values = dict(zip(["alertname", *labels], key, strict=True))
        series = series_name(str(values["alertname"]), {k: str(v) for k, v in values.items()
                                                        if k != "alertname" and v})
        times = part["_us"].to_list()
        rows.append({"alertname": values["alertname"], "series": series, "times": times})
    steps: dict[str, int] = {}
    for row in rows:
        diffs = [b - a for a, b in itertools.pairwise(row["times"]) if b > a]
        steps.setdefault(row["alertname"], 0)
        if diffs:
            common = max(set(diffs), key=diffs.count)
            steps[row["alertname"]] = common if not steps[row["alertname"]] else min(steps[row["alertname"]], common)
    out: list[dict[str, Any]] = []
    for row in rows:
        step = int(interval / timedelta(microseconds=1)) if interval else steps[row["alertname"]]
        if step <= 0:
            raise InputError(f"cannot tell the evaluation interval of {row['alertname']!r} from one sample per "
                             "episode; pass interval")
        times = row["times"]
        first = times[0]
        for a, b in zip(times, [*times[1:], None], strict=True):
            if b is None or b - a > step * 3 // 2:
                resolved = a + step if a + step <= end_us else None
                out.append({"alertname": row["alertname"], "series": row["series"], "fired_at": first,
                            "resolved_at": resolved, "interval_s": step / _US, "offset_s": (first % step) / _US})
                first = b  # type: ignore[assignment]
    frame = pl.DataFrame(out, schema={**PRODUCTION, "fired_at": pl.Int64(), "resolved_at": pl.Int64()}, orient="row")
    return frame.with_columns(pl.col("fired_at", "resolved_at").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))


def _us(value: datetime) -> int:
    return int(value.timestamp()) * _US + value.microsecond


@dataclass(frozen=True, kw_only=True)
class Fidelity:
    """The comparison: ``rules`` (one row per alert name, :data:`FIDELITY`) and ``episodes`` (every
    episode of either side with its match)."""

    rules: pl.DataFrame
    episodes: pl.DataFrame

    @property
    def matched_pct(self) -> float:
        total = int(self.rules["production"].sum()) + int(self.rules["only_replayed"].sum())
        return 100.0 if total == 0 else 100.0 * int(self.rules["matched"].sum()) / total


def _causes(name: str, mine: pl.DataFrame, theirs: pl.DataFrame, unmatched: list[int],
            gaps: list[tuple[int, int]] | None, offset: float | None, replay_offset_s: float,
            replayed_rules: set[str] | None, *, differs: bool) -> list[str]:
    """The likely causes of a rule's mismatches: scrape gaps next to unmatched episodes, another evaluation
    offset, a renamed or removed rule, other labels."""
    causes: list[str] = []
    near = 15 * 60 * _US
    if gaps and any(a - near <= t <= b + near for t in unmatched for a, b in gaps):
        causes.append("scrape gaps: the replayed metrics have gaps next to unmatched episodes")
    if offset is not None and abs(offset - replay_offset_s) > 1e-6 and differs:
        causes.append(f"evaluation offset: production evaluates {offset:g}s into each interval, the replay "
                      f"{replay_offset_s:g}s (replay with --eval-offset {offset:g}s)")
    if replayed_rules is not None and name not in replayed_rules and theirs.height:
        causes.append("rule changes: the replayed rules define no alert of this name (renamed or removed)")
    elif mine.height and theirs.height and not set(mine["series"].to_list()) & set(theirs["series"].to_list()):
        causes.append("rule changes: the same alert with other labels")
    return causes


def compare_firing(alerts: pl.DataFrame, production: pl.DataFrame, *, replay_offset_s: float = 0.0,
                   gaps: list[tuple[int, int]] | None = None,
                   replayed_rules: set[str] | None = None) -> Fidelity:
    """Pair a replay's ``alerts`` (an Alerts frame) with ``production`` episodes
    (:func:`production_episodes`) by alert series, in time order; an episode pair matches when both
    fired and resolved at the same instants. ``gaps`` (``(from_us, to_us)`` gaps of the replayed
    metrics, :func:`metric_gaps`) and ``replayed_rules`` (alert names the replayed rules define) let the causes
    name scrape gaps and rule changes."""
    replay = alerts.select(
        pl.col("series").str.extract(r"^([^{]*)").alias("alertname"), "series",
        pl.col("fired_at").dt.epoch("us"), pl.col("resolved_at").dt.epoch("us"))
    prod = production.select("alertname", "series", pl.col("fired_at").dt.epoch("us"),
                             pl.col("resolved_at").dt.epoch("us"), "interval_s", "offset_s")
    rows: list[dict[str, Any]] = []
    names = sorted(set(replay["alertname"].to_list()) | set(prod["alertname"].to_list()))
    pairs: list[dict[str, Any]] = []
    for name in names:
        mine = replay.filter(pl.col("alertname") == name)
        theirs = prod.filter(pl.col("alertname") == name)
        matched = fired_diff = resolved_diff = 0
        only_mine = only_theirs = 0
        unmatched: list[int] = []
        for series in sorted(set(mine["series"].to_list()) | set(theirs["series"].to_list())):
            a = mine.filter(pl.col("series") == series).sort("fired_at").rows(named=True)
            b = theirs.filter(pl.col("series") == series).sort("fired_at").rows(named=True)
            i = j = 0
            while i < len(a) or j < len(b):
                x = a[i] if i < len(a) else None
                y = b[j] if j < len(b) else None
                if x is not None and y is not None and _overlap(x, y):
                    exact = x["fired_at"] == y["fired_at"] and x["resolved_at"] == y["resolved_at"]
                    matched += exact
                    fired_diff = max(fired_diff, abs(x["fired_at"] - y["fired_at"]))
                    if x["resolved_at"] is not None and y["resolved_at"] is not None:
                        resolved_diff = max(resolved_diff, abs(x["resolved_at"] - y["resolved_at"]))
                    pairs.append({"rule": name, "series": series, "replay_fired_at": x["fired_at"],
                                  "production_fired_at": y["fired_at"], "replay_resolved_at": x["resolved_at"],
                                  "production_resolved_at": y["resolved_at"], "match": exact})
                    i, j = i + 1, j + 1
                elif y is None or (x is not None and x["fired_at"] < y["fired_at"]):
                    only_mine += 1
                    unmatched.append(x["fired_at"])  # type: ignore[index]
                    pairs.append({"rule": name, "series": series, "replay_fired_at": x["fired_at"],  # type: ignore[index]
                                  "replay_resolved_at": x["resolved_at"], "match": False})  # type: ignore[index]
                    i += 1
                else:
                    only_theirs += 1
                    unmatched.append(y["fired_at"])
                    pairs.append({"rule": name, "series": series, "production_fired_at": y["fired_at"],
                                  "production_resolved_at": y["resolved_at"], "match": False})
                    j += 1
        offsets = theirs["offset_s"].unique().to_list()
        offset = offsets[0] if len(offsets) == 1 else None
        causes = _causes(name, mine, theirs, unmatched, gaps, offset, replay_offset_s, replayed_rules,
                         differs=bool(fired_diff or only_mine or only_theirs))
        total = theirs.height + only_mine
        rows.append({"rule": name, "replayed": mine.height, "production": theirs.height, "matched": matched,
                     "matched_pct": 100.0 if total == 0 else 100.0 * matched / total, "only_replayed": only_mine,
                     "only_production": only_theirs, "max_fired_diff_s": fired_diff / _US,
                     "max_resolved_diff_s": resolved_diff / _US, "production_offset_s": offset,
                     "causes": "; ".join(causes)})
    rules = pl.DataFrame(rows, schema=FIDELITY, orient="row")
    instants = ["replay_fired_at", "production_fired_at", "replay_resolved_at", "production_resolved_at"]
    episodes = pl.DataFrame(pairs, schema={"rule": pl.String(), "series": pl.String(),
                                           **{c: pl.Int64() for c in instants}, "match": pl.Boolean()})
    episodes = episodes.with_columns(pl.col(instants).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
    return Fidelity(rules=rules, episodes=episodes)


def _overlap(x: Mapping[str, Any], y: Mapping[str, Any]) -> bool:
    big = 2**62
    return bool(x["fired_at"] < (y["resolved_at"] or big) and y["fired_at"] < (x["resolved_at"] or big)) or \
        x["fired_at"] == y["fired_at"]


def metric_gaps(metrics: pl.DataFrame, factor: float = 2.0) -> list[tuple[int, int]]:
    """``(from_us, to_us)`` of every gap of a series longer than ``factor`` × its usual sample spacing."""
    labels = label_columns(metrics)
    out: list[tuple[int, int]] = []
    for _, part in metrics.sort("timestamp").group_by(["metric", *labels], maintain_order=True):
        times = part["timestamp"].dt.epoch("us").to_list()
        diffs = [b - a for a, b in itertools.pairwise(times)]
        if not diffs:
            continue
        usual = sorted(diffs)[len(diffs) // 2]
        out += [(a, b) for a, b in itertools.pairwise(times) if b - a > factor * usual]
    return sorted(out)


__all__ = ["FIDELITY", "PRODUCTION", "Fidelity", "compare_firing", "metric_gaps", "production_episodes"]
