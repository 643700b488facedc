"""alertsim: what would this alert rule or on-call rotation have done to us?

Replay historical metrics through candidate threshold, anomaly and SLO burn-rate rules with
Prometheus' exact timing, model Alertmanager, score alerts against incidents, measure fatigue,
MTTA/MTTR and fairness, and simulate on-call designs.

>>> import alertsim as al
>>> al.parse_duration("5m")
datetime.timedelta(seconds=300)
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
    from alertsim.durations import format_duration, parse_duration
    from alertsim.errors import AlertsimError, ConfigError, InputError, Problem
    from alertsim.frames import series_name, validate
    from alertsim.io.cloud_metrics import (
        read_cloudwatch_csv,
        read_cloudwatch_metric_data,
        read_datadog_query,
        read_gcp_time_series,
    )
    from alertsim.io.incidents import read_incidents
    from alertsim.io.ingest import ingest
    from alertsim.io.metrics import MetricsRead, load_metrics, read_metrics
    from alertsim.io.opsgenie import read_opsgenie
    from alertsim.io.pagerduty import read_pagerduty
    from alertsim.io.prometheus import fetch as fetch_prometheus
    from alertsim.io.promtool import export_promtool, promtool_test
    from alertsim.io.splunk_oncall import read_splunk_oncall
    from alertsim.io.squadcast import read_squadcast
    from alertsim.lint import lint
    from alertsim.notify import load_alertmanager_config, notify, vendor_notifications
    from alertsim.oncall import fit_responders, load_design, on_call, shifts
    from alertsim.oncall.simulate import simulate
    from alertsim.promql import evaluate as evaluate_promql
    from alertsim.quality.detection import missed_incidents, score
    from alertsim.quality.fairness import burden, fairness
    from alertsim.quality.fatigue import Fatigue, HourBuckets, Routing, fatigue, interruptions
    from alertsim.quality.matching import match_alerts
    from alertsim.quality.nab import read_nab_corpus, read_nab_results, run_nab, score_nab
    from alertsim.quality.response import Trend, mtta, mttr, response_times, trend_test, weekly_trend
    from alertsim.replay import Replay, replay
    from alertsim.rules import load_rules, parse_rules
    from alertsim.rules.cloudwatch import CloudWatchAlarm
    from alertsim.rules.datadog import DatadogMonitor
    from alertsim.rules.gcp import GcpPolicy
    from alertsim.rules.prometheus import PromQLRule, parse_prometheus_rules
    from alertsim.scale import open_dataset
    from alertsim.series import prepare
    from alertsim.tune import Tuning, tune

__version__ = "0.1.0"

# public name → (module, name in that module)
_EXPORTS: dict[str, tuple[str, str]] = {
    "Sample": ("alertsim.datasets", "Sample"),
    "load_sample": ("alertsim.datasets", "load_sample"),
    "diff": ("alertsim.diff", "diff"),
    "format_duration": ("alertsim.durations", "format_duration"),
    "parse_duration": ("alertsim.durations", "parse_duration"),
    "AlertsimError": ("alertsim.errors", "AlertsimError"),
    "ConfigError": ("alertsim.errors", "ConfigError"),
    "InputError": ("alertsim.errors", "InputError"),
    "Problem": ("alertsim.errors", "Problem"),
    "series_name": ("alertsim.frames", "series_name"),
    "validate": ("alertsim.frames", "validate"),
    "read_cloudwatch_csv": ("alertsim.io.cloud_metrics", "read_cloudwatch_csv"),
    "read_cloudwatch_metric_data": ("alertsim.io.cloud_metrics", "read_cloudwatch_metric_data"),
    "read_datadog_query": ("alertsim.io.cloud_metrics", "read_datadog_query"),
    "read_gcp_time_series": ("alertsim.io.cloud_metrics", "read_gcp_time_series"),
    "read_incidents": ("alertsim.io.incidents", "read_incidents"),
    "ingest": ("alertsim.io.ingest", "ingest"),
    "MetricsRead": ("alertsim.io.metrics", "MetricsRead"),
    "load_metrics": ("alertsim.io.metrics", "load_metrics"),
    "read_metrics": ("alertsim.io.metrics", "read_metrics"),
    "read_opsgenie": ("alertsim.io.opsgenie", "read_opsgenie"),
    "read_pagerduty": ("alertsim.io.pagerduty", "read_pagerduty"),
    "fetch_prometheus": ("alertsim.io.prometheus", "fetch"),
    "export_promtool": ("alertsim.io.promtool", "export_promtool"),
    "promtool_test": ("alertsim.io.promtool", "promtool_test"),
    "read_splunk_oncall": ("alertsim.io.splunk_oncall", "read_splunk_oncall"),
    "read_squadcast": ("alertsim.io.squadcast", "read_squadcast"),
    "lint": ("alertsim.lint", "lint"),
    "load_alertmanager_config": ("alertsim.notify", "load_alertmanager_config"),
    "notify": ("alertsim.notify", "notify"),
    "fit_responders": ("alertsim.oncall", "fit_responders"),
    "load_design": ("alertsim.oncall", "load_design"),
    "on_call": ("alertsim.oncall", "on_call"),
    "shifts": ("alertsim.oncall", "shifts"),
    "simulate": ("alertsim.oncall", "simulate"),
    "evaluate_promql": ("alertsim.promql", "evaluate"),
    "PromQLRule": ("alertsim.rules.prometheus", "PromQLRule"),
    "parse_prometheus_rules": ("alertsim.rules.prometheus", "parse_prometheus_rules"),
    "missed_incidents": ("alertsim.quality.detection", "missed_incidents"),
    "score": ("alertsim.quality.detection", "score"),
    "burden": ("alertsim.quality.fairness", "burden"),
    "fairness": ("alertsim.quality.fairness", "fairness"),
    "Fatigue": ("alertsim.quality.fatigue", "Fatigue"),
    "HourBuckets": ("alertsim.quality.fatigue", "HourBuckets"),
    "Routing": ("alertsim.quality.fatigue", "Routing"),
    "fatigue": ("alertsim.quality.fatigue", "fatigue"),
    "interruptions": ("alertsim.quality.fatigue", "interruptions"),
    "match_alerts": ("alertsim.quality.matching", "match_alerts"),
    "read_nab_corpus": ("alertsim.quality.nab", "read_nab_corpus"),
    "read_nab_results": ("alertsim.quality.nab", "read_nab_results"),
    "run_nab": ("alertsim.quality.nab", "run_nab"),
    "score_nab": ("alertsim.quality.nab", "score_nab"),
    "Trend": ("alertsim.quality.response", "Trend"),
    "mtta": ("alertsim.quality.response", "mtta"),
    "mttr": ("alertsim.quality.response", "mttr"),
    "response_times": ("alertsim.quality.response", "response_times"),
    "trend_test": ("alertsim.quality.response", "trend_test"),
    "weekly_trend": ("alertsim.quality.response", "weekly_trend"),
    "Replay": ("alertsim.replay", "Replay"),
    "prepare": ("alertsim.series", "prepare"),
    "replay": ("alertsim.replay", "replay"),
    "load_rules": ("alertsim.rules", "load_rules"),
    "parse_rules": ("alertsim.rules", "parse_rules"),
    "vendor_notifications": ("alertsim.notify", "vendor_notifications"),
    "CloudWatchAlarm": ("alertsim.rules.cloudwatch", "CloudWatchAlarm"),
    "DatadogMonitor": ("alertsim.rules.datadog", "DatadogMonitor"),
    "GcpPolicy": ("alertsim.rules.gcp", "GcpPolicy"),
    "open_dataset": ("alertsim.scale", "open_dataset"),
    "Tuning": ("alertsim.tune", "Tuning"),
    "tune": ("alertsim.tune", "tune"),
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, attr = _EXPORTS[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
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
    "CloudWatchAlarm",
    "ConfigError",
    "DatadogMonitor",
    "Fatigue",
    "GcpPolicy",
    "HourBuckets",
    "InputError",
    "MetricsRead",
    "Problem",
    "PromQLRule",
    "Replay",
    "Routing",
    "Sample",
    "Trend",
    "Tuning",
    "__version__",
    "burden",
    "diff",
    "evaluate_promql",
    "export_promtool",
    "fairness",
    "fatigue",
    "fetch_prometheus",
    "fit_responders",
    "format_duration",
    "ingest",
    "interruptions",
    "lint",
    "load_alertmanager_config",
    "load_design",
    "load_metrics",
    "load_rules",
    "load_sample",
    "match_alerts",
    "missed_incidents",
    "mtta",
    "mttr",
    "notify",
    "on_call",
    "open_dataset",
    "parse_duration",
    "parse_prometheus_rules",
    "parse_rules",
    "prepare",
    "promtool_test",
    "read_cloudwatch_csv",
    "read_cloudwatch_metric_data",
    "read_datadog_query",
    "read_gcp_time_series",
    "read_incidents",
    "read_metrics",
    "read_nab_corpus",
    "read_nab_results",
    "read_opsgenie",
    "read_pagerduty",
    "read_splunk_oncall",
    "read_squadcast",
    "replay",
    "response_times",
    "run_nab",
    "score",
    "score_nab",
    "series_name",
    "shifts",
    "simulate",
    "trend_test",
    "tune",
    "validate",
    "vendor_notifications",
    "weekly_trend",
]
