"""The runnable examples in the cloud modules' docstrings are executed, so they stay true; the public
names are exported."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["alertsim.rules._vendor", "alertsim.rules.cloudwatch", "alertsim.rules.gcp", "alertsim.rules.datadog",
           "alertsim.io.splunk_oncall", "alertsim.io.squadcast", "alertsim.io.cloud_metrics", "alertsim.lint"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_public_api_is_exported() -> None:
    import alertsim

    for name in ("CloudWatchAlarm", "GcpPolicy", "DatadogMonitor", "lint", "read_splunk_oncall", "read_squadcast",
                 "read_cloudwatch_metric_data", "read_cloudwatch_csv", "read_gcp_time_series", "read_datadog_query"):
        assert name in alertsim.__all__ and hasattr(alertsim, name)
