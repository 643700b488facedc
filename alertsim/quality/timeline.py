"""What every rule, Alertmanager and the on-call did around one incident: the analysis behind a
postmortem timeline (:func:`alertsim.report.postmortem.postmortem` draws it).

:func:`incident_timeline` re-evaluates a run's rules over a window around the incident (with a warm-up so
``for`` and rolling windows start in the right state) and returns a :class:`Timeline`: the metrics the
rules watch, each rule's pending and firing spans, the run's notifications and pages and the
acknowledgement and resolution as marks, and which rule caught the incident first, its time to detect
and what that rule costs in pages per week over the whole run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from alertsim.durations import Duration, parse_duration
from alertsim.errors import ConfigError, InputError
from alertsim.frames import INSTANT
from alertsim.io.metrics import read_metrics
from alertsim.io.rundir import has_frame, read_frame, read_manifest
from alertsim.replay import replay
from alertsim.rules import RuleBase, load_rules
from alertsim.series import Prepared, prepare

#: How many watched series a timeline shows, and how many notifications and pages it marks.
SHOWN_SERIES = 6
SHOWN_MARKS = 12


@dataclass(frozen=True, kw_only=True)
class Timeline:
    """One incident's timeline, as frames.

    ``incident`` is the incident's row; ``metrics`` (``series``, ``timestamp``, ``value``) the watched
    series inside the window; ``spans`` (``rule``, ``series``, ``state`` pending | firing, ``start_at``,
    ``end_at``) clipped to the window; ``marks`` ``(at, what)`` with what one of ``acknowledged``,
    ``resolved``, ``notification``, ``page``; ``caught`` the rules that fired during the incident, first
    first (``rule``, ``first_fired_at``, ``time_to_detect`` and, when the run says its period,
    ``pages_per_week``).
    """

    incident_id: str
    incident: dict[str, Any]
    start: datetime
    end: datetime
    metrics: pl.DataFrame
    spans: pl.DataFrame
    marks: list[tuple[datetime, str]]
    caught: pl.DataFrame


def incident_timeline(run_dir: str | os.PathLike[str], incident_id: str, *, incidents: pl.DataFrame | None = None,
                      metrics: pl.DataFrame | Prepared | None = None, margin: Duration = "2h",
                      warmup: Duration = "1d") -> Timeline:
    """The :class:`Timeline` of ``incident_id`` from a run directory (its manifest, rule file, alerts,
    notifications and pages).

    ``incidents`` defaults to the run directory's ``incidents`` frame and ``metrics`` to the file the
    run's manifest names. Raises ``InputError`` for an unknown incident id or a run without a rule file.
    """
    manifest = read_manifest(run_dir)
    run_dir = Path(run_dir)
    incident = _incident(run_dir, incident_id, incidents)
    if metrics is None:
        spec = manifest.get("metrics", {})
        metrics = read_metrics(spec["path"], metric=spec.get("metric"), table=spec.get("table"))
    rules = _rules(run_dir)
    prepared = prepare(metrics)
    pad = parse_duration(margin)
    lo, hi = _window(incident, prepared, pad, margin)
    replayed = replay(prepared, rules, eval_interval=manifest.get("eval_interval", "1m"),
                      start=lo - parse_duration(warmup), end=hi, evaluations=True)
    alerts = replayed.alerts
    assert replayed.evaluations is not None
    evaluations = _of_service(replayed.evaluations, alerts, incident.get("service"))
    spans = spans_of(evaluations.filter((pl.col("at") >= lo) & (pl.col("at") <= hi)), alerts)
    spans = spans.filter((pl.col("end_at") >= lo) & (pl.col("start_at") <= hi)).with_columns(
        pl.col("start_at").clip(lower_bound=lo), pl.col("end_at").clip(upper_bound=hi))
    caught = _caught(alerts, spans, incident, pad, hi)
    caught = _with_cost(caught, run_dir, manifest, alerts)
    return Timeline(incident_id=incident_id, incident=incident, start=lo, end=hi,
                    metrics=_watched(prepared, rules, incident.get("service"), lo, hi),
                    spans=spans, marks=_marks(run_dir, incident, lo, hi), caught=caught)


def _incident(run_dir: Path, incident_id: str, incidents: pl.DataFrame | None) -> dict[str, Any]:
    if incidents is None:
        incidents = read_frame(run_dir, "incidents")
    found = incidents.filter(pl.col("incident_id") == incident_id)
    if not found.height:
        known = ", ".join(incidents["incident_id"].head(10).to_list())
        raise InputError(f"no incident {incident_id!r} in the run; known ids include: {known}",
                         file=str(run_dir))
    return found.row(0, named=True)


def _rules(run_dir: Path) -> list[RuleBase]:
    rule_file = next(iter(sorted(run_dir.glob("rules.*"))), None)
    if rule_file is None:
        raise InputError(f"{run_dir} has no rule file (rules.yaml) to re-evaluate", file=str(run_dir))
    return load_rules(rule_file)


def _window(incident: dict[str, Any], prepared: Prepared, pad: timedelta, margin: Duration
            ) -> tuple[datetime, datetime]:
    """The incident ± ``pad``; a margin wider than the data shows nothing more: the window stops where the
    metrics stop."""
    data_lo, data_hi = (datetime.fromtimestamp(us / 1e6, tz=UTC) for us in (prepared.first_us, prepared.last_us))
    try:
        lo = incident["started_at"] - pad
        hi = (incident["resolved_at"] or incident["started_at"]) + pad
    except OverflowError:
        raise ConfigError(f"margin {margin} reaches outside the calendar; use a margin of hours or days",
                          field="margin") from None
    return max(lo, min(data_lo, incident["started_at"])), min(hi, max(data_hi, incident["started_at"]))


def _service_of(labels: str) -> str | None:
    try:
        return json.loads(labels).get("service")
    except (ValueError, AttributeError):
        return None


def _of_service(evaluations: pl.DataFrame, alerts: pl.DataFrame, service: str | None) -> pl.DataFrame:
    """The evaluations of the incident's service (and of series that name no service)."""
    if not service or not alerts.height:
        return evaluations
    series_service = {s: _service_of(lbl) for s, lbl in alerts.select("series", "labels").unique().iter_rows()}
    keep = [s for s, svc in series_service.items() if svc in (service, None)]
    return evaluations.filter(pl.col("series").is_in(keep) | pl.col("series").str.contains(
        f'service="{service}"', literal=True))


def spans_of(evaluations: pl.DataFrame, alerts: pl.DataFrame) -> pl.DataFrame:
    """Pending and firing spans per rule and series from evaluations (runs of true) and alerts."""
    runs = (evaluations.sort("rule", "series", "at")
            .with_columns(run=(pl.col("state").fill_null(False) != pl.col("state").fill_null(False)
                               .shift(1).over("rule", "series")).fill_null(True).cum_sum().over("rule", "series"))
            .filter(pl.col("state").fill_null(False))
            .group_by("rule", "series", "run").agg(start_at=pl.col("at").min(), last_at=pl.col("at").max()))
    step = (evaluations["at"].unique().sort().diff().drop_nulls().min()
            if evaluations.height > 1 else timedelta(minutes=1))
    runs = runs.with_columns(end_at=pl.col("last_at") + pl.lit(step))
    firing = alerts.select("rule", "series", "active_at", "fired_at", "resolved_at")
    pending = (runs.join(firing, left_on=["rule", "series", "start_at"], right_on=["rule", "series", "active_at"],
                         how="left")
               .select("rule", "series", pl.lit("pending").alias("state"), "start_at",
                       pl.coalesce("fired_at", "end_at").alias("end_at")))
    end = evaluations["at"].max()
    fire = firing.select("rule", "series", pl.lit("firing").alias("state"), pl.col("fired_at").alias("start_at"),
                         pl.col("resolved_at").fill_null(pl.lit(end, dtype=INSTANT)).alias("end_at"))
    return pl.concat([pending, fire]).filter(pl.col("end_at") > pl.col("start_at")).sort("rule", "start_at")


def _watched(prepared: Prepared, rules: list[RuleBase], service: str | None, lo: datetime, hi: datetime
             ) -> pl.DataFrame:
    """Samples inside the window of the first series the rules watch, of the incident's service."""
    names = {getattr(r, "metric", None) for r in rules} - {None}
    shown = (prepared.table.filter(pl.col("metric").is_in(list(names)))
             .filter(pl.col("series").str.contains(f'service="{service}"', literal=True) if service else pl.lit(True))
             .head(SHOWN_SERIES))
    parts = []
    for row in shown.iter_rows(named=True):
        sel = prepared.select(row["metric"], {k: row[k] for k in prepared.labels if row[k]})
        times = pl.Series(sel.data.times).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        parts.append(pl.DataFrame({"series": row["series"], "timestamp": times, "value": sel.data.values})
                     .filter((pl.col("timestamp") >= lo) & (pl.col("timestamp") <= hi)))
    return (pl.concat(parts) if parts else
            pl.DataFrame(schema={"series": pl.String, "timestamp": INSTANT, "value": pl.Float64}))


def _marks(run_dir: Path, incident: dict[str, Any], lo: datetime, hi: datetime) -> list[tuple[datetime, str]]:
    """The acknowledgement, the resolution, and the run's notifications and pages inside the window."""
    marks: list[tuple[datetime, str]] = []
    if incident.get("acknowledged_at"):
        marks.append((incident["acknowledged_at"], "acknowledged"))
    if incident.get("resolved_at"):
        marks.append((incident["resolved_at"], "resolved"))
    for name, column in (("notifications", "sent_at"), ("pages", "paged_at")):
        if has_frame(run_dir, name):
            frame = read_frame(run_dir, name)
            hits = frame.filter((pl.col(column) >= lo) & (pl.col(column) <= hi)).head(SHOWN_MARKS)
            marks += [(at, name[:-1]) for at in hits[column].to_list()]
    return marks


def _caught(alerts: pl.DataFrame, spans: pl.DataFrame, incident: dict[str, Any], pad: timedelta,
            hi: datetime) -> pl.DataFrame:
    """The rules that fired during the incident (from ``pad`` before it), first first, with their time to
    detect."""
    return (alerts.filter((pl.col("fired_at") >= incident["started_at"] - pad)
                          & (pl.col("fired_at") <= (incident["resolved_at"] or hi)))
            .filter(pl.col("series").is_in(spans["series"].unique().to_list()) if spans.height else pl.lit(True))
            .group_by("rule").agg(first_fired_at=pl.col("fired_at").min())
            .with_columns(time_to_detect=pl.col("first_fired_at") - pl.lit(incident["started_at"], dtype=INSTANT))
            .sort("first_fired_at"))


def _with_cost(caught: pl.DataFrame, run_dir: Path, manifest: dict[str, Any], alerts: pl.DataFrame
               ) -> pl.DataFrame:
    """``caught`` with what each rule costs in pages per week over the whole run (when the run says its
    period): its pages, or its page-severity alerts in a run without notifications."""
    run_alerts = read_frame(run_dir, "alerts") if has_frame(run_dir, "alerts") else alerts
    weeks = max((datetime.fromisoformat(manifest["end"]) - datetime.fromisoformat(manifest["start"]))
                .total_seconds() / (7 * 86400), 1e-9) if manifest.get("start") else None
    cost_source = read_frame(run_dir, "pages") if has_frame(run_dir, "pages") else run_alerts.filter(
        pl.col("severity") == "page")
    if not weeks or "rule" not in cost_source.columns:
        return caught
    cost = cost_source.group_by("rule").agg((pl.len() / weeks).alias("pages_per_week"))
    return caught.join(cost, on="rule", how="left").with_columns(pl.col("pages_per_week").fill_null(0.0))


__all__ = ["Timeline", "incident_timeline", "spans_of"]
