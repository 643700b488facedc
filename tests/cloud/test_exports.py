"""The public names of the cloud modules are exported from ``alertsim``."""

from __future__ import annotations


def test_public_api_is_exported() -> None:
    import alertsim

    for name in ("CloudWatchAlarm", "GcpPolicy", "DatadogMonitor", "lint", "read_splunk_oncall", "read_squadcast",
                 "read_cloudwatch_metric_data", "read_cloudwatch_csv", "read_gcp_time_series", "read_datadog_query"):
        assert name in alertsim.__all__ and hasattr(alertsim, name)
