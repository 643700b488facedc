"""alertsim: what would this alert rule or on-call rotation have done to us?

Replay historical metrics through candidate threshold, anomaly and SLO burn-rate rules with
Prometheus' exact timing, model Alertmanager, score alerts against incidents, measure fatigue,
MTTA/MTTR and fairness, and simulate on-call designs.

The package exports what a notebook needs: the workflow functions and the records they return. Everything
else is in its subpackage (``alertsim.rules``, ``alertsim.quality``, ``alertsim.oncall``, ``alertsim.io``,
...; the README's module map lists them).

>>> import alertsim as al
>>> rule = al.ThresholdRule(name="HighCPU", metric="cpu", op=">", value=90)
>>> rule.kind
'threshold'
"""

# The package imports nothing heavy: ``import alertsim`` (and so ``alertsim --help``) stays fast, and each
# name below is imported from its module on first use (PEP 562). Type checkers see the real imports.
from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alertsim.datasets import Sample, load_sample
    from alertsim.diff import diff
    from alertsim.errors import AlertsimError, ConfigError, InputError
    from alertsim.io.incidents import read_incidents
    from alertsim.io.metrics import read_metrics
    from alertsim.lint import lint
    from alertsim.notify import load_alertmanager_config, notify
    from alertsim.oncall import load_design
    from alertsim.oncall.simulate import simulate
    from alertsim.quality.detection import score
    from alertsim.quality.fatigue import Fatigue, fatigue
    from alertsim.quality.matching import match_alerts
    from alertsim.quality.response import mtta, mttr
    from alertsim.replay import Replay, replay
    from alertsim.rules import ThresholdRule, load_rules, parse_rules
    from alertsim.scale import open_dataset
    from alertsim.tune import Tuning, tune

__version__ = "0.1.0"

# public name → (module, name in that module)
_EXPORTS: dict[str, tuple[str, str]] = {
    # data
    "Sample": ("alertsim.datasets", "Sample"),
    "load_sample": ("alertsim.datasets", "load_sample"),
    "read_incidents": ("alertsim.io.incidents", "read_incidents"),
    "read_metrics": ("alertsim.io.metrics", "read_metrics"),
    "open_dataset": ("alertsim.scale", "open_dataset"),
    # rules
    "ThresholdRule": ("alertsim.rules", "ThresholdRule"),
    "load_rules": ("alertsim.rules", "load_rules"),
    "parse_rules": ("alertsim.rules", "parse_rules"),
    "lint": ("alertsim.lint", "lint"),
    # replay, notifications, quality
    "Replay": ("alertsim.replay", "Replay"),
    "replay": ("alertsim.replay", "replay"),
    "load_alertmanager_config": ("alertsim.notify", "load_alertmanager_config"),
    "notify": ("alertsim.notify", "notify"),
    "score": ("alertsim.quality.detection", "score"),
    "match_alerts": ("alertsim.quality.matching", "match_alerts"),
    "Fatigue": ("alertsim.quality.fatigue", "Fatigue"),
    "fatigue": ("alertsim.quality.fatigue", "fatigue"),
    "mtta": ("alertsim.quality.response", "mtta"),
    "mttr": ("alertsim.quality.response", "mttr"),
    # workflows
    "Tuning": ("alertsim.tune", "Tuning"),
    "tune": ("alertsim.tune", "tune"),
    "diff": ("alertsim.diff", "diff"),
    "load_design": ("alertsim.oncall", "load_design"),
    "simulate": ("alertsim.oncall", "simulate"),
    # errors
    "AlertsimError": ("alertsim.errors", "AlertsimError"),
    "ConfigError": ("alertsim.errors", "ConfigError"),
    "InputError": ("alertsim.errors", "InputError"),
}

# Names the package exported before, and where they live now (the error for one says so).
_ELSEWHERE: dict[str, str] = {
    "format_duration": "alertsim.durations",
    "parse_duration": "alertsim.durations",
    "Problem": "alertsim.errors",
    "series_name": "alertsim.frames",
    "validate": "alertsim.frames",
    "read_cloudwatch_csv": "alertsim.io.cloud_metrics",
    "read_cloudwatch_metric_data": "alertsim.io.cloud_metrics",
    "read_datadog_query": "alertsim.io.cloud_metrics",
    "read_gcp_time_series": "alertsim.io.cloud_metrics",
    "ingest": "alertsim.io.ingest",
    "MetricsRead": "alertsim.io.metrics",
    "load_metrics": "alertsim.io.metrics",
    "read_opsgenie": "alertsim.io.opsgenie",
    "read_pagerduty": "alertsim.io.pagerduty",
    "fetch_prometheus": "alertsim.io.prometheus (as fetch)",
    "export_promtool": "alertsim.io.promtool",
    "promtool_test": "alertsim.io.promtool",
    "read_splunk_oncall": "alertsim.io.splunk_oncall",
    "read_squadcast": "alertsim.io.squadcast",
    "vendor_notifications": "alertsim.notify",
    "fit_responders": "alertsim.oncall",
    "on_call": "alertsim.oncall",
    "shifts": "alertsim.oncall",
    "evaluate_promql": "alertsim.promql (as evaluate)",
    "PromQLRule": "alertsim.rules.prometheus",
    "parse_prometheus_rules": "alertsim.rules.prometheus",
    "missed_incidents": "alertsim.quality.detection",
    "burden": "alertsim.quality.fairness",
    "fairness": "alertsim.quality.fairness",
    "HourBuckets": "alertsim.quality.fatigue",
    "Routing": "alertsim.quality.fatigue",
    "interruptions": "alertsim.quality.fatigue",
    "read_nab_corpus": "alertsim.quality.nab",
    "read_nab_results": "alertsim.quality.nab",
    "run_nab": "alertsim.quality.nab",
    "score_nab": "alertsim.quality.nab",
    "Trend": "alertsim.quality.response",
    "response_times": "alertsim.quality.response",
    "trend_test": "alertsim.quality.response",
    "weekly_trend": "alertsim.quality.response",
    "prepare": "alertsim.series",
    "CloudWatchAlarm": "alertsim.rules.cloudwatch",
    "DatadogMonitor": "alertsim.rules.datadog",
    "GcpPolicy": "alertsim.rules.gcp",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, attr = _EXPORTS[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    if name in _ELSEWHERE:
        raise AttributeError(f"module 'alertsim' has no attribute {name!r}; import it from {_ELSEWHERE[name]}")
    raise AttributeError(f"module 'alertsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


class _Package(types.ModuleType):
    """Importing a submodule binds it on its package; where a function has the submodule's name
    (``replay``, ``notify``, ``tune``, ``lint``), the public function keeps the name."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "AlertsimError",
    "ConfigError",
    "Fatigue",
    "InputError",
    "Replay",
    "Sample",
    "ThresholdRule",
    "Tuning",
    "__version__",
    "diff",
    "fatigue",
    "lint",
    "load_alertmanager_config",
    "load_design",
    "load_rules",
    "load_sample",
    "match_alerts",
    "mtta",
    "mttr",
    "notify",
    "open_dataset",
    "parse_rules",
    "read_incidents",
    "read_metrics",
    "replay",
    "score",
    "simulate",
    "tune",
]
