"""Cloud Monitoring alerting policies: the documented examples (rolling alignment, the retest window),
missing data, absence, triggers, combiners, and the policy JSON."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from alertsim.errors import ConfigError
from alertsim.replay import replay
from alertsim.rules.gcp import GcpPolicy, parse_gcp
from tests.cloud.helpers import metrics, one, spans


def policy(*conditions: dict[str, Any], combiner: str = "OR", **extra: Any) -> dict[str, Any]:
    return {"displayName": "P", "combiner": combiner, "conditions": list(conditions), **extra}


def threshold(filter: str = 'metric.type="latency"', *, duration: str = "0s", value: float = 2.0,
              aligner: str | None = None, period: str = "60s", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"filter": filter, "comparison": "COMPARISON_GT", "thresholdValue": value,
                            "duration": duration, **extra}
    if aligner:
        body["aggregations"] = [{"alignmentPeriod": period, "perSeriesAligner": aligner}]
    return {"displayName": "c", "conditionThreshold": body}


def run(document: dict[str, Any], frame: Any, **kwargs: Any) -> list[tuple[float, float | None]]:
    return spans(replay(frame, parse_gcp(document), **kwargs).alerts)


def test_the_retest_window_resets_on_a_good_measurement() -> None:
    # Concepts page: "1. For three consecutive minutes, HTTP latency is above two seconds. 2. In the next
    # measurement, latency falls below two seconds, so the condition resets the duration window. 3. For the
    # next five consecutive minutes, HTTP latency is above two seconds, so the policy is triggered."
    values = [1.0, 3, 3, 3, 1, 3, 3, 3, 3, 3, 1, 1]
    assert run(policy(threshold(duration="300s")), one("latency", values)) == [(9.0, 10.0)]
    # duration 0: one violating measurement suffices.
    assert run(policy(threshold()), one("latency", values)) == [(1.0, 4.0), (5.0, 10.0)]


def test_the_alignment_period_slides_with_the_minute() -> None:
    # "when the alignment period is five minutes, at 1:00 PM, the alignment period contains the samples
    # received between 12:55 PM and 1:00 PM. At 1:01 PM, the alignment period slides one minute": a 5-minute
    # ALIGN_MAX holds one high sample for exactly five evaluations.
    values = [1.0] * 3 + [9.0] + [1.0] * 8
    assert run(policy(threshold(aligner="ALIGN_MAX", period="300s")), one("latency", values)) == [(3.0, 8.0)]
    # ALIGN_MEAN over 5 one-minute samples: (4 × 1 + 9) / 5 = 2.6 > 2.
    assert run(policy(threshold(aligner="ALIGN_MEAN", period="300s")), one("latency", values)) == [(3.0, 8.0)]


@pytest.mark.parametrize(("missing", "expected"), [
    # 3 violating minutes, 2 minutes without data, 3 violating minutes; duration 4 minutes.
    ("EVALUATION_MISSING_DATA_INACTIVE", []),               # a gap counts as not violating: resets
    ("EVALUATION_MISSING_DATA_ACTIVE", [(3.0, None)]),      # a gap counts as violating
    ("EVALUATION_MISSING_DATA_NO_OP", [(5.0, None)]),       # a gap neither counts nor resets
])
def test_evaluation_missing_data(missing: str, expected: list[tuple[float, float | None]]) -> None:
    values = [3.0, 3, 3, None, None, 3, 3, 3]
    found = run(policy(threshold(duration="240s", evaluationMissingData=missing)), one("latency", values))
    assert found == expected


def test_auto_close_ends_an_incident_without_data() -> None:
    values: list[float | None] = [3.0, 3, 3] + [None] * 5
    document = policy(threshold(), alertStrategy={"autoClose": "120s"})
    # NO_OP keeps the incident open through the gap until autoClose (2 minutes without data).
    assert run(document, one("latency", values), end="2026-01-05T12:10Z") == [(0.0, 4.0)]


def test_absence_fails_after_the_duration_without_data() -> None:
    values: list[float | None] = [1.0] * 4 + [None] * 6
    document = policy({"displayName": "gone", "conditionAbsent": {"filter": 'metric.type="latency"',
                                                                  "duration": "180s"}})
    # Last sample at minute 3: no sample in (t − 3m, t] from minute 6 on.
    assert run(document, one("latency", values), end="2026-01-05T12:09Z") == [(6.0, None)]


def two_series(a: list[float], b: list[float]) -> Any:
    return metrics({("latency", (("zone", "a"),)): a, ("latency", (("zone", "b"),)): b})


@pytest.mark.parametrize(("trigger", "expected"), [
    ({"count": 1}, [(1.0, 3.0), (2.0, 4.0)]),
    ({"count": 2}, [(2.0, 3.0), (2.0, 3.0)]),                 # both failing only at minute 2
    ({"percent": 50}, [(1.0, 3.0), (2.0, 4.0)]),
    ({"percent": 100}, [(2.0, 3.0), (2.0, 3.0)]),
])
def test_trigger_count_and_percent(trigger: dict[str, float], expected: list[tuple[float, float]]) -> None:
    frame = two_series([1.0, 3, 3, 1, 1], [1.0, 1, 3, 3, 1])
    assert run(policy(threshold(trigger=trigger)), frame) == expected


def test_cross_series_reducer_groups_series() -> None:
    frame = two_series([1.0, 3, 3, 1, 1], [1.0, 1, 1, 3, 1])
    condition = threshold(aggregations=[{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_MEAN",
                                         "crossSeriesReducer": "REDUCE_MEAN"}])
    # Mean of the two zones: 1, 2, 2, 2, 1 — never above 2.
    assert run(policy(condition), frame) == []
    condition["conditionThreshold"]["aggregations"][0]["crossSeriesReducer"] = "REDUCE_MAX"
    result = replay(frame, parse_gcp(policy(condition))).alerts
    assert result["series"].unique().to_list() == ["latency"]
    assert spans(result) == [(1.0, 4.0)]


def test_combiners() -> None:
    frame = metrics({("latency", (("zone", "a"),)): [3.0, 3, 3, 1], ("errors", (("zone", "b"),)): [1.0, 3, 3, 3]})
    lat, err = threshold('metric.type="latency"'), threshold('metric.type="errors"')
    assert sorted(run(policy(lat, err, combiner="OR"), frame)) == [(0.0, 3.0), (1.0, None)]
    # AND: each failing series alerts while both conditions are met.
    assert run(policy(lat, err, combiner="AND"), frame) == [(1.0, 3.0), (1.0, 3.0)]
    # AND_WITH_MATCHING_RESOURCE: never on the same resource (zone a vs zone b).
    assert run(policy(lat, err, combiner="AND_WITH_MATCHING_RESOURCE"), frame) == []


REFERENCE_POLICY = {
    "displayName": "Cloud Run p99 latency",
    "combiner": "OR",
    "severity": "ERROR",
    "conditions": [{
        "displayName": "p99 > 10s for 5m",
        "conditionThreshold": {
            "filter": 'resource.type="cloud_run_revision" AND metric.type="run.googleapis.com/request_latencies"',
            "aggregations": [{"alignmentPeriod": "300s", "perSeriesAligner": "ALIGN_PERCENTILE_99",
                              "crossSeriesReducer": "REDUCE_PERCENTILE_99",
                              "groupByFields": ["resource.label.service_name"]}],
            "comparison": "COMPARISON_GT", "thresholdValue": 10000, "duration": "300s",
            "trigger": {"count": 1},
            "evaluationMissingData": "EVALUATION_MISSING_DATA_INACTIVE",
        },
    }],
    "alertStrategy": {"autoClose": "1800s", "notificationPrompts": ["OPENED", "CLOSED"],
                      "notificationChannelStrategy": [{
                          "notificationChannelNames": ["projects/p/notificationChannels/1"],
                          "renotifyInterval": "1800s"}]},
    "notificationChannels": ["projects/p/notificationChannels/1"],
    "documentation": {"content": "runbook: https://runbooks.example/run", "mimeType": "text/markdown",
                      "subject": "slow"},
}


def test_the_reference_policy_parses() -> None:
    (parsed,) = parse_gcp(REFERENCE_POLICY)
    assert isinstance(parsed, GcpPolicy)
    (cond,) = parsed.policy_conditions
    assert (cond.metric, dict(cond.optional_matchers), cond.duration, cond.trigger_count) == (
        "run.googleapis.com/request_latencies", {"resource_type": "cloud_run_revision"}, timedelta(minutes=5), 1)
    assert cond.aggregation is not None and cond.aggregation.group_by_fields == ("service_name",)
    assert (parsed.severity, parsed.auto_close) == ("page", timedelta(minutes=30))
    assert parsed.annotations["documentation"].startswith("runbook")


def test_snake_case_and_list_responses() -> None:
    snake = {"display_name": "P", "combiner": "OR", "conditions": [{"display_name": "c", "condition_threshold": {
        "filter": 'metric.type="x"', "comparison": "COMPARISON_LT", "threshold_value": 1}}]}
    assert [p.name for p in parse_gcp({"alertPolicies": [snake]})] == ["P"]


def test_promql_conditions_go_through_the_prometheus_path() -> None:
    document = policy({"displayName": "errors", "conditionPrometheusQueryLanguage": {
        "query": "rate(errors_total[5m]) > 1", "duration": "300s", "evaluationInterval": "60s"}}, severity="CRITICAL")
    (rule,) = parse_gcp(document)
    assert (rule.kind, rule.for_, rule.labels["severity"]) == ("promql", timedelta(minutes=5), "page")


@pytest.mark.parametrize(("condition", "message"), [
    ({"conditionThreshold": {**threshold()["conditionThreshold"], "forecastOptions": {"forecastHorizon": "3600s"}}},
     "forecast conditions are not replayed"),
    ({"conditionMonitoringQueryLanguage": {"query": "fetch x"}}, "MQL conditions are not replayed"),
    ({"conditionSql": {"query": "select 1"}}, "SQL conditions are not replayed"),
    ({"conditionThreshold": {**threshold()["conditionThreshold"], "filter": 'metric.type=starts_with("x")'}},
     "not supported"),
    ({"conditionThreshold": {**threshold()["conditionThreshold"], "duration": "90s"}}, "whole number of minutes"),
    ({"conditionAbsent": {"filter": 'metric.type="x"', "duration": "60s"}}, "at least 120s"),
    ({"conditionThreshold": {**threshold()["conditionThreshold"], "comparison": "BIGGER"}}, "comparison"),
    ({"conditionThreshold": {**threshold()["conditionThreshold"], "colour": 1}}, "unknown key"),
])
def test_unsupported_or_bad_conditions_are_config_errors(condition: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_gcp(policy({"displayName": "c", **condition}), file="policy.json")
    assert info.value.file == "policy.json" and info.value.rule == "P"
