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
from alertsim.io.incidents import read_incidents
from alertsim.io.ingest import ingest
from alertsim.io.metrics import MetricsRead, load_metrics, read_metrics
from alertsim.notify import load_alertmanager_config, notify
from alertsim.replay import Replay, prepare, replay
from alertsim.rules import load_rules
from alertsim.scale import open_dataset
from alertsim.tune import Tuning, tune

__version__ = "0.1.0"

__all__ = [
    "AlertsimError",
    "ConfigError",
    "InputError",
    "MetricsRead",
    "Problem",
    "Replay",
    "Sample",
    "Tuning",
    "__version__",
    "format_duration",
    "ingest",
    "load_alertmanager_config",
    "load_metrics",
    "load_rules",
    "load_sample",
    "notify",
    "open_dataset",
    "parse_duration",
    "prepare",
    "read_incidents",
    "read_metrics",
    "replay",
    "series_name",
    "tune",
    "validate",
]
