"""Lint alert rules (any dialect alertsim reads) and Alertmanager routes for the best practices SRE
guidance calls out, before anyone is paged by them.

========================  =======  ==============================================================
check                     level    what it flags
========================  =======  ==============================================================
``invalid``               error    a file alertsim cannot load (the ``ConfigError``)
``burn-rate-never-fires`` error    a burn-rate tier whose factor exceeds ``1/(1 − objective)``: even a
                                   100% error ratio burns slower, so the tier can never fire
``duplicate-rule``        error    two rules with the same condition (or the same name)
``info-pages``            error    an ``info`` alert routed to a receiver that pages (PagerDuty, Opsgenie,
                                   VictorOps), or a route that pages on ``severity="info"``; a Datadog
                                   monitor of priority 4–5 whose message pages (``@pagerduty``, ...)
``no-runbook``            warning  a paging or ticketing alert without a runbook or dashboard link
                                   (an annotation named runbook/playbook/dashboard, or any URL in one)
``no-severity``           warning  no severity given (native ``severity``/``labels.severity``, a
                                   Prometheus rule's ``severity`` label, a GCP policy's ``severity``, a
                                   Datadog monitor's ``priority``; CloudWatch has none to give, and
                                   burn-rate tiers carry their own)
``page-on-one-sample``    warning  a page-severity rule that fires on a single evaluation of a gauge
                                   (``for: 0`` with no smoothing; one 1-minute CloudWatch datapoint;
                                   a GCP ``duration`` of 0; a Datadog ``max``/``min`` "at least once"
                                   window or a 1-minute window)
``overlapping-rules``     warning  two paging rules of one file on the same series in the same
                                   direction, or two burn-rate rules on the same SLO: one incident, two
                                   pages
``unsupported-rule``      warning  a rule alertsim cannot replay (a construct outside its subset); the
                                   file's other rules are still linted
``range-with-for``        warning  a ``range`` rule with ``for``: the instant after a new high the window
                                   holds it, so the rule almost never stays out of range long enough
========================  =======  ==============================================================

A rule that cannot be loaded does not end the file's lint: it is reported (``invalid``, with its line)
and the file's other rules are loaded and checked without it, so one run lists every bad rule.

A lint run returns a Findings frame (``file``, ``line``, ``rule``, ``check``, ``level``, ``message``;
``line`` is 1-based where known); the CLI prints it as a table or JSON and exits non-zero when there is
an error.

>>> from alertsim.rules import parse_rules
>>> rules = parse_rules({"rules": [{"name": "HighCPU", "metric": "cpu", "value": 90, "severity": "page"}]})
>>> lint_rules(rules).select("check", "level").rows()
[('no-runbook', 'warning'), ('page-on-one-sample', 'warning')]
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

import polars as pl
import yaml

from alertsim._yaml import load_yaml_documents
from alertsim.errors import AlertsimError
from alertsim.frames import Schema, validate
from alertsim.notify import load_alertmanager_config
from alertsim.rules import RuleBase, gcp, load_rules
from alertsim.rules.formats import DIALECTS, rule_files

log = logging.getLogger(__name__)

Level = Literal["error", "warning"]

CHECKS: dict[str, Level] = {
    "invalid": "error", "burn-rate-never-fires": "error", "duplicate-rule": "error", "info-pages": "error",
    "no-runbook": "warning", "no-severity": "warning", "page-on-one-sample": "warning",
    "overlapping-rules": "warning", "unsupported-rule": "warning", "range-with-for": "warning",
}
FINDINGS = Schema(
    name="Findings",
    required={"file": pl.String(), "line": pl.Int64(), "rule": pl.String(), "check": pl.String(),
              "level": pl.String(), "message": pl.String()},
    nullable=frozenset({"file", "line", "rule"}),
)
PAGING_SEVERITIES = frozenset({"page", "critical", "high", "error", "emergency", "p1", "p2", "sev1", "sev2"})
LINK_KEYS = re.compile(r"runbook|playbook|dashboard|grafana|wiki|docs?$|documentation", re.IGNORECASE)
URL = re.compile(r"https?://", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One lint finding."""

    check: str
    message: str
    rule: str | None = None
    file: str | None = None
    line: int | None = None

    @property
    def level(self) -> Level:
        return CHECKS[self.check]


def _frame(found: Iterable[Finding]) -> pl.DataFrame:
    rows = [{"file": f.file, "line": f.line, "rule": f.rule, "check": f.check, "level": f.level,
             "message": f.message} for f in found]
    frame = pl.DataFrame(rows, schema=dict(FINDINGS.required))
    order = {"error": 0, "warning": 1}
    if frame.height:
        frame = frame.with_columns(pl.col("level").replace_strict(order, return_dtype=pl.Int8).alias("_o")).sort(
            "_o", "file", "line", "rule", "check", nulls_last=True, maintain_order=True).drop("_o")
    return validate(frame, FINDINGS)


# --------------------------------------------------------------------------------------------------
# Rule checks.

def _family(rule: RuleBase) -> str:
    """One finding per rule family: grid candidates share their base name."""
    return rule.alertname


def _is_paging(severity: str | None) -> bool:
    return (severity or "").lower() in PAGING_SEVERITIES


def _has_link(annotations: Mapping[str, str]) -> bool:
    return any((LINK_KEYS.search(k) and v.strip()) or URL.search(v) for k, v in annotations.items())


def _identity(rule: RuleBase) -> Any:
    """Everything that decides when a rule fires (not its name, annotations or grid origin)."""
    skip = {"name", "base_name", "annotations", "program", "order", "line", "group"}
    values = []
    for f in fields(rule):  # type: ignore[arg-type]
        if f.name in skip:
            continue
        value = getattr(rule, f.name)
        if f.name == "expr":
            value = re.sub(r"\s+", "", str(value))
        values.append((f.name, repr(value)))
    return tuple(values)


def lint_rules(rules: Sequence[RuleBase], *, file: str | None = None,
               explicit_severity: Mapping[str, bool] | None = None) -> pl.DataFrame:
    """Lint a list of rules (from one file or several; ``file`` names them in the findings).

    Parameters
    ----------
    rules
        Rule records from :func:`alertsim.load_rules` (any dialect).
    file
        Where they came from, for the ``file`` column; default None.
    explicit_severity
        ``{alert name: bool}``: whether the source gave a severity (native rules default to ``page``
        silently, so only the source can tell); default: judged from the records.
    """
    return _frame(_rule_findings([(file, r) for r in rules], explicit_severity or {}))


def _rule_findings(items: Sequence[tuple[str | None, RuleBase]], explicit: Mapping[str, bool]) -> list[Finding]:
    found: list[Finding] = []
    families: dict[tuple[str | None, str], list[RuleBase]] = {}
    for file, rule in items:
        families.setdefault((file, _family(rule)), []).append(rule)
    for (file, family), members in families.items():
        rule = members[0]
        for member in members:
            found += [Finding(check=check, rule=member.name, file=file, message=message)
                      for check, message in member.findings()]
        severity = rule.severity
        if not rule.severity_given(explicit.get(rule.alertname)):
            found.append(Finding(check="no-severity", rule=family, file=file, message=(
                f"no severity: say whether it pages, opens a ticket or is info ({rule.severity_field})"
                + (f"; alertsim assumes {severity!r}" if severity else ""))))
        if (severity or "").lower() != "info" and not _has_link(rule.annotations):
            found.append(Finding(check="no-runbook", rule=family, file=file, message=(
                "no runbook or dashboard link: add a runbook/dashboard annotation (or a URL in the description) "
                "so whoever is paged knows what to do")))
        offenders = [(m, why) for m in members if _is_paging(m.severity) and (why := m.single_sample())]
        if offenders:
            why = offenders[0][1]
            if len(members) > 1:
                why += f" ({len(offenders)} of {len(members)} candidates, e.g. {offenders[0][0].name})"
            found.append(Finding(check="page-on-one-sample", rule=family, file=file, message=why))
    found += _pairs(items)
    return found


def _pairs(items: Sequence[tuple[str | None, RuleBase]]) -> list[Finding]:
    found: list[Finding] = []
    names: dict[str, str | None] = {}
    identities: dict[Any, tuple[str | None, RuleBase]] = {}
    duplicates: set[int] = set()
    for file, rule in items:
        if rule.name in names:
            found.append(Finding(check="duplicate-rule", rule=rule.name, file=file, message=(
                f"another rule has the same name (in {names[rule.name] or 'the same input'}); replay needs "
                "unique names")))
        names[rule.name] = file
        key = (rule.kind, _identity(rule))
        if key in identities:
            other_file, other = identities[key]
            duplicates.add(id(rule))
            found.append(Finding(check="duplicate-rule", rule=rule.name, file=file, message=(
                f"same condition as {other.name!r}{f' in {other_file}' if other_file != file else ''}: "
                "every alert is sent twice")))
        else:
            identities[key] = (file, rule)
    reported: set[tuple[str, str]] = set()
    paging = [(f, r) for f, r in items if _is_paging(r.severity) and id(r) not in duplicates]
    for i, (file_a, a) in enumerate(paging):
        for file_b, b in paging[i + 1:]:
            # Overlaps are a property of one rule set (file); rules of different systems may well overlap.
            if file_a != file_b or a.alertname == b.alertname or (_family(a), _family(b)) in reported:
                continue
            message = a.overlaps(b)
            if message:
                reported.add((_family(a), _family(b)))
                found.append(Finding(check="overlapping-rules", rule=_family(a), file=file_a, message=message))
    return found


# --------------------------------------------------------------------------------------------------
# Routes.

def lint_routes(config: Any, rules: Sequence[RuleBase] = (), *, file: str | None = None) -> pl.DataFrame:
    """``info-pages`` findings for an :class:`~alertsim.notify.AlertmanagerConfig`: routes that deliver a
    ``severity="info"`` alert (the rules' info alerts, and a bare one) to a paging receiver."""
    return _frame(_route_findings(config, rules, file))


def _route_findings(config: Any, rules: Sequence[RuleBase], file: str | None) -> list[Finding]:
    found: list[Finding] = []
    probes: list[tuple[str | None, dict[str, str]]] = [(None, {"severity": "info"})]
    probes += [(r.name, {**r.labels, "alertname": r.alertname, "severity": "info"}) for r in rules
               if (r.severity or "").lower() == "info"]
    flagged: set[tuple[str | None, str]] = set()
    for rule, labels in probes:
        for route in config.route.match(labels):
            receiver = config.receivers.get(route.receiver)
            if receiver is None or not receiver.pages or (rule, route.receiver) in flagged:
                continue
            flagged.add((rule, route.receiver))
            kinds = sorted({i.kind for i in receiver.integrations})
            where = "an alert with severity=\"info\"" if rule is None else f"info alert {rule!r}"
            found.append(Finding(check="info-pages", rule=rule, file=file or config.file, message=(
                f"{where} is routed to receiver {route.receiver!r} ({', '.join(kinds)}), which pages; route info "
                "to a chat or ticket receiver")))
    return found


# --------------------------------------------------------------------------------------------------
# Files.

def _is_alertmanager(document: Any) -> bool:
    return isinstance(document, Mapping) and "route" in document and "receivers" in document


def _explicit_severity(document: Any, rules: Sequence[RuleBase]) -> dict[str, bool]:
    """Which alerts of a native or GCP document were given a severity in the source."""
    out: dict[str, bool] = {}
    if isinstance(document, Mapping) and isinstance(document.get("rules"), list):
        for spec in document["rules"]:
            if isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
                labels = spec.get("labels")
                out[spec["name"]] = "severity" in spec or (isinstance(labels, Mapping) and "severity" in labels)
    elif gcp.recognises(document):
        policies = document if isinstance(document, list) else document.get(
            "alertPolicies", document.get("alert_policies", [document]))
        for policy in policies if isinstance(policies, list) else []:
            if isinstance(policy, Mapping):
                name = policy.get("displayName", policy.get("display_name"))
                out[str(name)] = policy.get("severity") not in (None, "SEVERITY_UNSPECIFIED")
    return out


def lint(paths: Sequence[str | os.PathLike[str]], *, alertmanager: str | os.PathLike[str] | None = None
         ) -> pl.DataFrame:
    """Lint rule files (or directories of them) of any dialect (native YAML, Prometheus rule files,
    describe-alarms JSON, GCP AlertPolicy, Datadog monitors) and Alertmanager configs (passed among ``paths`` or as
    ``alertmanager``); rules from all files are checked together for duplicates and overlaps.

    Returns
    -------
    polars.DataFrame
        Findings (``file``, ``rule``, ``check``, ``level``, ``message``), errors first.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "slo.yaml"
    >>> _ = path.write_text('''rules:
    ... - {name: Avail, kind: burn_rate, objective: 0.5, bad: {metric: e}, total: {metric: r},
    ...    severity: page, annotations: {runbook: "https://x"}}
    ... ''')
    >>> lint([path]).select("check", "level").rows()[0]
    ('burn-rate-never-fires', 'error')
    """
    found: list[Finding] = []
    items: list[tuple[str | None, RuleBase]] = []
    explicit: dict[str, bool] = {}
    configs: list[tuple[str, Any]] = []
    # A directory stands for every rule file in it.
    files = [f for p in paths for f in (rule_files(p) if Path(p).is_dir() else [p])]
    all_paths = [*files, *([alertmanager] if alertmanager is not None else [])]
    for path in all_paths:
        name = os.fspath(path)
        try:
            document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            found.append(Finding(check="invalid", file=name, message=f"cannot read: {str(exc).splitlines()[0]}"))
            continue
        if _is_alertmanager(document) or (alertmanager is not None and path == alertmanager):
            try:
                configs.append((name, load_alertmanager_config(path)))
            except AlertsimError as exc:
                found.append(Finding(check="invalid", file=name, line=getattr(exc, "line", None),
                                     rule=getattr(exc, "rule", None), message=str(exc)))
            continue
        rules, problems = _load_each(Path(path), name)
        found += problems
        items += [(name, r) for r in rules]
        explicit.update(_explicit_severity(document, rules))
    found += _rule_findings(items, explicit)
    for name, config in configs:
        found += _route_findings(config, [r for _, r in items], name)
    found = _with_lines(found)
    log.info("linted %d rules and %d Alertmanager configs: %d findings", len(items), len(configs), len(found))
    return _frame(found)


#: Keys that name a rule in the rule formats alertsim reads.
_NAME_KEYS = ("alert", "record", "name", "AlarmName", "displayName", "display_name")


def _rule_lines(text: str) -> dict[str, int]:
    """The 1-based line where each named rule of a YAML/JSON text starts (the first, for repeated names)."""
    lines: dict[str, int] = {}
    try:
        nodes = list(yaml.compose_all(text))
    except yaml.YAMLError:
        return lines
    stack: list[Any] = [n for n in nodes if n is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if (isinstance(key, yaml.ScalarNode) and key.value in _NAME_KEYS
                        and isinstance(value, yaml.ScalarNode)):
                    line = node.start_mark.line + 1
                    lines[value.value] = min(line, lines.get(value.value, line))
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return lines


def _drop_rule(node: Any, name: str) -> bool:
    """Remove the first rule named ``name`` from a rule document in place; False when there is none."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, Mapping) and any(item.get(k) == name for k in _NAME_KEYS) and not any(
                    isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v) for v in item.values()):
                del node[i]
                return True
        return any(_drop_rule(item, name) for item in node)
    if isinstance(node, Mapping):
        return any(_drop_rule(value, name) for value in node.values())
    return False


def _with_lines(found: list[Finding]) -> list[Finding]:
    """``found`` with the line of each finding's rule where the finding does not carry one."""
    lines: dict[str, dict[str, int]] = {}
    out = []
    for finding in found:
        if finding.line is None and finding.rule and finding.file:
            if finding.file not in lines:
                try:
                    lines[finding.file] = _rule_lines(Path(finding.file).read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError):
                    lines[finding.file] = {}
            finding = replace(finding, line=lines[finding.file].get(finding.rule))
        out.append(finding)
    return out


def _load_each(path: Path, name: str) -> tuple[list[RuleBase], list[Finding]]:
    """The rules of one file and the findings about loading it.

    A rule that fails to load is reported (``invalid``, at its line) and left out, and the rest of the
    file is loaded again without it, until the rest loads or an error names no rule; rules alertsim
    cannot replay come back as ``unsupported-rule`` findings."""
    found: list[Finding] = []
    lines: dict[str, int] | None = None
    documents: list[Any] | None = None
    while True:
        try:
            if documents is None:
                rules: Sequence[RuleBase] = load_rules(path)
            else:
                text = yaml.safe_dump_all(documents, sort_keys=False)
                dialect = next(d for d in DIALECTS if d.recognises(documents))
                rules = dialect.parse(text, documents, name)
            break
        except AlertsimError as exc:
            rule = getattr(exc, "rule", None)
            if rule is None and documents is not None:  # what is left after the bad rules (often nothing)
                return [], found
            line = getattr(exc, "line", None) if documents is None else None
            if rule is not None and lines is None:
                text = path.read_text(encoding="utf-8")
                lines = _rule_lines(text)
                documents = [d for d in load_yaml_documents(text, file=name) if d is not None]
            line = line or (lines or {}).get(rule or "")
            # the file and line have columns of their own (and a reloaded copy's line would mislead)
            message = re.sub(rf"^{re.escape(name)}(:\d+)?(, |: )", "", str(exc))
            found.append(Finding(check="invalid", file=name, line=line, rule=rule, message=message))
            if rule is None or documents is None or not _drop_rule(documents, rule):
                return [], found
    reloaded = documents is not None
    for n in getattr(rules, "notices", ()):
        line = (lines or {}).get(n.rule or "") if reloaded else n.line
        found.append(Finding(check="unsupported-rule", file=name, rule=n.rule, line=line, message=n.message))
    return list(rules), found


def exit_code(findings: pl.DataFrame, *, strict: bool = False) -> int:
    """1 when there is an error (or, with ``strict``, a warning), else 0."""
    levels = set(findings["level"].to_list())
    return 1 if "error" in levels or (strict and "warning" in levels) else 0


__all__ = ["CHECKS", "FINDINGS", "Finding", "exit_code", "lint", "lint_routes", "lint_rules"]
