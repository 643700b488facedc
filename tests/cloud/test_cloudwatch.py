"""CloudWatch alarms: AWS's two missing-data tables (40 cells), the documented sliding window, M of N,
the edge-case options, describe-alarms parsing and the native threshold option set.

Table notation (AWS user guide, "Configuring how CloudWatch alarms treat missing data"): the evaluation
range oldest first, ``0`` not breaching, ``X`` breaching, ``-`` missing; N = 3, range 5.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alertsim.errors import ConfigError
from alertsim.replay import replay
from alertsim.rules import load_rules, parse_rules
from alertsim.rules.anomaly import ZScoreRule
from alertsim.rules.cloudwatch import ALARM, BAD, GOOD, MISSING, OK, CloudWatchAlarm, alarm_state, alarm_states
from alertsim.rules.cloudwatch_alarms import parse_cloudwatch
from tests.cloud.helpers import metrics, one, spans

TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")
RETAIN = "retain"

# Table A: DatapointsToAlarm = 3, EvaluationPeriods = 3.
TABLE_A = [
    ("0 - X - X", ("OK", "OK", "OK", "OK")),
    ("0 - - - -", ("OK", "OK", "OK", "OK")),
    ("- - - - -", ("INSUFFICIENT_DATA", RETAIN, "ALARM", "OK")),
    ("0 X X - X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("- - X - -", ("ALARM", RETAIN, "ALARM", "OK")),
]
# Table B: DatapointsToAlarm = 2, EvaluationPeriods = 3 (2 of 3).
TABLE_B = [
    ("0 - X - X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("0 0 X 0 X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("0 - X - -", ("OK", "OK", "ALARM", "OK")),
    ("- - - - 0", ("OK", "OK", "ALARM", "OK")),
    ("- - - X -", ("ALARM", RETAIN, "ALARM", "OK")),
]
CELLS = [pytest.param(m, data, treat, expected, id=f"M{m}:{data.replace(' ', '')}:{treat}")
         for m, table in ((3, TABLE_A), (2, TABLE_B))
         for data, row in table for treat, expected in zip(TREATMENTS, row, strict=True)]


def test_the_tables_have_forty_cells() -> None:
    assert len(CELLS) == 40


@pytest.mark.parametrize(("m", "data", "treat", "expected"), CELLS)
@pytest.mark.parametrize("current", ["OK", "ALARM", "INSUFFICIENT_DATA"])
def test_aws_missing_data_tables(m: int, data: str, treat: str, expected: str, current: str) -> None:
    state = alarm_state(data, evaluation_periods=3, datapoints_to_alarm=m, treat_missing_data=treat,
                        current=current)
    assert state == (current if expected == RETAIN else expected)


@pytest.mark.parametrize("data", ["- - - - X", "- - - X -"])
@pytest.mark.parametrize("treat", ["missing", "ignore"])
def test_a_recent_breach_alone_does_not_alarm_prematurely(data: str, treat: str) -> None:
    # "the alarm does not go immediately into ALARM state when the data is either - - - - X or - - - X -
    # and Datapoints to Alarm is 3"
    assert alarm_state(data, evaluation_periods=3, datapoints_to_alarm=3, treat_missing_data=treat,
                       current="OK") == "OK"
    # The documented alternative reading, as an option: keep the current state.
    assert alarm_state(data, evaluation_periods=3, datapoints_to_alarm=3, treat_missing_data=treat,
                       current="ALARM", premature="retain") == "ALARM"


@pytest.mark.parametrize(("data", "m", "treat", "options", "current", "expected"), [
    # A breach older than the newest N slots still counts by default ("all real data points in the
    # evaluation range are included"), not with stale_breach=ignore.
    ("X - - - -", 1, "missing", {}, "OK", "ALARM"),
    ("X - - - -", 1, "missing", {"stale_breach": "ignore"}, "OK", "OK"),
    # ignore with real data that cannot decide alone: the table says OK; retain is the option.
    ("0 - X - -", 2, "ignore", {}, "ALARM", "OK"),
    ("0 - X - -", 2, "ignore", {"ignore_partial": "retain"}, "ALARM", "ALARM"),
    # Enough real datapoints: only the newest N count, older ones are ignored.
    ("X X 0 0 0", 2, "missing", {}, "ALARM", "OK"),
    ("X X 0 0 0", 2, "breaching", {"stale_breach": "ignore"}, "ALARM", "OK"),
    # Explanatory text: "if the data is still missing it will go to ALARM, as that non-breaching data
    # point will no longer be in the evaluation range" (0 - - - - with breaching, one minute later).
    ("- - - - -", 3, "breaching", {}, "OK", "ALARM"),
])
def test_edge_case_options(data: str, m: int, treat: str, options: dict[str, str], current: str,
                           expected: str) -> None:
    assert alarm_state(data, evaluation_periods=3, datapoints_to_alarm=m, treat_missing_data=treat,
                       current=current, **options) == expected


def test_ignore_keeps_the_state_across_evaluations() -> None:
    # Three evaluations of one series: ALARM, then all missing (ignore: stay), then all good (OK).
    slots = np.array([[[BAD, BAD, BAD], [MISSING] * 3, [GOOD] * 3]], dtype=np.int8)
    states = alarm_states(slots, evaluation_periods=3, treat_missing_data="ignore")
    assert states.tolist() == [[ALARM, ALARM, OK]]


def test_bad_m_of_n_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="DatapointsToAlarm"):
        alarm_state("0 0 0 0 0", evaluation_periods=3, datapoints_to_alarm=4)


# --------------------------------------------------------------------------------------------------
# On metrics: the sliding period window, M of N, missing data.

def alarm(**fields: object) -> CloudWatchAlarm:
    base: dict[str, object] = {"name": "A", "metric": "cpu", "statistic": "Maximum", "period": timedelta(minutes=1),
                               "evaluation_periods": 1, "comparison": "GreaterThanThreshold", "threshold": 50.0}
    return CloudWatchAlarm(**{**base, **fields})  # type: ignore[arg-type]


def test_the_period_window_slides_with_the_evaluation_minute() -> None:
    # User guide: Period 5 minutes, 1 evaluation period: "at the end of minute 5 the alarm evaluates based
    # on data from minutes 1 to 5. Then at the end of minute 6 ... minutes 2 to 6." One breaching sample
    # at minute 7 is in the datapoint [t − 5m, t) of the evaluations at minutes 8 to 12.
    frame = one("cpu", [0.0] * 7 + [100.0] + [0.0] * 12)
    result = replay(frame, [alarm(period=timedelta(minutes=5))])
    assert spans(result.alerts) == [(8.0, 13.0)]


def test_a_wall_clock_window_is_aligned_to_the_period() -> None:
    # Aligned datapoints: [5, 10) is complete at minute 10 and newest until minute 15.
    frame = one("cpu", [0.0] * 7 + [100.0] + [0.0] * 12)
    result = replay(frame, [alarm(period=timedelta(minutes=5), evaluation_window="wall_clock")])
    assert spans(result.alerts) == [(10.0, 15.0)]


@pytest.mark.parametrize(("values", "m", "expected"), [
    # 2 of 3 one-minute datapoints above 50 (they need not be consecutive).
    ([0, 60, 0, 60, 0, 0, 0, 0], 2, [(4.0, 5.0)]),
    ([0, 60, 0, 0, 60, 0, 0, 0], 2, []),
    # 3 of 3 is "3 consecutive".
    ([0, 60, 60, 0, 60, 60, 60, 0, 0], 3, [(7.0, 8.0)]),
])
def test_m_out_of_n(values: list[float], m: int, expected: list[tuple[float, float]]) -> None:
    result = replay(one("cpu", values), [alarm(evaluation_periods=3, datapoints_to_alarm=m)])
    assert spans(result.alerts) == expected


def test_missing_data_treated_as_breaching_alarms_once_the_good_point_leaves_the_range() -> None:
    # One good datapoint, then the metric stops: with breaching, ALARM once the good datapoint has left the
    # 5-slot range (N = 3), i.e. 5 minutes after it.
    frame = one("cpu", [0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    result = replay(frame, [alarm(evaluation_periods=3, treat_missing_data="breaching")], end="2026-01-05T12:15Z")
    assert spans(result.alerts) == [(11.0, None)]


def test_insufficient_data_is_a_null_state_and_ends_an_alarm() -> None:
    frame = one("cpu", [60.0] * 5)
    result = replay(frame, [alarm(treat_missing_data="missing")], end="2026-01-05T12:08Z", evaluations=True)
    # ALARM from minute 1 (the datapoint [0, 1) breaches). After the metric stops at minute 5 the alarm
    # keeps re-evaluating the last real datapoint while it is in the 3-slot range (N + 2, N = 1): "alarms
    # might repeatedly re-evaluate the last set of data points ... after the metric has stopped flowing".
    assert spans(result.alerts) == [(1.0, 8.0)]
    states = result.evaluations.sort("at")["state"].to_list()
    assert states == [None, True, True, True, True, True, True, True, None]


def test_an_alarm_reads_exactly_its_dimension_set() -> None:
    frame = metrics({("latency", (("service", "api"),)): [1.0] * 4,
                     ("latency", (("instance", "api-1"), ("service", "api"))): [1.0] * 4})
    exact = alarm(metric="latency", dimensions={"service": "api"}, threshold=0.5)
    found = replay(frame, [exact]).alerts
    assert found["series"].unique().to_list() == ['latency{service="api"}']
    subset = replay(frame, [replace(exact, exact_dimensions=False)]).alerts
    assert subset["series"].n_unique() == 2


@pytest.mark.parametrize(("treat", "expected"), [("missing", []), ("breaching", [(5.0, None)]), ("ignore", [])])
def test_an_alarm_on_a_metric_without_data_still_has_a_state(treat: str, expected: list[Any]) -> None:
    # Nothing matches the dimensions: every datapoint is missing. Once the 5-slot range (N + 2) no longer
    # reaches back before the first sample of the metrics (minute 5), a breaching alarm goes to ALARM, on a
    # series of its own.
    frame = one("cpu", [0.0] * 10)
    spec = alarm(dimensions={"host": "gone"}, treat_missing_data=treat, evaluation_periods=3)
    result = replay(frame, [spec]).alerts
    assert spans(result) == expected
    assert result["series"].to_list() == ['cpu{host="gone"}'] * len(expected)


def test_low_sample_count_percentile_keeps_the_state() -> None:
    # p99 with EvaluateLowSampleCountPercentile=ignore needs 10/(1−0.99) = 1000 samples per period: with one
    # sample a minute nothing ever changes the initial state.
    frame = one("cpu", [100.0] * 10)
    strict = alarm(statistic="p99", evaluate_low_sample_count_percentile="ignore")
    assert replay(frame, [strict]).alerts.height == 0
    assert replay(frame, [replace(strict, evaluate_low_sample_count_percentile="evaluate")]).alerts.height == 1


def test_an_anomaly_band_alarm_uses_an_alertsim_band_rule() -> None:
    rng = np.random.default_rng(3)
    values = list(50 + rng.normal(0, 1, 240))
    values[200:204] = [80.0] * 4
    band = ZScoreRule(name="band", metric="x", window=timedelta(hours=1))
    spec = alarm(statistic="Average", comparison="GreaterThanUpperThreshold", threshold=None, band=band,
                 band_width=4.0)
    fired = spans(replay(one("cpu", values), [spec]).alerts)
    assert fired and fired[0][0] == 201.0      # the datapoint [200, 201) is the first outside the band


# --------------------------------------------------------------------------------------------------
# describe-alarms JSON.

AWS_CLI_EXAMPLE = {"MetricAlarms": [{
    "EvaluationPeriods": 2,
    "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:myalarm",
    "StateUpdatedTimestamp": "2014-04-09T18:59:06.442Z",
    "AlarmConfigurationUpdatedTimestamp": "2012-12-27T00:49:54.032Z",
    "ComparisonOperator": "GreaterThanThreshold",
    "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:myHighCpuAlarm"],
    "Namespace": "AWS/EC2",
    "AlarmDescription": "CPU usage exceeds 70 percent",
    "StateReasonData": "{\"version\":\"1.0\",\"statistic\":\"Average\",\"period\":300,\"threshold\":70.0}",
    "Period": 300, "StateValue": "OK", "Threshold": 70.0, "AlarmName": "myalarm",
    "Dimensions": [{"Name": "InstanceId", "Value": "i-0c986c72"}],
    "Statistic": "Average",
    "StateReason": "Threshold Crossed: 2 datapoints were not greater than the threshold (70.0).",
    "InsufficientDataActions": [], "OKActions": [], "ActionsEnabled": True,
    "MetricName": "CPUUtilization",
}]}


def test_the_aws_cli_example_parses() -> None:
    (parsed,) = parse_cloudwatch(AWS_CLI_EXAMPLE)
    assert (parsed.name, parsed.metric, dict(parsed.dimensions), parsed.namespace) == (
        "myalarm", "CPUUtilization", {"InstanceId": "i-0c986c72"}, "AWS/EC2")
    assert (parsed.period, parsed.evaluation_periods, parsed.m, parsed.threshold, parsed.statistic) == (
        timedelta(minutes=5), 2, 2, 70.0, "Average")
    # Unset DatapointsToAlarm is N; unset TreatMissingData is missing; an alarm with actions pages.
    assert (parsed.treat_missing_data, parsed.severity, parsed.slots) == ("missing", "page", 4)
    assert parsed.annotations == {"description": "CPU usage exceeds 70 percent"}


def with_alarm(**changes: object) -> dict[str, object]:
    spec = {**AWS_CLI_EXAMPLE["MetricAlarms"][0], **changes}
    return {"MetricAlarms": [{k: v for k, v in spec.items() if v is not None}]}


@pytest.mark.parametrize(("changes", "message"), [
    ({"Colour": "red"}, "unknown key"),
    ({"Period": 45}, "Period must be 10, 20, 30 or a multiple of 60"),
    ({"EvaluationPeriods": 300}, "at most 86400 s"),
    ({"DatapointsToAlarm": 3}, "cannot exceed EvaluationPeriods"),
    ({"ExtendedStatistic": "p99"}, "exactly one of Statistic and ExtendedStatistic"),
    ({"Statistic": "tm90"}, "not supported"),
    ({"TreatMissingData": "sometimes"}, "TreatMissingData"),
    ({"ComparisonOperator": "GreaterThanUpperThreshold"}, "ANOMALY_DETECTION_BAND"),
    ({"ComparisonOperator": "Bigger"}, "ComparisonOperator"),
    ({"EvaluationCriteria": {"PromQLCriteria": {}}}, "Prometheus rule file"),
    ({"EvaluationWindow": {"WallClockWindow": {"Timezone": "Europe/Paris"}}}, "only UTC"),
])
def test_bad_alarms_are_config_errors_naming_the_alarm_and_field(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_cloudwatch(with_alarm(**changes), file="alarms.json")
    assert info.value.file == "alarms.json" and info.value.rule == "myalarm"


def test_composite_alarms_are_refused_clearly() -> None:
    document = {**AWS_CLI_EXAMPLE, "CompositeAlarms": [{"AlarmName": "both", "AlarmRule": "ALARM(myalarm)"}]}
    with pytest.raises(ConfigError, match="composite alarms"):
        parse_cloudwatch(document)


def test_dynamodb_alarms_ignore_missing_data_unless_told() -> None:
    (parsed,) = parse_cloudwatch(with_alarm(Namespace="AWS/DynamoDB"))
    assert parsed.treat_missing_data == "ignore"
    (told,) = parse_cloudwatch(with_alarm(Namespace="AWS/DynamoDB", TreatMissingData="breaching"))
    assert told.treat_missing_data == "breaching"


def test_band_alarm_metrics_and_alertsim_options() -> None:
    spec = with_alarm(Statistic=None, Period=None, MetricName=None, Namespace=None, Dimensions=None, Threshold=None,
                      ComparisonOperator="LessThanLowerOrGreaterThanUpperThreshold", ThresholdMetricId="ad1",
                      Metrics=[{"Id": "m1", "ReturnData": True, "MetricStat": {
                          "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "TargetResponseTime",
                                     "Dimensions": [{"Name": "LoadBalancer", "Value": "app/x/123"}]},
                          "Period": 300, "Stat": "p90"}},
                          {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1, 3)", "ReturnData": True}],
                      Alertsim={"evaluation_range": 6, "band": {"kind": "mad", "window": "3h"}})
    (parsed,) = parse_cloudwatch(spec)
    assert (parsed.metric, parsed.statistic, parsed.band_width, parsed.slots) == ("TargetResponseTime", "p90", 3.0, 6)
    assert parsed.band is not None and parsed.band.kind == "mad"


def test_load_rules_reads_describe_alarms_json(tmp_path: Path) -> None:
    path = tmp_path / "alarms.json"
    path.write_text(json.dumps(AWS_CLI_EXAMPLE))
    assert [r.kind for r in load_rules(path)] == ["cloudwatch"]


# --------------------------------------------------------------------------------------------------
# Native YAML: threshold rules with the CloudWatch option set.

def test_native_threshold_with_cloudwatch_options() -> None:
    (rule,) = parse_rules({"rules": [{"name": "Hot", "metric": "cpu", "op": ">=", "value": 50, "period": "5m",
                                      "statistic": "p99", "evaluation_periods": 3, "datapoints_to_alarm": 2,
                                      "treat_missing_data": "breaching", "matchers": {"service": "api"}}]})
    assert isinstance(rule, CloudWatchAlarm)
    assert (rule.comparison, rule.threshold, rule.period, rule.statistic, rule.m, rule.treat_missing_data) == (
        "GreaterThanOrEqualToThreshold", 50.0, timedelta(minutes=5), "p99", 2, "breaching")
    assert (rule.dimensions, rule.exact_dimensions) == ({"service": "api"}, False)


def test_native_cloudwatch_options_make_a_grid() -> None:
    rules = parse_rules({"rules": [{"name": "Hot", "metric": "cpu", "value": 50, "evaluation_periods": [1, 3]}]})
    assert [(r.name, r.evaluation_periods) for r in rules] == [("Hot[evaluation_periods=1]", 1),
                                                                ("Hot[evaluation_periods=3]", 3)]


@pytest.mark.parametrize(("extra", "message"), [
    ({"for": "5m"}, "does not combine"),
    ({"op": "=="}, ">, >=, < or <="),
    ({"statistic": "Median"}, "not supported"),
    ({"treat_missing_data": "maybe"}, "not allowed"),
])
def test_native_cloudwatch_option_errors(extra: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_rules({"rules": [{"name": "Hot", "metric": "cpu", "value": 50, "period": "5m", **extra}]})
