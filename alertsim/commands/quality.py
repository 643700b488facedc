"""Quality commands: ``score``, ``fatigue``, ``response``, ``nab score``, ``nab run``, ``nab optimize``,
``import pagerduty``, ``import opsgenie``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import typer

from alertsim.cli import STRICT_HELP, console, fail, format_option, print_frame, show_notices, table_format
from alertsim.commands import add_group, import_incidents
from alertsim.durations import format_duration, parse_instant
from alertsim.errors import AlertsimError, ConfigError, InputError, Notice
from alertsim.frames import INCIDENTS, SHIFTS, Schema, conform
from alertsim.io.incidents import read_incidents
from alertsim.io.opsgenie import read_opsgenie
from alertsim.io.pagerduty import read_pagerduty
from alertsim.io.rundir import MANIFEST, add_frames, check_output, has_frame, read_frame, read_manifest, write_run
from alertsim.io.tables import read_table_file
from alertsim.oncall.design import read_pages
from alertsim.quality.detection import incidents_outside, missed_incidents, score
from alertsim.quality.fairness import burden, fairness
from alertsim.quality.fatigue import Fatigue, Routing, fatigue, pages_from_incidents
from alertsim.quality.nab import (
    PACK,
    cross_validate,
    nab_summary,
    read_nab_corpus,
    read_nab_results,
    run_nab,
    score_detector,
    score_nab,
    score_nab_files,
    scoreboard,
    write_nab_results,
)
from alertsim.quality.response import incidents_from_pages, response_times, trend_test, weekly_trend
from alertsim.rules import load_rules

nab_app = typer.Typer(help="Score detectors and alert rules on the Numenta Anomaly Benchmark.\n\nExamples:\n\n"
                           "alertsim nab score NAB/results/numenta --corpus NAB",
                      no_args_is_help=True)
import_app = typer.Typer(help="Import incident history from on-call tools.\n\nExamples:\n\n"
                              "alertsim import pagerduty incidents.csv --out incidents.parquet\n\n"
                              "alertsim import cloudwatch-metrics get-metric-data.json --out metrics.parquet",
                         no_args_is_help=True)


# --------------------------------------------------------------------------------------------- helpers

def _instant(text: str | None, option: str) -> datetime | None:
    return None if text is None else parse_instant(text, field=option).astimezone(UTC)


def _manifest_period(run_dir: Path) -> tuple[datetime, datetime] | None:
    """The period a run covers, from its manifest (``start``/``end``, or ``start`` + ``days``)."""
    try:
        manifest = read_manifest(run_dir)
    except InputError:
        return None
    start, end, days = manifest.get("start"), manifest.get("end"), manifest.get("days")
    try:
        first = _instant(str(start), "start") if start else None
        last = _instant(str(end), "end") if end else None
    except ConfigError:
        return None
    if first and not last and isinstance(days, int | float):
        last = first + timedelta(days=float(days))
    return (first, last) if first and last and last >= first else None


def _period(start: str | None, end: str | None, fallback: tuple[datetime, datetime] | None
            ) -> tuple[datetime, datetime] | None:
    if start is None and end is None:
        return fallback
    if start is None or end is None:
        raise ConfigError("give both --start and --end, or neither", field="start" if start is None else "end")
    return _instant(start, "start"), _instant(end, "end")  # type: ignore[return-value]


def read_incident_file(path: Path) -> pl.DataFrame:
    """Incidents from a file: a Parquet file as written by ``alertsim import`` (extra columns such as
    ``team`` or ``assignees`` kept), anything else through :func:`alertsim.read_incidents`."""
    if path.is_file() and path.suffix.lower() in (".parquet", ".pq"):
        try:
            frame = pl.read_parquet(path)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise InputError(f"cannot read {path}: {exc}", file=str(path)) from None
        return conform(frame, INCIDENTS, file=str(path))
    return read_incidents(path)


def _timezones(roster: pl.DataFrame | None) -> dict[str, str] | None:
    if roster is None:
        return None
    if not {"responder", "tz"} <= set(roster.columns):
        raise InputError("a roster needs the columns responder and tz", file="roster")
    return {r: z for r, z in roster.select("responder", "tz").iter_rows() if r is not None and z is not None}


def _routes(values: list[str]) -> dict[str, str]:
    routes = {}
    for value in values:
        key, sep, schedule = value.partition("=")
        if not sep or not key.strip() or not schedule.strip():
            raise ConfigError(f"--route {value!r} must be VALUE=SCHEDULE, e.g. checkout=storefront", field="route")
        routes[key.strip()] = schedule.strip()
    return routes


def _holidays(values: list[str]) -> set[date]:
    try:
        return {date.fromisoformat(v) for v in values}
    except ValueError as exc:
        raise ConfigError(f"holidays are dates such as 2026-12-25 ({exc})", field="holiday") from None


def _write(out: Path | None, run_dir: Path | None, frames: dict[str, pl.DataFrame], manifest: dict[str, Any]
           ) -> Path | None:
    """Add ``frames`` to ``run_dir``, or write a new run directory ``out``."""
    if out is not None:
        return write_run(out, frames, manifest=manifest)
    if run_dir is not None:
        return add_frames(run_dir, frames, manifest=manifest)
    return None


def _human(value: timedelta | None) -> str | None:
    """A duration as ``1h2m3s`` (``-5m`` when negative), rounded to the second."""
    if value is None:
        return None
    seconds = round(value.total_seconds())
    text = format_duration(timedelta(seconds=abs(seconds)))
    return f"-{text}" if seconds < 0 else text


def _show(frame: pl.DataFrame, title: str, *, drop: tuple[str, ...] = ()) -> None:
    """Print a frame with durations in Prometheus' grammar (negative ones with a minus sign)."""
    shown = frame.drop([c for c in drop if c in frame.columns])
    durations = [c for c, t in shown.schema.items() if isinstance(t, pl.Duration)]
    if table_format() in ("csv", "json"):  # seconds for a program (print_frame)
        durations = []
    shown = shown.with_columns(pl.col(c).map_elements(_human, return_dtype=pl.String) for c in durations)
    print_frame(shown, title=title)


# --------------------------------------------------------------------------------------------- score

def score_command(
    run_dir: Path = typer.Argument(..., help="Run directory with alerts (from `alertsim replay`)."),
    incidents: Path = typer.Option(..., "--incidents", "-i", help="Incidents CSV/Parquet (the truth)."),
    early: str = typer.Option("0m", "--early", help="A firing this long before an incident starts counts."),
    late: str = typer.Option("0m", "--late", help="A firing this long after an incident ends counts."),
    match_on: list[str] = typer.Option(["service"], "--match-on",
                                       help="Label that must equal the incident column (repeatable); "
                                            "--match-on '' matches on time alone."),
    flap_window: str = typer.Option("1h", "--flap-window", help="Re-fires within this long are flaps."),
    start: str | None = typer.Option(None, "--start", help="Period start for rates (default: the run's)."),
    end: str | None = typer.Option(None, "--end", help="Period end for rates (default: the run's)."),
    strict: bool = typer.Option(False, "--strict", help=STRICT_HELP),
    output: str = format_option(),
) -> None:
    """Score each rule's alerts against INCIDENTS; write quality and missed into RUN_DIR.

    Examples:

        alertsim score runs/sample --incidents data/sample/incidents.csv

        alertsim score runs/sample -i data/sample/incidents.csv --late 30m --format csv
    """
    try:
        alerts = read_frame(run_dir, "alerts")
        truth = read_incident_file(incidents)
        keys = [k for k in match_on if k]
        period = _period(start, end, _manifest_period(run_dir))
        outside = incidents_outside(truth, period)
        notices = show_notices([Notice(code="incidents-outside-window", field="incidents", file=str(incidents),
                                       message=f"{outside.height} of {truth.height} incident(s) fall outside the "
                                               f"replayed window {period[0]} → {period[1]} and are left out of recall"
                                               f": {', '.join(map(str, outside['incident_id'].head(10).to_list()))}"
                                               f"{' ...' if outside.height > 10 else ''}")]
                               if outside.height and period else [], strict=strict)
        if outside.height:
            truth = truth.join(outside.select("incident_id"), on="incident_id", how="anti")
        table = score(alerts, truth, early=early, late=late, match_on=keys, flap_window=flap_window,
                      period=period)
        missed = missed_incidents(alerts, truth, early=early, late=late, match_on=keys)
        _write(None, run_dir, {"quality": table, "missed": missed},
               {"command": "score", "incidents": str(incidents.resolve()), "early": early, "late": late,
                "match_on": keys, "flap_window": flap_window, "notices": notices,
                "period": [p.isoformat() for p in period] if period else None})
    except AlertsimError as error:
        fail(error)
        return
    _show(table, f"Detection quality: {alerts.height} alerts against {truth.height} incidents")
    if missed.height:
        _show(missed.select([c for c in ("incident_id", "service", "started_at", "resolved_at", "severity",
                                         "title") if c in missed.columns]), "Incidents no rule caught")
    console.print(f"wrote {run_dir}/quality.parquet, quality.csv, missed.parquet, missed.csv")


# -------------------------------------------------------------------------------------------- fatigue

def fatigue_command(
    source: Path = typer.Argument(..., help="Run directory with pages (and shifts, roster), or a pages file."),
    from_incidents: bool = typer.Option(False, "--from-incidents", help="SOURCE is an incidents file (e.g. "
                                        "from `alertsim import`): every incident paged its responder once."),
    shifts: Path | None = typer.Option(None, "--shifts", help="Shifts CSV/Parquet (who was on call)."),
    roster: Path | None = typer.Option(None, "--roster", help="Roster CSV/Parquet: responder,tz."),
    incidents: Path | None = typer.Option(None, "--incidents", help="Incidents, to find noisy rules."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write a new run directory here instead of "
                                                               "adding to SOURCE."),
    dedupe: str = typer.Option("60s", "--dedupe", help="Pages this close to an interruption's first join it."),
    default_tz: str = typer.Option("UTC", "--default-tz", help="Zone of responders nobody gave one."),
    urgency: list[str] = typer.Option([], "--urgency", help="Only these urgencies interrupt (repeatable)."),
    holiday: list[str] = typer.Option([], "--holiday", help="A holiday date, YYYY-MM-DD (repeatable)."),
    route: list[str] = typer.Option([], "--route", help="VALUE=SCHEDULE: pages whose team (else service) is "
                                                        "VALUE go to SCHEDULE (repeatable)."),
    early: str = typer.Option("0m", "--early", help="Incident matching allowance before start."),
    late: str = typer.Option("0m", "--late", help="Incident matching allowance after resolution."),
    start: str | None = typer.Option(None, "--start", help="Period start (default: the run's, else the data)."),
    end: str | None = typer.Option(None, "--end", help="Period end."),
    output: str = format_option(),
) -> None:
    """Pages per week/team/shift, interruptions per person (local time), noisy rules, burden and fairness.

    Examples:

        alertsim fatigue data/sample/pages.parquet --shifts data/sample/shifts.parquet \\
            --roster data/sample/roster.parquet --out runs/fatigue

        alertsim fatigue runs/sample --incidents data/sample/incidents.csv --format markdown
    """
    run_dir = source if source.is_dir() and not from_incidents else None
    try:
        if out is not None:
            check_output(out)  # before any work: never replace what alertsim did not write
        pages, shift_frame, roster_frame, truth = _fatigue_inputs(source, run_dir, from_incidents=from_incidents,
                                                                  shifts=shifts, roster=roster, incidents=incidents)
        period = _period(start, end, _manifest_period(source) if run_dir is not None else None)
        zones = _timezones(roster_frame)
        routing = Routing(schedules=_routes(route))
        report = fatigue(pages, shift_frame, incidents=truth, period=period, dedupe=dedupe, timezones=zones,
                         default_tz=default_tz, urgencies=urgency or None, early=early, late=late,
                         routing=routing)
        frames = report.frames()
        if shift_frame is not None:
            people = burden(shift_frame, report.interruptions, holidays=_holidays(holiday), timezones=zones,
                            default_tz=default_tz, period=period)
            frames["burden"], frames["fairness"] = people, fairness(people)
        frames.update(_response_frames(pages))
        written = _write(out, run_dir, frames, {
            "command": "fatigue", "source": str(source.resolve()), "dedupe": dedupe, "default_tz": default_tz,
            "urgencies": urgency or None, "period": [p.isoformat() for p in period] if period else None,
            **({"start": period[0].isoformat(), "end": period[1].isoformat()} if out is not None and period
               else {})})
    except AlertsimError as error:
        fail(error)
        return
    _show_fatigue(report, frames)
    if written is not None:
        console.print(f"wrote {', '.join(sorted(frames))} into {written}")


def _fatigue_inputs(source: Path, run_dir: Path | None, *, from_incidents: bool, shifts: Path | None,
                    roster: Path | None, incidents: Path | None
                    ) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame | None, pl.DataFrame | None]:
    """Pages, shifts, roster and incidents: each from its option's file, else from the run directory."""
    if from_incidents:
        pages = pages_from_incidents(read_incident_file(source))
    else:
        pages = read_frame(source, "pages") if run_dir is not None else read_pages(source)

    def in_run(name: str) -> bool:
        return run_dir is not None and has_frame(source, name)

    shift_frame = (read_table_file(shifts, SHIFTS, name="shifts") if shifts is not None
                   else read_frame(source, "shifts") if in_run("shifts") else None)
    if shift_frame is not None:
        shift_frame = shift_frame.with_columns(pl.col("level").cast(pl.Int32))
    roster_frame = (read_table_file(roster, Schema(name="Roster", required={}), name="roster") if roster is not None
                    else read_frame(source, "roster") if in_run("roster") else None)
    truth = (read_incident_file(incidents) if incidents is not None
             else read_frame(source, "incidents") if in_run("incidents") else None)
    return pages, shift_frame, roster_frame, truth


def _response_frames(pages: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Response times and their weekly trends, when some pages were acknowledged."""
    acked = pages.filter(pl.col("acknowledged_at").is_not_null()) if "acknowledged_at" in pages.columns \
        else pages.head(0)
    if not acked.height:
        return {}
    history = incidents_from_pages(pages)
    return {"response_times": response_times(history), "trend_tta": weekly_trend(history, metric="tta"),
            "trend_ttr": weekly_trend(history, metric="ttr")}


def _show_fatigue(report: Fatigue, frames: dict[str, pl.DataFrame]) -> None:
    _show(report.weekly, "Pages and interruptions per week (UTC weeks)")
    _show(report.teams, "Pages per team")
    _show(report.responders, "Interruptions per person (local time; band: PagerDuty 2/7/19 per month, "
                             "off + sleep hours)")
    if report.shifts is not None:
        busy = report.shifts.filter(~pl.col("sre_ok").fill_null(True))
        console.print(f"SRE book check (≤ 2 pages per 12 h shift): {report.shifts.height - busy.height} of "
                      f"{report.shifts.height} shifts pass")
        if busy.height:
            _show(busy.select("schedule", "level", "responder", "start_at", "end_at", "pages", "pages_per_12h"),
                  "Shifts over the SRE limit")
    _show(report.rules, "Noisiest rules")
    if "fairness" in frames:
        _show(frames["fairness"], "Fairness of the on-call burden")
    if "response_times" in frames:
        _show(frames["response_times"], "Response times of the pages (PagerDuty style)")


# ------------------------------------------------------------------------------------------- response

def response_command(
    incidents: Path = typer.Argument(..., help="Incidents CSV/Parquet (e.g. from `alertsim import`)."),
    by: list[str] = typer.Option([], "--by", help="Group by a column, or hour/weekday (repeatable)."),
    style: str = typer.Option("pagerduty", "--style", help="MTTA style: pagerduty or opsgenie."),
    tz: str = typer.Option("UTC", "--tz", help="Zone for --by hour/weekday."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Add response_times and trends to this run "
                                                               "directory (created if missing)."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    output: str = format_option(),
) -> None:
    """MTTA and MTTR (mean, median, p90, p95) with a weekly trend and a trend test.

    Examples:

        alertsim response data/sample/incidents.csv

        alertsim response data/sample/incidents.csv --by service --style opsgenie --format json
    """
    try:
        if style not in ("pagerduty", "opsgenie"):
            raise ConfigError(f"--style {style!r} is not pagerduty or opsgenie", field="style")
        truth = read_incident_file(incidents)
        table = response_times(truth, style=style, by=by or None, tz=tz)  # type: ignore[arg-type]
        trends = {f"trend_{m}": weekly_trend(truth, metric=m, style=style, seed=seed)  # type: ignore[arg-type]
                  for m in ("tta", "ttr")}
        tests = [trend_test(truth, metric=m, style=style) for m in ("tta", "ttr")]  # type: ignore[arg-type]
        if out is not None:
            frames = {"response_times": table, **trends}
            manifest = {"command": "response", "incidents": str(incidents.resolve()), "style": style, "by": by}
            if (out / MANIFEST).exists():
                add_frames(out, frames, manifest=manifest)
            else:
                write_run(out, frames, manifest=manifest)
    except AlertsimError as error:
        fail(error)
        return
    _show(table, f"Response times ({style} MTTA) over {truth.height} incidents")
    for test in tests:
        slope = "n/a" if test.slope_per_week is None else f"{test.slope_per_week.total_seconds() / 60:+.2f} min/week"
        p = "n/a" if test.p_value is None else f"{test.p_value:.3g}"
        console.print(f"trend of {test.statistic} {test.metric.upper()}: {slope} (p = {p}, {test.method}, "
                      f"{test.measured} incidents)")
    if out is not None:
        console.print(f"wrote response_times, trend_tta, trend_ttr into {out}")


# ------------------------------------------------------------------------------------------------ nab

@nab_app.command("score")
def nab_score_command(
    results: Path = typer.Argument(..., help="A detector's results: <folder>/<detector>_<name>.csv files."),
    corpus: Path = typer.Option(..., "--corpus", help="The NAB corpus (data/, labels/, config/)."),
    as_json: bool = typer.Option(False, "--json", help="Print only {profile: normalised score} as JSON."),
    per_file: bool = typer.Option(False, "--per-file", help="Also print each file's raw score."),
) -> None:
    """Score RESULTS exactly as NAB v1.1 does (threshold tuned per profile on the corpus).

    Examples:

        alertsim nab score NAB/results/numenta --corpus NAB

        alertsim nab score NAB/results/numenta --corpus NAB --per-file
    """
    try:
        nab_corpus = read_nab_corpus(corpus)
        scores = read_nab_results(results, nab_corpus)
        table = score_nab(scores, nab_corpus)
    except AlertsimError as error:
        fail(error)
        return
    if as_json:
        typer.echo(json.dumps(nab_summary(table)))
        return
    _show(table, f"NAB v1.1 scores of {results.name} ({len(nab_corpus.files)} files, {nab_corpus.windows} "
                 "windows; 100 = perfect, 0 = never alarm)")
    if per_file:
        thresholds = dict(zip(table["profile"], table["threshold"], strict=True))
        print_frame(score_nab_files(scores, nab_corpus, thresholds=thresholds), title="Per file", limit=200)


@nab_app.command("run")
def nab_run_command(
    corpus: Path = typer.Option(..., "--corpus", help="The NAB corpus (data/, labels/, config/)."),
    rules: Path | None = typer.Option(None, "--rules", "-r",
                                      help="Rule file (alertsim YAML, metric `value`): score the alerts it fires."),
    detector: Path | None = typer.Option(None, "--detector", "-d",
                                         help="Detector pack (alertsim YAML, metric `value`): score every row "
                                              "with the rules' continuous scores, as NAB runs a detector."),
    out: Path | None = typer.Option(None, "--out", "-o", help="With --detector: write a NAB results directory "
                                                                "here (OUT/<pack>/<folder>/<pack>_<name>.csv)."),
    as_json: bool = typer.Option(False, "--json", help="Print only {profile: normalised score} as JSON."),
    eval_interval: str = typer.Option("1m", "--eval-interval", help="Rule evaluation interval."),
    by_rule: bool = typer.Option(False, "--by-rule", help="With --rules: also score each rule on its own."),
) -> None:
    """Replay a rule file (--rules: a detection is the row an alert fires at) or a detector pack (--detector:
    a score per row, threshold optimised per profile as NAB does) over every corpus file and score it.

    Examples:

        alertsim nab run --rules detectors.yaml --corpus NAB

        alertsim nab run --detector detectors.yaml --corpus NAB --out nab-results
    """
    try:
        if (rules is None) == (detector is None):
            raise ConfigError("give exactly one of --rules (alerts) or --detector (scores)", field="rules")
        if out is not None and detector is None:
            raise ConfigError("--out writes the scores of a --detector pack", field="out")
        rule_list = load_rules(rules if rules is not None else detector)  # type: ignore[arg-type]
        nab_corpus = read_nab_corpus(corpus)
        if detector is not None:
            scores = score_detector(rule_list, nab_corpus, eval_interval=eval_interval)[PACK]
            table = score_nab(scores, nab_corpus)
            if out is not None:
                written = write_nab_results(out, detector.stem, scores, nab_corpus)
        else:
            table = run_nab(rule_list, nab_corpus, eval_interval=eval_interval, by_rule=by_rule)
    except AlertsimError as error:
        fail(error)
        return
    if detector is not None:
        if as_json:
            typer.echo(json.dumps(nab_summary(table)))
            return
        _show(table, f"NAB v1.1 scores of the {len(rule_list)}-rule pack {detector.name} (threshold per profile)")
        if out is not None:
            console.print(f"wrote NAB results into {written} (score them with `alertsim nab score {written}`)")
        return
    if as_json:
        typer.echo(json.dumps(nab_summary(table.filter(pl.col("detector") == "all rules"))))
        return
    _show(table, f"NAB v1.1 scores of {len(rule_list)} rules from {rules.name if rules else ''} "
                 "(every firing is a detection)")


@nab_app.command("optimize")
def nab_optimize_command(
    detector: Path = typer.Option(..., "--detector", "-d", help="Detector pack or grid (alertsim YAML, metric "
                                                                "`value`); every rule is also a candidate."),
    corpus: Path = typer.Option(..., "--corpus", help="The NAB corpus (data/, labels/, config/)."),
    as_json: bool = typer.Option(False, "--json", help="Print {candidate: {profile: score}} as JSON."),
    eval_interval: str = typer.Option("1m", "--eval-interval", help="Rule evaluation interval."),
    folds_wanted: bool = typer.Option(False, "--cross-validate",
                                        help="Also choose a candidate and threshold by leave-one-category-out "
                                             "cross-validation over the corpus folders and report its score."),
) -> None:
    """Score every rule of DETECTOR and the whole pack (the maximum of its rules' scores) with NAB's
    per-profile threshold optimisation, in the scoreboard's form.

    Examples:

        alertsim nab optimize --detector detectors.yaml --corpus NAB

        alertsim nab optimize -d detectors.yaml --corpus NAB --cross-validate --json
    """
    try:
        rule_list = list(load_rules(detector))
        nab_corpus = read_nab_corpus(corpus)
        detectors = score_detector(rule_list, nab_corpus, eval_interval=eval_interval, candidates=len(rule_list) > 1)
        board = scoreboard(detectors, nab_corpus)
        folds = cross_validate(detectors, nab_corpus) if folds_wanted else None
    except AlertsimError as error:
        fail(error)
        return
    profiles = list(nab_corpus.profiles)
    if as_json:
        body: dict[str, Any] = {row["detector"]: {p: row[p] for p in profiles} for row in board.iter_rows(named=True)}
        if folds is not None:
            body = {"candidates": body, "cross_validated": dict(zip(folds["profile"], folds["score"], strict=True))}
        typer.echo(json.dumps(body))
        return
    shown = board.select("detector", *[pl.col(p).round(1) for p in profiles],
                         *[pl.col(f"threshold_{p}").round(4) for p in profiles])
    print_frame(shown.sort("standard", descending=True),
                title=f"NAB v1.1 scoreboard of {detector.name} ({len(rule_list)} rules; '{PACK}' is their maximum)",
                limit=500)
    if folds is not None:
        print_frame(folds.with_columns(pl.col("score").round(1)),
                    title="Leave-one-category-out cross-validation (candidate and threshold chosen without the "
                          "held-out folder)")


# --------------------------------------------------------------------------------------------- import

@import_app.command("pagerduty")
def import_pagerduty_command(
    file: Path = typer.Argument(..., help="Legacy advanced CSV, Insights incidents CSV, Analytics JSON or REST "
                                          "GET /incidents JSON."),
    out: Path = typer.Option(..., "--out", "-o", help="incidents.parquet or incidents.csv to write."),
    format: str = typer.Option("auto", "--format", help="auto, legacy, insights, analytics or rest."),
    tz: str = typer.Option("UTC", "--tz", help="Zone of timestamps without an offset (account zone)."),
    extras: bool = typer.Option(False, "--extras", help="Keep number, team, escalation_policy, escalations, "
                                                        "auto_resolved, assignees."),
) -> None:
    """Import a PagerDuty incident export as an Incidents file.

    Examples:

        alertsim import pagerduty incidents.csv --out incidents.parquet

        alertsim import pagerduty analytics.json --format analytics --tz Europe/Berlin --extras \\
            -o incidents.parquet
    """
    import_incidents(lambda: read_pagerduty(file, format=format, tz=tz),  # type: ignore[arg-type]
                     file, out, extras=extras)


@import_app.command("opsgenie")
def import_opsgenie_command(
    file: Path = typer.Argument(..., help="Opsgenie alert export (CSV) or list-alerts JSON."),
    out: Path = typer.Option(..., "--out", "-o", help="incidents.parquet or incidents.csv to write."),
    tz: str = typer.Option("UTC", "--tz", help="Zone of timestamps without an offset."),
    elapsed_unit: str = typer.Option("ms", "--elapsed-unit", help="Unit of AckTime/CloseTime: ms or s."),
    extras: bool = typer.Option(False, "--extras", help="Keep the team column."),
) -> None:
    """Import an Opsgenie alert export as an Incidents file.

    Examples:

        alertsim import opsgenie alerts.csv --out incidents.parquet

        alertsim import opsgenie alerts.json --elapsed-unit s --extras -o incidents.parquet
    """
    import_incidents(lambda: read_opsgenie(file, tz=tz, elapsed_unit=elapsed_unit),  # type: ignore[arg-type]
                     file, out, extras=extras)


def register(app: typer.Typer) -> None:
    app.command("score")(score_command)
    app.command("fatigue")(fatigue_command)
    app.command("response")(response_command)
    add_group(app, "nab", nab_app)
    add_group(app, "import", import_app)
