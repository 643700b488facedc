"""``alertsim tune``, ``alertsim report`` and ``alertsim postmortem``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from alertsim.cli import STRICT_HELP, console, fail, format_option, print_frame, show_notices
from alertsim.errors import AlertsimError
from alertsim.io.incidents import read_incidents
from alertsim.io.metrics import read_metrics
from alertsim.io.rundir import check_output, file_digest, write_run
from alertsim.report.html import build_report
from alertsim.report.postmortem import postmortem
from alertsim.rules import load_rules
from alertsim.scale import open_dataset
from alertsim.tune import tune

if TYPE_CHECKING:
    import polars as pl

    from alertsim.scale import Dataset


def tune_command(
    metrics: Path = typer.Argument(..., help="Metrics: CSV/Parquet file, dir or glob, or DuckDB file."),
    rules: Path = typer.Option(..., "--rules", "-r", help="Rule file whose list-valued parameters form the grid."),
    incidents: Path = typer.Option(..., "--incidents", "-i", help="Incidents CSV/Parquet (the truth)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory to write."),
    budget: str = typer.Option("2/week", "--budget", help="Paging budget per team, e.g. 2/week, 1/day."),
    current: Path | None = typer.Option(None, "--current", help="Today's rule file: each rule named like a "
                                        "grid rule competes as '<name> (today)', and a candidate whose recall "
                                        "is below 80% of today's is reported as 'consider removing'."),
    eval_interval: str = typer.Option("1m", "--eval-interval", help="Rule evaluation interval."),
    metric: str | None = typer.Option(None, "--metric", help="Metric name of a timestamp,value file."),
    table: str | None = typer.Option(None, "--table", help="Table name when METRICS is a DuckDB database."),
    engine: str = typer.Option("memory", "--engine", help="memory, local (stream a dataset) or dask."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address (engine dask)."),
    strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
    output: str = format_option(),
) -> None:
    """Replay a grid of candidate rules once, score them, and recommend one per rule under a budget.

    Examples:

        alertsim tune data/sample/metrics.parquet --rules data/rules/tune-latency.yaml \\
            --incidents data/sample/incidents.csv --budget 2/week --out runs/tune

        alertsim tune data/sample/metrics.parquet -r data/rules/tune-latency.yaml \\
            -i data/sample/incidents.csv --current data/rules/sample.yaml --budget 1/week --out runs/tune
    """
    try:
        check_output(out)
        rule_list = load_rules(rules, strict=strict)
        source: pl.DataFrame | Dataset
        if engine == "memory":
            source = read_metrics(metrics, metric=metric, table=table)
        else:
            source = open_dataset(metrics, table=table)
        with console.status(f"replaying {len(rule_list)} candidates"):
            result = tune(source, rule_list, read_incidents(incidents), budget=budget,
                          eval_interval=eval_interval, engine=engine, scheduler=scheduler, current=current)
        notices = show_notices(result.notices, strict=strict)
        write_run(out, {"alerts": result.replay.alerts, "tune_candidates": result.candidates,
                        "tune_recommendations": result.recommendations, "incidents": read_incidents(incidents)},
                  manifest={"command": "tune", "notices": notices, "budget": budget, "eval_interval": eval_interval,
                            "metrics": {"path": str(metrics.resolve()), "metric": metric, "table": table},
                            "rules": {"path": str(rules.resolve()), "sha256": file_digest(rules)},
                            "current": {"path": str(current.resolve()), "sha256": file_digest(current)}
                            if current is not None else None,
                            "start": result.replay.start.isoformat(), "end": result.replay.end.isoformat()},
                  files={f"rules{rules.suffix or '.yaml'}": rules})
    except AlertsimError as error:
        fail(error)
        return
    print_frame(result.candidates.select("rule", "pages_per_week", "precision", "recall",
                                         "time_to_detect_median", "frontier", "recommended"),
                title=f"{result.candidates.height} candidates")
    shown = result.recommendations
    if current is None:
        shown = shown.drop("current_recall", "current_pages_per_week")
    print_frame(shown.select("family", "action", *[c for c in shown.columns if c not in ("family", "action")]),
                title=f"Recommendations under {budget} per team")
    console.print(f"wrote {out}")


def report_command(
    run_dir: Path = typer.Argument(..., help="A run directory (replay, demo, ...)."),
    out: Path = typer.Option(..., "--out", "-o", help="Report directory, e.g. reports/weekly/."),
    title: str | None = typer.Option(None, "--title", help="Report title."),
) -> None:
    """Write the fatigue report (index.html, report.md, figures/*.png) for RUN_DIR.

    Examples:

        alertsim report runs/sample --out reports/weekly

        alertsim report runs/sample --out reports/weekly --title 'Storefront, week 10'
    """
    try:
        path = build_report(run_dir, out, title=title)
    except AlertsimError as error:
        fail(error)
        return
    console.print(f"wrote {path}/index.html and report.md")


def postmortem_command(
    run_dir: Path = typer.Argument(..., help="A run directory with alerts, rules and incidents."),
    incident: str = typer.Option(..., "--incident", help="Incident id."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory."),
    incidents: Path | None = typer.Option(None, "--incidents", help="Incidents file (default: the run's)."),
    margin: str = typer.Option("2h", "--margin", help="Time shown before and after the incident."),
) -> None:
    """Draw one incident's timeline: metrics, every rule's pending/firing spans, notifications, pages.

    Examples:

        alertsim postmortem runs/sample --incident INC-001 --incidents data/sample/incidents.csv \\
            --out reports/INC-001

        alertsim postmortem runs/sample --incident INC-002 --incidents data/sample/incidents.csv \\
            --margin 6h --out reports/INC-002
    """
    try:
        frame = None
        if incidents is not None:
            frame = read_incidents(incidents)
        path = postmortem(run_dir, incident, out, incidents=frame, margin=margin)
    except AlertsimError as error:
        fail(error)
        return
    console.print(f"wrote {path}/index.html, timeline.png, postmortem.md")


def register(app: typer.Typer) -> None:
    app.command("tune")(tune_command)
    app.command("report")(report_command)
    app.command("postmortem")(postmortem_command)
