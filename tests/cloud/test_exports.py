"""The cloud rule records and readers are exported from their modules; only ``lint`` is also in ``alertsim``."""

from __future__ import annotations

import importlib

import pytest

import alertsim


@pytest.mark.parametrize(("module", "names"), [
    ("alertsim.rules.cloudwatch", ["CloudWatchAlarm"]),
    ("alertsim.rules.gcp", ["GcpPolicy"]),
    ("alertsim.rules.datadog", ["DatadogMonitor"]),
    ("alertsim.io.splunk_oncall", ["read_splunk_oncall"]),
    ("alertsim.io.squadcast", ["read_squadcast"]),
    ("alertsim.io.cloud_metrics", ["read_cloudwatch_metric_data", "read_cloudwatch_csv", "read_gcp_time_series",
                                   "read_datadog_query"]),
])
def test_public_api_is_exported(module: str, names: list[str]) -> None:
    loaded = importlib.import_module(module)
    assert all(name in loaded.__all__ and hasattr(loaded, name) for name in names)


def test_lint_is_one_import_away() -> None:
    assert "lint" in alertsim.__all__ and callable(alertsim.lint)
