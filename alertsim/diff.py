"""Review a rule change before it merges: what the BASE rules and the HEAD rules would each have done
on the same history — alerts and pages per week (after Alertmanager when a config is given),
incidents caught and missed, time to detect, pages in sleep hours and lint findings — per changed
rule and in total.

Rules are matched by name: a rule in both with a different definition is *changed*, one only in HEAD
*added*, one only in BASE *removed*, and a removed/added pair with the same definition under another
name *renamed*. The metrics are prepared once; every distinct rule is replayed once (a rule both sides
share is replayed for BASE and reused for HEAD), and each side's alerts are numbered exactly as a
replay of that side alone numbers them, so each side's figures equal separate ``replay`` + ``notify``
+ ``score`` runs of its rule file.

>>> import alertsim as al
>>> sample = al.load_sample()
>>> rules = al.parse_rules({"rules": [{"name": "HighCPU", "kind": "threshold", "metric": "cpu",
...                                     "op": ">", "value": 80}]})
>>> tuned = al.parse_rules({"rules": [{"name": "HighCPU", "kind": "threshold", "metric": "cpu",
...                                     "op": ">", "value": 80, "for": "10m"}]})
>>> result = diff(sample.metrics, rules, tuned, incidents=sample.incidents)
>>> result.rules.select("rule", "change").rows()
[('HighCPU', 'changed')]
>>> bool(result.total["head_pages"] < result.total["base_pages"])
True
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from alertsim.durations import describe_span, format_duration, parse_duration
from alertsim.errors import ConfigError, InputError, Notice
from alertsim.frames import ALERTS
from alertsim.io.rundir import write_run
from alertsim.lint import PAGING_SEVERITIES, lint_rules
from alertsim.notify import AlertmanagerConfig, load_alertmanager_config, notify
from alertsim.quality.detection import missed_incidents, score
from alertsim.quality.fatigue import HourBuckets
from alertsim.quality.matching import DURATION, duration_quantile, match_alerts
from alertsim.replay import Prepared, prepare, replay
from alertsim.rules import load_rules
from alertsim.rules.base import RuleBase
from alertsim.rules.formats import rule_files

SIDES = ("base", "head")
TOTAL = "(all rules)"
WEEK = timedelta(days=7)
SLEEP_HOURS = HourBuckets()
#: What ``--fail-on`` can name: a column of :attr:`Diff.table` without the side prefix.
FAIL_ON_METRICS = {"pages": "pages_per_week", "alerts": "alerts_per_week", "sleep": "sleep_pages_per_week",
                   "missed": "newly_missed", "caught": "incidents_caught", "ttd_median": "ttd_median",
                   "ttd_p90": "ttd_p90"}


# --------------------------------------------------------------------------------------- rule sources

def load_rule_source(spec: str | os.PathLike[str], *, repo: str | os.PathLike[str] = ".") -> list[RuleBase]:
    """Rules from a file, a directory (every rule file in it) or a git revision of either,
    ``REV:PATH`` (``main:rules/``, ``HEAD~1:alerts.yaml``), read from the repository ``repo``.

    Rule names must be unique across the files; raises ``ConfigError`` otherwise.
    """
    text = os.fspath(spec)
    if not Path(text).exists() and re.match(r"^[^:/\\][^:]*:", text):
        revision, _, inside = text.partition(":")
        with tempfile.TemporaryDirectory(prefix="alertsim-rev-") as directory:
            root = _checkout(revision, inside, Path(repo), Path(directory))
            return _load_files(rule_files(root), shown=lambda p: f"{revision}:{p.relative_to(directory)}")
    return _load_files(rule_files(text), shown=str)


def _checkout(revision: str, inside: str, repo: Path, into: Path) -> Path:
    """``inside`` (a file or directory) as of ``revision``, extracted under ``into`` by ``git archive``."""
    inside = inside.strip("/") or "."
    command = ["git", "-C", str(repo), "archive", "--format=tar", revision, "--", inside]
    try:
        done = subprocess.run(command, capture_output=True, check=False)
    except OSError as exc:
        raise InputError(f"cannot run git to read {revision}:{inside}: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise InputError(f"git cannot read {revision}:{inside} in {repo}: {message[-1] if message else '?'}")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(into, filter="data")
    return into / inside


def _load_files(files: Sequence[Path], *, shown: Any) -> list[RuleBase]:
    rules: list[RuleBase] = []
    where: dict[str, str] = {}
    for file in files:
        try:
            loaded = load_rules(file)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(str(file), shown(file)), field="rules") from None
        for rule in loaded:
            if rule.name in where:
                raise ConfigError(f"rule {rule.name!r} is defined in {where[rule.name]} and in {shown(file)}; "
                                  "rule names must be unique", file=shown(file), field="name")
            where[rule.name] = shown(file)
            rules.append(rule)
    return rules


# ------------------------------------------------------------------------------------------- matching

def _definition(rule: RuleBase) -> RuleBase:
    """The rule without what does not change its alerts' meaning: its name and source position."""
    blank: dict[str, Any] = {"name": "", "base_name": None}
    fields = {f.name for f in dataclasses.fields(rule) if f.init}
    blank |= {name: value for name, value in (("line", None), ("order", 0)) if name in fields}
    return dataclasses.replace(rule, **blank)


def match_rules(base: Sequence[RuleBase], head: Sequence[RuleBase]) -> pl.DataFrame:
    """One row per rule of either side: ``rule`` (the HEAD name, else the BASE name), ``base_rule``,
    ``head_rule`` and ``change`` (unchanged, changed, added, removed, renamed), in HEAD order then
    the removed rules in BASE order.

    >>> from alertsim.rules import ThresholdRule
    >>> cpu = ThresholdRule(name="CPU", metric="cpu", op=">", value=80)
    >>> moved = dataclasses.replace(cpu, name="HostCPU")
    >>> match_rules([cpu], [moved])["change"].to_list()
    ['renamed']
    """
    by_base = {r.name: r for r in base}
    head_names = {r.name for r in head}
    removed = [r for r in base if r.name not in head_names]
    renamed_from: dict[str, str] = {}
    for rule in head:
        if rule.name in by_base:
            continue
        for old in removed:
            if old.name not in renamed_from.values() and _definition(old) == _definition(rule):
                renamed_from[rule.name] = old.name
                break
    rows: list[tuple[str, str | None, str | None, str]] = []
    for rule in head:
        if rule.name in by_base:
            change = "unchanged" if _definition(by_base[rule.name]) == _definition(rule) else "changed"
            rows.append((rule.name, rule.name, rule.name, change))
        elif rule.name in renamed_from:
            rows.append((rule.name, renamed_from[rule.name], rule.name, "renamed"))
        else:
            rows.append((rule.name, None, rule.name, "added"))
    rows += [(r.name, r.name, None, "removed") for r in removed if r.name not in renamed_from.values()]
    return pl.DataFrame(rows, schema={"rule": pl.String, "base_rule": pl.String, "head_rule": pl.String,
                                      "change": pl.String}, orient="row")


# ------------------------------------------------------------------------------------------ the result

@dataclass(frozen=True, kw_only=True)
class Side:
    """What one side's rules did: its alerts, notifications and pages, and (with incidents) its
    quality table as ``score`` computes it."""

    rules: tuple[RuleBase, ...]
    alerts: pl.DataFrame
    pages: pl.DataFrame
    notifications: pl.DataFrame | None
    quality: pl.DataFrame | None
    missed: pl.DataFrame | None
    findings: pl.DataFrame

    def frames(self) -> dict[str, pl.DataFrame]:
        """The frames of this side's run directory."""
        frames = {"alerts": self.alerts, "pages": self.pages, "findings": self.findings}
        for name in ("notifications", "quality", "missed"):
            if getattr(self, name) is not None:
                frames[name] = getattr(self, name)
        return frames


@dataclass(frozen=True, kw_only=True)
class Threshold:
    """A ``--fail-on`` threshold: ``pages+50%`` (HEAD more than 50% above BASE), ``pages+2`` (more than 2
    per week above), ``missed>0`` (HEAD's value above 0)."""

    text: str
    metric: str
    op: str
    value: float
    relative: bool

    def crossed(self, row: Mapping[str, Any]) -> str | None:
        """Why a row of :attr:`Diff.table` crosses this threshold, or None."""
        total = row
        column = FAIL_ON_METRICS[self.metric]
        head, base = _number(total.get(f"head_{column}")), _number(total.get(f"base_{column}"))
        if self.metric == "missed":
            head, base = _number(total.get("newly_missed")), 0.0
        if head is None:
            return None
        if self.op == ">":
            return f"{self.text}: {self.metric} is {_show(head, self.metric)}" if head > self.value else None
        if base is None:
            return None
        if self.relative:
            if base == 0:
                return f"{self.text}: {self.metric} rose from 0 to {_show(head, self.metric)}" if head > 0 else None
            change = (head - base) / base * 100
            crossed = change > self.value
        else:
            change = head - base
            crossed = change > self.value
        return (f"{self.text}: {self.metric} {_show(base, self.metric)} → {_show(head, self.metric)}"
                if crossed else None)


def parse_fail_on(text: str) -> Threshold:
    """A ``--fail-on`` threshold (see :class:`Threshold`); durations for ``ttd_median``/``ttd_p90``.

    >>> parse_fail_on("pages+50%")
    Threshold(text='pages+50%', metric='pages', op='+', value=50.0, relative=True)
    >>> parse_fail_on("ttd_p90+5m").value
    300.0
    """
    match = re.fullmatch(r"\s*([a-z_0-9]+)\s*([+>])\s*([0-9.]+[a-z]*)\s*(%?)\s*", text)
    if not match or match.group(1) not in FAIL_ON_METRICS:
        raise ConfigError(f"--fail-on {text!r} must be METRIC+N%, METRIC+N or METRIC>N with METRIC one of "
                          f"{', '.join(FAIL_ON_METRICS)} (e.g. pages+50%, missed>0, ttd_p90+5m)", field="fail-on")
    metric, op, amount, percent = match.groups()
    try:
        if metric.startswith("ttd") and not percent:
            value = parse_duration(amount).total_seconds()
        else:
            value = float(amount)
    except (ValueError, ConfigError):
        raise ConfigError(f"--fail-on {text!r}: {amount!r} is not a number"
                          f"{' or duration' if metric.startswith('ttd') else ''}", field="fail-on") from None
    return Threshold(text=text.strip(), metric=metric, op=op, value=value, relative=bool(percent))


@dataclass(frozen=True, kw_only=True)
class Diff:
    """BASE and HEAD side by side. ``table`` has one row per rule that is not unchanged, worst
    regression first, and a last row ``(all rules)`` for every rule of each side together."""

    base: Side
    head: Side
    rules: pl.DataFrame
    table: pl.DataFrame
    start: datetime
    end: datetime
    alertmanager: bool
    notices: tuple[Notice, ...] = ()

    @property
    def total(self) -> dict[str, Any]:
        return self.table.filter(pl.col("rule") == TOTAL).row(0, named=True)

    @property
    def weeks(self) -> float:
        return (self.end - self.start) / WEEK

    def regressions(self, fail_on: Sequence[Threshold | str]) -> list[str]:
        """Each threshold a changed rule or the total crosses, with the rule and why."""
        thresholds = [t if isinstance(t, Threshold) else parse_fail_on(t) for t in fail_on]
        found = []
        for row in self.table.iter_rows(named=True):
            for threshold in thresholds:
                why = threshold.crossed(row)
                if why:
                    found.append(f"{'all rules' if row['rule'] == TOTAL else row['rule']}: {why}")
        return found

    def as_dict(self, fail_on: Sequence[Threshold | str] = ()) -> dict[str, Any]:
        """Everything as JSON-ready values (durations in seconds)."""
        def plain(value: Any) -> Any:
            if isinstance(value, timedelta):
                return value.total_seconds()
            if isinstance(value, float) and math.isnan(value):
                return None
            return value

        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "window": describe_span(self.end - self.start),
                "after_alertmanager": self.alertmanager, "incidents": self.base.quality is not None,
                "rules": self.rules.to_dicts(),
                "table": [{k: plain(v) for k, v in row.items()} for row in self.table.iter_rows(named=True)],
                "regressions": self.regressions(fail_on),
                "notices": [n.as_dict() for n in self.notices]}

    def markdown(self, fail_on: Sequence[Threshold | str] = (), *, title: str = "Alert rule review") -> str:
        """A Markdown summary for a pull-request comment: a table (worst regressions first) and
        collapsible details (how it was measured, lint findings, every rule's match)."""
        return _markdown(self, fail_on, title)


# ------------------------------------------------------------------------------------------- the diff

def diff(metrics: pl.DataFrame | Prepared, base: Sequence[RuleBase] | str | os.PathLike[str],
         head: Sequence[RuleBase] | str | os.PathLike[str], *, incidents: pl.DataFrame | None = None,
         alertmanager: AlertmanagerConfig | str | os.PathLike[str] | None = None, eval_interval: str = "1m",
         start: datetime | str | None = None, end: datetime | str | None = None, early: str = "0m",
         late: str = "0m", match_on: Sequence[str] = ("service",), tz: str = "UTC",
         hours: HourBuckets = SLEEP_HOURS, repo: str | os.PathLike[str] = ".") -> Diff:
    """Replay BASE and HEAD rules on the same metrics and compare them (see the module docstring).

    ``base``/``head`` are rule lists or anything :func:`load_rule_source` reads. Pages are what
    ``alertmanager`` pages (as ``alertsim notify``), or without it every alert of a paging severity.
    ``tz`` is the zone whose sleep hours (``hours``) count night pages; ``early``/``late``/``match_on``
    match alerts to ``incidents`` as ``score`` does.
    """
    base_rules = tuple(load_rule_source(base, repo=repo) if isinstance(base, str | os.PathLike) else base)
    head_rules = tuple(load_rule_source(head, repo=repo) if isinstance(head, str | os.PathLike) else head)
    matched = match_rules(base_rules, head_rules)
    prepared = metrics if isinstance(metrics, Prepared) else prepare(metrics)
    base_run = replay(prepared, base_rules, eval_interval=eval_interval, start=start, end=end)
    shared = {r.name for r in base_rules} & {r.name for r in head_rules}
    by_base = {r.name: r for r in base_rules}
    fresh = [r for r in head_rules if not (r.name in shared and by_base[r.name] == r)]
    head_run = replay(prepared, fresh, eval_interval=eval_interval, start=base_run.start, end=base_run.end)
    head_alerts = _assemble(head_rules, {r.name for r in fresh}, head_run.alerts, base_run.alerts)
    config = (load_alertmanager_config(alertmanager) if isinstance(alertmanager, str | os.PathLike)
              else alertmanager)
    window = (base_run.start, base_run.end)
    options = {"incidents": incidents, "config": config, "window": window, "early": early, "late": late,
               "match_on": list(match_on)}
    sides = {"base": _side(base_rules, base_run.alerts, **options),  # type: ignore[arg-type]
             "head": _side(head_rules, head_alerts, **options)}  # type: ignore[arg-type]
    table = _table(matched, sides, incidents, window, tz=tz, hours=hours, early=early, late=late,
                   match_on=list(match_on))
    return Diff(base=sides["base"], head=sides["head"], rules=matched, table=table, start=base_run.start,
                end=base_run.end, alertmanager=config is not None,
                notices=tuple(base_run.notices) + tuple(head_run.notices))


def _assemble(rules: Sequence[RuleBase], fresh: set[str], replayed: pl.DataFrame, shared: pl.DataFrame
              ) -> pl.DataFrame:
    """One side's alerts in its rule order, numbered as a replay of that side alone numbers them."""
    parts = [(replayed if rule.name in fresh else shared).filter(pl.col("rule") == rule.name) for rule in rules]
    alerts = pl.concat(parts) if parts else replayed.clear()
    return alerts.drop("alert_id").with_row_index("alert_id").with_columns(
        pl.col("alert_id").cast(pl.Int64)).select(*ALERTS.columns)


def _side(rules: Sequence[RuleBase], alerts: pl.DataFrame, *, incidents: pl.DataFrame | None,
          config: AlertmanagerConfig | None, window: tuple[datetime, datetime], early: str, late: str,
          match_on: list[str]) -> Side:
    notifications = None
    if config is not None:
        slack = max(r.group_wait + r.group_interval for r in config.routes())
        notified = notify(alerts, config, end=window[1] + slack)
        notifications, pages = notified.notifications, notified.pages
    else:
        pages = (alerts.filter(pl.col("severity").str.to_lowercase().is_in(sorted(PAGING_SEVERITIES)))
                 .select(pl.col("alert_id").cast(pl.String).alias("page_id"), pl.col("fired_at").alias("paged_at"),
                         pl.lit("high").alias("urgency"), "rule", pl.col("alert_id").implode().over("alert_id")
                         .alias("alert_ids")))
    quality = missed = None
    if incidents is not None:
        quality = score(alerts, incidents, early=early, late=late, match_on=match_on, period=window,
                        rules=[r.name for r in rules])
        missed = missed_incidents(alerts, incidents, early=early, late=late, match_on=match_on)
    return Side(rules=tuple(rules), alerts=alerts, pages=pages, notifications=notifications, quality=quality,
                missed=missed, findings=lint_rules(list(rules)))


def _table(matched: pl.DataFrame, sides: Mapping[str, Side], incidents: pl.DataFrame | None,
           window: tuple[datetime, datetime], *, tz: str, hours: HourBuckets, early: str, late: str,
           match_on: list[str]) -> pl.DataFrame:
    weeks = (window[1] - window[0]) / WEEK
    rows: list[dict[str, Any]] = []
    caught: dict[str, dict[str, set[str]]] = {}
    first: dict[str, pl.DataFrame] = {}
    for name, side in sides.items():
        if incidents is not None:
            pairs = match_alerts(side.alerts, incidents.filter(
                (pl.col("started_at") <= window[1]) & (pl.col("resolved_at").is_null()
                                                       | (pl.col("resolved_at") >= window[0]))),
                early=early, late=late, match_on=match_on)
            caught[name] = {r: set(ids) for r, ids in pairs.group_by("rule").agg(pl.col("incident_id").cast(
                pl.String).unique()).iter_rows()}
            caught[name][TOTAL] = set(pairs["incident_id"].cast(pl.String).to_list())
            first[name] = pairs.group_by("incident_id").agg(pl.col("time_to_detect").min())
    for rule, base_rule, head_rule, change in [*matched.filter(pl.col("change") != "unchanged").iter_rows(),
                                               (TOTAL, TOTAL, TOTAL, "")]:
        row: dict[str, Any] = {"rule": rule, "change": change}
        for name, own in (("base", base_rule), ("head", head_rule)):
            row |= _figures(name, sides[name], own, weeks, tz=tz, hours=hours,
                            first=first.get(name) if own == TOTAL else None)
        if incidents is not None:
            before = caught["base"].get(base_rule, set()) if base_rule else set()
            after = caught["head"].get(head_rule, set()) if head_rule else set()
            row |= {"newly_caught": len(after - before), "newly_missed": len(before - after),
                    "newly_missed_ids": ", ".join(sorted(before - after))}
        findings = sides["head" if head_rule else "base"].findings
        mine = findings if rule == TOTAL else findings.filter(pl.col("rule") == (head_rule or base_rule))
        row |= {"findings": mine.height, "lint": "; ".join(f"{level}: {message}" for level, message in
                                                          mine.select("level", "message").iter_rows())}
        rows.append(row)
    table = pl.DataFrame(rows, infer_schema_length=None)
    for column in ("base_ttd_median", "base_ttd_p90", "head_ttd_median", "head_ttd_p90"):
        if column in table.columns:
            table = table.with_columns(pl.col(column).cast(DURATION))
    order = [pl.col("rule") == TOTAL]
    if "newly_missed" in table.columns:
        order.append(-pl.col("newly_missed"))
    order += [-(pl.col("head_pages_per_week") - pl.col("base_pages_per_week")).fill_null(0),
              -(pl.col("head_sleep_pages_per_week") - pl.col("base_sleep_pages_per_week")).fill_null(0)]
    return table.sort(order, maintain_order=True)


def _figures(name: str, side: Side, rule: str | None, weeks: float, *, tz: str, hours: HourBuckets,
             first: pl.DataFrame | None) -> dict[str, Any]:
    keys = ("alerts", "alerts_per_week", "pages", "pages_per_week", "sleep_pages", "sleep_pages_per_week",
            "incidents_caught", "ttd_median", "ttd_p90")
    if rule is None:
        return {f"{name}_{k}": None for k in keys}
    alerts = side.alerts if rule == TOTAL else side.alerts.filter(pl.col("rule") == rule)
    pages = side.pages if rule == TOTAL else side.pages.filter(pl.col("rule") == rule)
    local = pages["paged_at"].dt.convert_time_zone(tz).dt.replace_time_zone(None)
    asleep = int((pl.select(hours.expr(pl.lit(local))).to_series() == "sleep").sum()) if pages.height else 0
    out: dict[str, Any] = {"alerts": alerts.height, "alerts_per_week": _per(alerts.height, weeks),
                           "pages": pages.height, "pages_per_week": _per(pages.height, weeks),
                           "sleep_pages": asleep, "sleep_pages_per_week": _per(asleep, weeks)}
    if side.quality is not None:
        if rule == TOTAL:
            assert first is not None
            stats = first.select(n=pl.len(), m=duration_quantile(pl.col("time_to_detect"), 0.5),
                                 p=duration_quantile(pl.col("time_to_detect"), 0.9)).row(0)
            out |= {"incidents_caught": stats[0], "ttd_median": stats[1], "ttd_p90": stats[2]}
        else:
            quality = side.quality.filter(pl.col("rule") == rule).row(0, named=True)
            out |= {"incidents_caught": quality["incidents_detected"], "ttd_median": quality["time_to_detect_median"],
                    "ttd_p90": quality["time_to_detect_p90"]}
    return {f"{name}_{k}": v for k, v in out.items()}


def _per(count: int, weeks: float) -> float | None:
    return count / weeks if weeks > 0 else None


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


# ------------------------------------------------------------------------------------------- Markdown

def _show(value: Any, metric: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, timedelta) or metric.startswith("ttd"):
        seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
        return format_duration(timedelta(seconds=round(seconds))) if seconds >= 0 else "—"
    if isinstance(value, float):
        if metric in ("missed", "caught", "findings") and value.is_integer():
            return str(int(value))
        return f"{value:.1f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def cell(row: Mapping[str, Any], key: str, *, percent: bool = True) -> str:
    """``base → head (±change)``; ``head`` alone for an added rule, ``base →`` for a removed one."""
    base, head = row.get(f"base_{key}"), row.get(f"head_{key}")
    if base is None and head is None:
        return "—"
    if base is None:
        return _show(head, key)
    if head is None:
        return f"{_show(base, key)} → removed"
    if _show(base, key) == _show(head, key):
        return _show(head, key)
    change = ""
    b, h = _number(base), _number(head)
    if percent and b is not None and h is not None and b > 0 and not key.startswith("ttd"):
        change = f" ({(h - b) / b * 100:+.0f}%)"
    return f"{_show(base, key)} → {_show(head, key)}{change}"


def _escape(text: str) -> str:
    """User text (rule names, messages) inside Markdown: emphasis, code, links, tables and HTML stay inert."""
    return re.sub(r"([\\`*_{}\[\]<|])", r"\\\1", text)


def _markdown(result: Diff, fail_on: Sequence[Threshold | str], title: str) -> str:
    has_incidents = result.base.quality is not None
    pages = "Pages/week" + ("" if result.alertmanager else " ¹")
    columns = ["Rule", "Change", pages, "Alerts/week", "Sleep-hour pages/week"]
    keys = ["pages_per_week", "alerts_per_week", "sleep_pages_per_week"]
    if has_incidents:
        columns += ["Incidents caught", "Newly missed", "Newly caught", "TTD median", "TTD p90"]
    columns.append("Lint")
    lines = [f"### {title}", ""]
    regressions = result.regressions(fail_on)
    changed = result.rules.filter(pl.col("change") != "unchanged").height
    span = describe_span(result.end - result.start)
    lines.append(f"{changed} of {result.rules.height} rules changed; replayed {span} "
                 f"({result.start:%Y-%m-%d %H:%M} → {result.end:%Y-%m-%d %H:%M} UTC). "
                 + ("**Regression:** " + "; ".join(_escape(r) for r in regressions) if regressions
                    else "No threshold crossed." if fail_on else ""))
    lines += ["", "| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in result.table.iter_rows(named=True):
        name = "**all rules**" if row["rule"] == TOTAL else f"`{row['rule']}`"
        cells = [name, row["change"] or ""] + [cell(row, k) for k in keys]
        if has_incidents:
            cells += [cell(row, "incidents_caught"), str(row["newly_missed"]), str(row["newly_caught"]),
                      cell(row, "ttd_median"), cell(row, "ttd_p90")]
        cells.append(str(row["findings"]) if row["findings"] else "")
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += ["", "<details><summary>How this was measured</summary>", ""]
    lines.append(f"- Both rule sets were replayed on the same metrics, evaluated every interval over "
                 f"{describe_span(result.end - result.start)}.")
    lines.append("- Pages are what the Alertmanager configuration would have paged (one per group until it "
                 "resolves)." if result.alertmanager else
                 "- ¹ No Alertmanager configuration was given: a page is an alert whose severity pages "
                 f"({', '.join(sorted(PAGING_SEVERITIES))}).")
    lines.append("- Sleep-hour pages fall between 22:00 and 08:00 UTC.")
    if has_incidents:
        lines.append("- Newly caught/missed: incidents the rule detects in HEAD but not BASE, and the reverse; "
                     "TTD is the time from an incident's start to the first firing alert that detects it.")
    lines += ["", "</details>", ""]
    missed = [r for r in result.table.iter_rows(named=True) if r.get("newly_missed")]
    if missed:
        lines += ["<details><summary>Newly missed incidents</summary>", ""]
        lines += [f"- `{r['rule']}`: {_escape(r['newly_missed_ids'])}" for r in missed if r["rule"] != TOTAL]
        lines += ["", "</details>", ""]
    findings = result.head.findings
    if findings.height:
        lines += [f"<details><summary>Lint findings in HEAD ({findings.height})</summary>", ""]
        lines += [f"- {level} `{rule or '-'}` ({check}): {_escape(message)}"
                  for rule, check, level, message in findings.select("rule", "check", "level", "message").iter_rows()]
        lines += ["", "</details>", ""]
    lines += ["<details><summary>Rules matched by name</summary>", ""]
    lines += [f"- `{rule}`: {change}" + (f" (was `{base}`)" if change == "renamed" else "")
              for rule, base, _, change in result.rules.iter_rows()]
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def write_diff(result: Diff, out: str | os.PathLike[str], *, fail_on: Sequence[Threshold | str] = (),
               manifest: Mapping[str, Any] | None = None) -> Path:
    """Write ``out``: ``diff.md``, ``diff.json``, the table as ``diff.parquet``/``.csv``, and one run
    directory per side (``out/base``, ``out/head``) that ``alertsim report`` and friends read."""
    span = {"start": result.start.isoformat(), "end": result.end.isoformat()}
    with tempfile.TemporaryDirectory(prefix="alertsim-diff-") as directory:
        md, js = Path(directory) / "diff.md", Path(directory) / "diff.json"
        md.write_text(result.markdown(fail_on), encoding="utf-8")
        js.write_text(json.dumps(result.as_dict(fail_on), indent=2, default=str) + "\n", encoding="utf-8")
        out = write_run(out, {"diff": result.table, "rules": result.rules},
                        manifest={"command": "diff", **span, **(manifest or {})},
                        files={"diff.md": md, "diff.json": js})
    for name in SIDES:
        side: Side = getattr(result, name)
        write_run(out / name, side.frames(), manifest={"command": "diff", "side": name, **span})
    return out


__all__ = ["Diff", "Side", "Threshold", "diff", "load_rule_source", "match_rules", "parse_fail_on",
           "rule_files", "write_diff"]
