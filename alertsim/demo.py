"""The main job on the bundled sample, end to end: what ``alertsim demo`` and ``make demo`` run.

1. replay the sample rule pack (thresholds, anomaly, burn rate) over 60 days of metrics;
2. score every rule against the labelled incidents;
3. send the alerts through the sample Alertmanager config → notifications and pages;
4. fatigue and fairness from the sample's real page history, MTTA/MTTR with weekly trends;
5. simulate three on-call designs over the page history;
6. tune one rule (a latency grid) under a paging budget;
7. write the run directory and the fatigue report (``index.html``, ``report.md``, figures).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from alertsim.datasets import SAMPLE_DIR, TEAMS, load_sample
from alertsim.io.rundir import claim_output, write_run
from alertsim.notify import notify
from alertsim.oncall import compare
from alertsim.quality.detection import missed_incidents, score
from alertsim.quality.fatigue import fatigue
from alertsim.quality.response import incidents_from_pages, response_times, weekly_trend
from alertsim.replay import replay
from alertsim.report.html import build_report
from alertsim.rules import load_rules
from alertsim.series import prepare
from alertsim.tune import tune

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "data" / "rules" / "sample.yaml"
TUNING_GRID = REPO / "data" / "rules" / "tune-latency.yaml"
ALERTMANAGER = REPO / "data" / "alertmanager" / "sample.yml"
DESIGNS = ("weekly.yaml", "daily.yaml", "follow-the-sun.yaml")
STEPS = ("load sample", "replay rules", "score", "notify", "fatigue and response", "simulate designs",
         "tune", "write report")


@dataclass(frozen=True)
class DemoResult:
    run_dir: Path
    report_dir: Path
    frames: dict[str, pl.DataFrame]


def run_demo(out: str | os.PathLike[str] = "reports/demo", *, replicates: int = 300, seed: int = 7,
             step: Callable[[str], None] | None = None) -> DemoResult:
    """Run the whole job and write ``out/index.html`` (the report) and ``out/run/`` (the run directory).

    ``step`` is called with each step's name as it starts (the CLI shows progress with it).
    """
    def begin(name: str) -> None:
        log.info("demo: %s", name)
        if step:
            step(name)

    out = claim_output(out)  # refuse a directory alertsim did not write before any work
    begin("load sample")
    sample = load_sample()
    prepared = prepare(sample.metrics)
    begin("replay rules")
    rules = load_rules(RULES)
    result = replay(prepared, rules)
    begin("score")
    quality = score(result.alerts, sample.incidents, late="30m", rules=[r.name for r in rules])
    missed = missed_incidents(result.alerts, sample.incidents, late="30m")
    begin("notify")
    notified = notify(result.alerts, ALERTMANAGER)
    pages = notified.pages.with_columns(
        pl.coalesce("team", pl.col("service").replace_strict(TEAMS, default=None)).alias("team"))
    begin("fatigue and response")
    history = fatigue(sample.pages, sample.shifts, incidents=sample.incidents)
    as_incidents = incidents_from_pages(sample.pages)
    response = response_times(as_incidents)
    trend_tta = weekly_trend(as_incidents, metric="tta", seed=seed)
    trend_ttr = weekly_trend(as_incidents, metric="ttr", seed=seed)
    begin("simulate designs")
    designs = REPO / "data" / "designs"
    comparison = compare(sample.pages, [designs / name for name in DESIGNS], replicates=replicates, seed=seed,
                         keep_outcomes=False)
    begin("tune")
    tuned = tune(prepared, load_rules(TUNING_GRID), sample.incidents, budget="2/week", late="30m")
    begin("write report")
    frames: dict[str, pl.DataFrame] = {
        "alerts": result.alerts, "quality": quality, "missed": missed, "incidents": sample.incidents,
        "notifications": notified.notifications, "pages": pages, "page_history": sample.pages,
        **history.frames(), "response_times": response, "trend_tta": trend_tta, "trend_ttr": trend_ttr,
        "sim_summary": comparison.summary, "sim_differences": comparison.differences,
        "tune_candidates": tuned.candidates, "tune_recommendations": tuned.recommendations,
    }
    metrics_path = SAMPLE_DIR / "metrics.parquet"
    run_dir = write_run(out / "run", frames, manifest={
        "command": "demo", "title": "Larkspur: alert fatigue report (sample data)",
        "start": result.start.isoformat(), "end": result.end.isoformat(), "eval_interval": "1m",
        "metrics": {"path": str(metrics_path)}, "rules": {"path": str(RULES)}, "seed": seed,
        "replicates": replicates}, files={"rules.yaml": RULES})
    report_dir = build_report(run_dir, out)
    return DemoResult(run_dir=run_dir, report_dir=report_dir, frames=frames)
