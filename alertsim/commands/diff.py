"""``alertsim diff``: BASE rules vs HEAD rules on the same history, for a pull request."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer

from alertsim.cli import console, fail, format_option, print_frame, show_notices
from alertsim.commands.quality import read_incident_file
from alertsim.diff import TOTAL, Diff, cell, diff, parse_fail_on, write_diff
from alertsim.errors import AlertsimError
from alertsim.io.metrics import read_metrics
from alertsim.io.rundir import check_output
from alertsim.tune import parse_budget


def diff_command(
    base: str = typer.Argument(..., help="BASE rules: a file, a directory of rule files, or a git revision "
                               "of either (main:rules/)."),
    head: str = typer.Argument(..., help="HEAD rules, as BASE (HEAD:rules/, or the working copy rules/)."),
    metrics: Path = typer.Option(..., "--metrics", "-m", help="Metrics: CSV/Parquet file, dir or glob, or "
                                 "DuckDB file."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write: diff.md, diff.json, base/ and "
                             "head/ run directories."),
    incidents: Path | None = typer.Option(None, "--incidents", "-i", help="Incidents CSV/Parquet: caught, "
                                          "missed and time to detect."),
    alertmanager: Path | None = typer.Option(None, "--alertmanager", help="alertmanager.yml: count pages "
                                             "after grouping (default: every alert of a paging severity)."),
    fail_on: list[str] = typer.Option([], "--fail-on", help="Exit 1 when the total crosses this: pages+50%, "
                                      "alerts+10, sleep+0, missed>0, ttd_p90+5m (repeatable)."),
    budget: str | None = typer.Option(None, "--budget", help="Pages per week HEAD may reach, e.g. 2/week "
                                      "(the same as --fail-on pages>N)."),
    eval_interval: str = typer.Option("1m", "--eval-interval", help="Rule evaluation interval."),
    start: str | None = typer.Option(None, "--start", help="First instant (ISO-8601)."),
    end: str | None = typer.Option(None, "--end", help="Last instant (ISO-8601; default: last sample)."),
    late: str = typer.Option("0m", "--late", help="A firing this long after an incident ends counts."),
    tz: str = typer.Option("UTC", "--tz", help="Time zone of the sleep hours (22:00-08:00)."),
    repo: Path = typer.Option(Path("."), "--repo", help="Git repository of REV:PATH arguments."),
    output: str = format_option(),
) -> None:
    """Replay BASE and HEAD rules on the same history and compare pages, alerts, incidents caught and
    missed, time to detect and sleep-hour pages per changed rule; exit 1 past --fail-on.

    Examples:

        alertsim diff main:rules/ HEAD:rules/ -m history/metrics.parquet -i history/incidents.csv \\
            --alertmanager alertmanager.yml --fail-on pages+50% --fail-on missed>0 --out review

        alertsim diff rules.yaml rules-tuned.yaml -m metrics.parquet --out review
    """
    try:
        check_output(out)
        thresholds = [parse_fail_on(t) for t in fail_on]
        if budget is not None:
            thresholds.append(parse_fail_on(f"pages>{parse_budget(budget)}"))
        truth = read_incident_file(incidents) if incidents is not None else None
        with console.status("replaying BASE and HEAD"):
            result = diff(read_metrics(metrics), base, head, incidents=truth, alertmanager=alertmanager,
                          eval_interval=eval_interval, start=start, end=end, late=late, tz=tz, repo=repo)
        notices = show_notices(result.notices)
        write_diff(result, out, fail_on=thresholds, manifest={
            "base": base, "head": head, "metrics": str(metrics.resolve()), "notices": notices,
            "incidents": str(incidents.resolve()) if incidents else None,
            "alertmanager": str(alertmanager.resolve()) if alertmanager else None,
            "fail_on": [t.text for t in thresholds], "eval_interval": eval_interval})
        regressions = result.regressions(thresholds)
    except AlertsimError as error:
        fail(error)
        return
    show_diff(result)
    console.print(f"wrote {out}/diff.md, diff.json, base/, head/")
    for line in regressions:
        console.print(f"[bold red]regression:[/] {line}", highlight=False)
    if regressions:
        raise typer.Exit(code=1)


def show_diff(result: Diff) -> None:
    """The changed rules and the total, one ``base → head`` cell per figure."""
    keys = {"pages/week": "pages_per_week", "night pages/week": "sleep_pages_per_week",
            "TTD p90": "ttd_p90"}
    rows = []
    for row in result.table.iter_rows(named=True):
        shown = {"rule": row["rule"], "change": row["change"]}
        shown |= {label: cell(row, key, percent=False) for label, key in keys.items() if f"base_{key}" in row}
        if "newly_missed" in row:
            shown |= {"missed (new)": row["newly_missed"], "caught (new)": row["newly_caught"]}
        rows.append(shown | {"lint": row["findings"]})
    print_frame(pl.DataFrame(rows), title=f"{result.table.height - 1} changed rules, and {TOTAL}")


def register(app: typer.Typer) -> None:
    app.command("diff")(diff_command)
