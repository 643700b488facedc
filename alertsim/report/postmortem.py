"""Postmortem timelines: what every candidate rule, Alertmanager and the on-call did around one incident.

``postmortem(run_dir, incident_id, out)`` re-evaluates the run's rules over a window around the
incident (with a warm-up so ``for`` and rolling windows start in the right state), and draws the
incident window, the metrics the rules watch, each rule's pending and firing spans, the run's
notifications and pages, and the acknowledgement and resolution when known. It also writes the table
of which rule caught the incident first, its time to detect, and what that rule costs in pages per
week over the whole run.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
import matplotlib.pyplot as plt
import polars as pl

from alertsim.durations import Duration, parse_duration
from alertsim.errors import ConfigError, InputError
from alertsim.frames import INSTANT
from alertsim.io.metrics import read_metrics
from alertsim.io.rundir import claim_output, has_frame, os_error, read_frame, read_manifest
from alertsim.replay import replay
from alertsim.report import figures
from alertsim.report.html import TEMPLATES, Table, markdown_escape, table
from alertsim.rules import load_rules
from alertsim.series import Prepared, prepare


def _spans(evaluations: pl.DataFrame, alerts: pl.DataFrame) -> pl.DataFrame:
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


def _service_of(labels: str) -> str | None:
    try:
        return json.loads(labels).get("service")
    except (ValueError, AttributeError):
        return None


def postmortem(run_dir: str | os.PathLike[str], incident_id: str, out: str | os.PathLike[str], *,
               incidents: pl.DataFrame | None = None, metrics: pl.DataFrame | Prepared | None = None,
               margin: Duration = "2h", warmup: Duration = "1d") -> Path:
    """Write ``timeline.png``, ``postmortem.md`` and ``index.html`` for one incident into ``out``.

    ``incidents`` defaults to the run directory's ``incidents`` frame and ``metrics`` to the file the
    run's manifest names. Raises ``InputError`` for an unknown incident id.
    """
    manifest = read_manifest(run_dir)
    run_dir = Path(run_dir)
    if incidents is None:
        incidents = read_frame(run_dir, "incidents")
    found = incidents.filter(pl.col("incident_id") == incident_id)
    if not found.height:
        known = ", ".join(incidents["incident_id"].head(10).to_list())
        raise InputError(f"no incident {incident_id!r} in the run; known ids include: {known}",
                         file=str(run_dir))
    incident = found.row(0, named=True)
    if metrics is None:
        spec = manifest.get("metrics", {})
        metrics = read_metrics(spec["path"], metric=spec.get("metric"), table=spec.get("table"))
    rule_file = next(iter(sorted(run_dir.glob("rules.*"))), None)
    if rule_file is None:
        raise InputError(f"{run_dir} has no rule file (rules.yaml) to re-evaluate", file=str(run_dir))
    rules = load_rules(rule_file)
    prepared = prepare(metrics)
    pad = parse_duration(margin)
    data_lo, data_hi = (datetime.fromtimestamp(us / 1e6, tz=UTC) for us in (prepared.first_us, prepared.last_us))
    try:
        lo = incident["started_at"] - pad
        hi = (incident["resolved_at"] or incident["started_at"]) + pad
    except OverflowError:
        raise ConfigError(f"margin {margin} reaches outside the calendar; use a margin of hours or days",
                          field="margin") from None
    # A margin wider than the data shows nothing more: the window stops where the metrics stop.
    lo, hi = max(lo, min(data_lo, incident["started_at"])), min(hi, max(data_hi, incident["started_at"]))
    window = replay(prepared, rules, eval_interval=manifest.get("eval_interval", "1m"),
                    start=lo - parse_duration(warmup), end=hi, evaluations=True)
    evaluations = window.evaluations
    assert evaluations is not None
    alerts = window.alerts
    service = incident.get("service")
    in_window = (pl.col("at") >= lo) & (pl.col("at") <= hi)
    if service and alerts.height:
        series_service = {s: _service_of(lbl) for s, lbl in alerts.select("series", "labels").unique().iter_rows()}
        keep = [s for s, svc in series_service.items() if svc in (service, None)]
        evaluations = evaluations.filter(pl.col("series").is_in(keep) | pl.col("series").str.contains(
            f'service="{service}"', literal=True))
    spans = _spans(evaluations.filter(in_window), alerts)
    spans = spans.filter((pl.col("end_at") >= lo) & (pl.col("start_at") <= hi)).with_columns(
        pl.col("start_at").clip(lower_bound=lo), pl.col("end_at").clip(upper_bound=hi))
    # Metrics the rules watch, for this service.
    names = {getattr(r, "metric", None) for r in rules} - {None}
    shown = (prepared.table.filter(pl.col("metric").is_in(list(names)))
             .filter(pl.col("series").str.contains(f'service="{service}"', literal=True) if service else pl.lit(True))
             .head(6))
    parts = []
    for row in shown.iter_rows(named=True):
        sel = prepared.select(row["metric"], {k: row[k] for k in prepared.labels if row[k]})
        times = pl.Series(sel.data.times).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        parts.append(pl.DataFrame({"series": row["series"], "timestamp": times, "value": sel.data.values})
                     .filter((pl.col("timestamp") >= lo) & (pl.col("timestamp") <= hi)))
    series_frame = (pl.concat(parts) if parts else
                    pl.DataFrame(schema={"series": pl.String, "timestamp": INSTANT, "value": pl.Float64}))
    marks: list[tuple[datetime, str, str]] = []
    if incident.get("acknowledged_at"):
        marks.append((incident["acknowledged_at"], "acknowledged", "green"))
    if incident.get("resolved_at"):
        marks.append((incident["resolved_at"], "resolved", "black"))
    for name, column, colour in (("notifications", "sent_at", "purple"), ("pages", "paged_at", "blue")):
        if has_frame(run_dir, name):
            frame = read_frame(run_dir, name)
            hits = frame.filter((pl.col(column) >= lo) & (pl.col(column) <= hi)).head(12)
            marks += [(at, name[:-1], colour) for at in hits[column].to_list()]
    # Who caught it first.
    caught = (alerts.filter((pl.col("fired_at") >= incident["started_at"] - pad)
                            & (pl.col("fired_at") <= (incident["resolved_at"] or hi)))
              .filter(pl.col("series").is_in(spans["series"].unique().to_list()) if spans.height else pl.lit(True))
              .group_by("rule").agg(first_fired_at=pl.col("fired_at").min())
              .with_columns(time_to_detect=pl.col("first_fired_at") - pl.lit(incident["started_at"], dtype=INSTANT))
              .sort("first_fired_at"))
    run_alerts = read_frame(run_dir, "alerts") if has_frame(run_dir, "alerts") else alerts
    weeks = max((datetime.fromisoformat(manifest["end"]) - datetime.fromisoformat(manifest["start"]))
                .total_seconds() / (7 * 86400), 1e-9) if manifest.get("start") else None
    cost_source = read_frame(run_dir, "pages") if has_frame(run_dir, "pages") else run_alerts.filter(
        pl.col("severity") == "page")
    if weeks and "rule" in cost_source.columns:
        cost = cost_source.group_by("rule").agg((pl.len() / weeks).alias("pages_per_week"))
        caught = caught.join(cost, on="rule", how="left").with_columns(pl.col("pages_per_week").fill_null(0.0))
    fig, axes = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True, layout="constrained",
                             gridspec_kw={"height_ratios": [2, 1.5]})
    try:
        figures.plot_timeline(metrics=series_frame, incident=incident, spans=spans, marks=marks, axes=list(axes))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110)
    finally:
        plt.close(fig)
    png = buffer.getvalue()
    caught_table = table(caught, caption="Rules that fired during the incident, first first")
    facts = Table(columns=["field", "value"], rows=[[k, str(v)] for k, v in incident.items() if v is not None])
    return _write(Path(out), incident_id, png, facts, caught_table)


def _write(out: Path, incident_id: str, png: bytes, facts: Table, caught: Table) -> Path:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    page = env.get_template("postmortem.html.j2").render(
        incident_id=incident_id, facts=facts, caught=caught,
        image="data:image/png;base64," + base64.b64encode(png).decode("ascii"))
    esc = markdown_escape
    lines = [f"# Postmortem timeline: {esc(incident_id)}", "", "![timeline](timeline.png)", "",
             "| field | value |", "|---|---|", *[f"| {esc(a)} | {esc(b)} |" for a, b in facts.rows], "",
             "| " + " | ".join(esc(c) for c in caught.columns) + " |", "|" + "---|" * len(caught.columns),
             *["| " + " | ".join(esc(c) for c in r) + " |" for r in caught.rows], ""]
    out = claim_output(out)
    try:
        _replace_files(out, png, "\n".join(lines), page)
    except OSError as exc:
        raise os_error(exc, out) from None
    return out


def _replace_files(out: Path, png: bytes, markdown: str, page: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=".postmortem.", dir=out))
    try:
        (tmp / "timeline.png").write_bytes(png)
        (tmp / "postmortem.md").write_text(markdown, encoding="utf-8")
        (tmp / "index.html").write_text(page, encoding="utf-8")
        for name in ("timeline.png", "postmortem.md", "index.html"):
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__: list[Any] = ["postmortem"]
