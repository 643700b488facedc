"""alertsim: what would this alert rule or on-call rotation have done to us?

Replay historical metrics through candidate threshold, anomaly and SLO burn-rate rules with
Prometheus' exact timing, model Alertmanager, score alerts against incidents, measure fatigue,
MTTA/MTTR and fairness, and simulate on-call designs.

>>> import alertsim as al
>>> al.parse_duration("5m")
datetime.timedelta(seconds=300)
"""

from alertsim.datasets import Sample, load_sample
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
from alertsim.notify import load_alertmanager_config, notify
from alertsim.oncall import fit_responders, load_design, on_call, shifts, simulate
from alertsim.promql import evaluate as evaluate_promql
from alertsim.promql.rules import PromQLRule, parse_prometheus_rules
from alertsim.quality.detection import missed_incidents, score
from alertsim.quality.fairness import burden, fairness
from alertsim.quality.fatigue import Fatigue, HourBuckets, Routing, fatigue, interruptions
from alertsim.quality.matching import match_alerts
from alertsim.quality.nab import read_nab_corpus, read_nab_results, run_nab, score_nab
from alertsim.quality.response import Trend, mtta, mttr, response_times, trend_test, weekly_trend
from alertsim.replay import Replay, prepare, replay
from alertsim.rules import load_rules, parse_rules
from alertsim.rules._vendor import vendor_notifications
from alertsim.rules.cloudwatch import CloudWatchAlarm
from alertsim.rules.datadog import DatadogMonitor
from alertsim.rules.gcp import GcpPolicy
from alertsim.scale import open_dataset
from alertsim.tune import Tuning, tune

__version__ = "0.1.0"

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
