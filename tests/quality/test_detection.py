"""Detection quality: matching alerts to incidents and the per-rule table, with hand-computed answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertsim.errors import ConfigError, InputError
from alertsim.frames import ALERTS, INCIDENTS
from alertsim.quality.detection import QUALITY_SCHEMA, flapping_alerts, missed_incidents, score
from alertsim.quality.matching import match_alerts

DAY = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


def at(hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return DAY + timedelta(hours=int(hours), minutes=int(minutes))


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def alerts_frame(rows: list[tuple], budget: bool = False) -> pl.DataFrame:
    """rows: (alert_id, rule, series, service, fired "HH:MM", resolved "HH:MM" | None[, budget])."""
    data = {
        "alert_id": [r[0] for r in rows], "rule": [r[1] for r in rows], "series": [r[2] for r in rows],
        "labels": [json.dumps({"alertname": r[1], "service": r[3]}) for r in rows],
        "severity": ["page"] * len(rows),
        "active_at": [at(r[4]) for r in rows], "fired_at": [at(r[4]) for r in rows],
        "resolved_at": [at(r[5]) if r[5] else None for r in rows],
    }
    if budget:
        data["budget_at_detection"] = [r[6] for r in rows]
    return pl.DataFrame(data, schema={**ALERTS.required, **({"budget_at_detection": pl.Float64} if budget else {})})


def incidents_frame(rows: list[tuple]) -> pl.DataFrame:
    """rows: (incident_id, service, started "HH:MM", resolved "HH:MM" | None)."""
    return pl.DataFrame({
        "incident_id": [r[0] for r in rows], "service": [r[1] for r in rows],
        "started_at": [at(r[2]) for r in rows], "resolved_at": [at(r[3]) if r[3] else None for r in rows],
        "severity": ["SEV2"] * len(rows),
    }, schema=INCIDENTS.required)


INCIDENTS_3 = incidents_frame([
    ("INC-1", "api", "10:00", "11:00"),
    ("INC-2", "api", "14:00", "14:30"),
    ("INC-3", "db", "20:00", None),       # still open
])
ALERTS_API = [
    (1, "ApiErrors", 'errors{pod="a"}', "api", "10:05", "11:10"),  # detects INC-1 after 5m, resets +10m
    (2, "ApiErrors", 'errors{pod="b"}', "api", "10:20", "10:25"),  # also INC-1 (a second pair)
    (3, "ApiErrors", 'errors{pod="a"}', "api", "12:00", "12:05"),  # false; re-fires 50m after alert 1
    (4, "ApiErrors", 'errors{pod="a"}', "api", "14:10", "14:20"),  # detects INC-2 after 10m, resets −10m
]
ALERTS_DB = [(5, "DbDown", "up", "db", "19:55", None)]               # 5 minutes before INC-3
WEEK = (DAY, DAY + timedelta(days=7))


def quality(early: str = "0m", **kwargs) -> dict[str, dict]:
    table = score(alerts_frame(ALERTS_API + ALERTS_DB), INCIDENTS_3, early=early, period=WEEK, **kwargs)
    return {row["rule"]: row for row in table.iter_rows(named=True)}


def test_api_rule_by_hand() -> None:
    row = quality()["ApiErrors"]
    assert (row["alerts"], row["true_alerts"], row["false_alerts"]) == (4, 3, 1)
    assert row["precision"] == 0.75
    assert (row["incidents"], row["incidents_detected"]) == (3, 2)
    assert row["recall"] == pytest.approx(2 / 3)
    assert row["f1"] == pytest.approx(2 * 0.75 * (2 / 3) / (0.75 + 2 / 3))
    assert row["time_to_detect_median"] == minutes(7.5)            # of 5m and 10m
    assert row["time_to_detect_p90"] == minutes(9.5)               # 5 + 0.9·(10 − 5)
    assert row["reset_time_median"] == timedelta(0)                # of +10m and −10m
    assert row["false_alerts_per_week"] == 1.0                     # 1 false alert over a 7-day period
    assert row["alerts_per_incident"] == 1.5                       # 3 (alert, incident) pairs / 2 incidents
    assert row["flapping"] == 1                                    # alert 3, 50m after alert 1 resolved
    assert row["budget_at_detection_median"] is None


@pytest.mark.parametrize(("early", "precision", "recall", "f1", "ttd"), [
    ("0m", 0.0, 0.0, 0.0, None),                       # fired before the incident: not a detection
    ("10m", 1.0, 1 / 3, 0.5, minutes(-5)),             # inside the early allowance: TTD is negative
])
def test_early_allowance(early: str, precision: float, recall: float, f1: float, ttd: timedelta | None) -> None:
    row = quality(early=early)["DbDown"]
    assert row["precision"] == precision
    assert row["recall"] == pytest.approx(recall)
    assert row["f1"] == pytest.approx(f1)
    assert row["time_to_detect_median"] == ttd
    assert row["reset_time_median"] is None       # neither the alert nor the incident resolved


def test_a_rule_that_never_fired_has_null_precision_and_f1() -> None:
    row = quality(rules=["Quiet"])["Quiet"]
    assert (row["alerts"], row["precision"], row["recall"], row["f1"]) == (0, None, 0.0, None)
    assert row["time_to_detect_median"] is None and row["false_alerts_per_week"] == 0.0


def test_no_incidents_means_null_recall() -> None:
    table = score(alerts_frame(ALERTS_API), INCIDENTS_3.head(0), period=WEEK)
    row = table.row(0, named=True)
    assert (row["precision"], row["recall"], row["f1"]) == (0.0, None, None)


def test_table_schema_and_order() -> None:
    table = score(alerts_frame(ALERTS_API + ALERTS_DB), INCIDENTS_3, rules=["Quiet"])
    assert dict(table.schema) == QUALITY_SCHEMA
    assert table["rule"].to_list() == ["ApiErrors", "DbDown", "Quiet"]


def test_period_defaults_to_the_span_of_the_data() -> None:
    # From the earliest instant, 10:00 (INC-1 starts), to the latest, 14:30 (INC-2 resolves): 4.5 hours.
    table = score(alerts_frame(ALERTS_API), INCIDENTS_3.head(2))
    assert table["false_alerts_per_week"][0] == pytest.approx(1 / (4.5 / (7 * 24)))


def test_budget_at_detection_is_the_median_over_detected_incidents() -> None:
    burn = alerts_frame([
        (1, "Burn", "slo", "api", "10:02", "10:40", 0.02),
        (2, "Burn", "slo", "api", "10:50", "11:05", 0.09),   # second alert on INC-1: not the detection
        (3, "Burn", "slo", "api", "14:01", "14:20", 0.05),
        (4, "Burn", "slo", "api", "16:00", "16:20", 0.50),   # false alert: ignored
    ], budget=True)
    row = score(burn, INCIDENTS_3, period=WEEK).row(0, named=True)
    assert row["budget_at_detection_median"] == pytest.approx(0.035)


def test_missed_incidents() -> None:
    alerts = alerts_frame(ALERTS_API + ALERTS_DB)
    assert missed_incidents(alerts, INCIDENTS_3)["incident_id"].to_list() == ["INC-3"]
    assert missed_incidents(alerts, INCIDENTS_3, early="10m").is_empty()


@pytest.mark.parametrize(("match_on", "pairs"), [
    (["service"], [(1, "INC-1"), (2, "INC-1"), (4, "INC-2")]),
    ({"service": "service"}, [(1, "INC-1"), (2, "INC-1"), (4, "INC-2")]),
    ([], [(1, "INC-1"), (2, "INC-1"), (4, "INC-2"), (5, "INC-1")]),  # time alone: the db alert matches too
])
def test_match_on(match_on, pairs) -> None:  # type: ignore[no-untyped-def]
    alerts = alerts_frame([*ALERTS_API, (5, "DbDown", "up", "db", "10:30", None)])
    matches = match_alerts(alerts, INCIDENTS_3, match_on=match_on)
    assert sorted(matches.select("alert_id", "incident_id").rows()) == sorted(pairs)


def test_matching_window_edges_are_inclusive() -> None:
    alerts = alerts_frame([(1, "R", "s", "api", "09:55", None), (2, "R", "s", "api", "11:05", None),
                           (3, "R", "s", "api", "11:06", None)])
    matches = match_alerts(alerts, INCIDENTS_3.head(1), early="5m", late="5m")
    assert matches["alert_id"].to_list() == [1, 2]
    assert matches["time_to_detect"].to_list() == [minutes(-5), minutes(65)]


@pytest.mark.parametrize(("match_on", "error", "message"), [
    (["team"], ConfigError, "incidents have no column 'team'"),
    ({"cluster": "service"}, ConfigError, "no alert carries the label 'cluster'"),
    ("service", ConfigError, "use \\['service'\\]"),
])
def test_bad_match_on(match_on, error, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=message):
        match_alerts(alerts_frame(ALERTS_API), INCIDENTS_3, match_on=match_on)


def test_labels_must_be_json_objects() -> None:
    alerts = alerts_frame(ALERTS_API).with_columns(
        labels=pl.when(pl.col("alert_id") == 3).then(pl.lit("service=api")).otherwise(pl.col("labels")))
    with pytest.raises(InputError, match="labels must be a JSON object") as caught:
        score(alerts, INCIDENTS_3)
    assert "row 3" in str(caught.value)


def test_frames_are_validated() -> None:
    with pytest.raises(InputError, match="not a valid Incidents frame"):
        score(alerts_frame(ALERTS_API), INCIDENTS_3.drop("started_at"))


def test_inputs_are_not_mutated() -> None:
    alerts, incidents = alerts_frame(ALERTS_API), INCIDENTS_3.clone()
    score(alerts, incidents)
    assert alerts.equals(alerts_frame(ALERTS_API)) and incidents.equals(INCIDENTS_3)


@pytest.mark.parametrize(("window", "flaps"), [("0s", []), ("50m", [3]), ("2h5m", [3, 4])])
def test_flapping_window(window: str, flaps: list[int]) -> None:
    assert flapping_alerts(alerts_frame(ALERTS_API), window=window)["alert_id"].to_list() == flaps


@st.composite
def alert_sets(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    count = draw(st.integers(0, 12))
    rows = []
    for i in range(count):
        start = draw(st.integers(0, 23 * 60))
        length = draw(st.one_of(st.none(), st.integers(0, 120)))
        fmt = lambda m: f"{m // 60:02d}:{m % 60:02d}"  # noqa: E731
        rows.append((i + 1, draw(st.sampled_from(["A", "B"])), draw(st.sampled_from(["s1", "s2"])),
                     draw(st.sampled_from(["api", "db"])), fmt(start),
                     None if length is None else fmt(min(start + length, 23 * 60 + 59))))
    incidents = []
    for i in range(draw(st.integers(0, 5))):
        start = draw(st.integers(0, 22 * 60))
        incidents.append((f"I{i}", draw(st.sampled_from(["api", "db"])), f"{start // 60:02d}:{start % 60:02d}",
                          f"{(start + 45) // 60:02d}:{(start + 45) % 60:02d}"))
    return alerts_frame(rows), incidents_frame(incidents)


@settings(max_examples=50, deadline=None)
@given(alert_sets(), st.sampled_from(["0m", "15m"]))
def test_invariants(case: tuple[pl.DataFrame, pl.DataFrame], early: str) -> None:
    alerts, incidents = case
    if alerts.is_empty():
        return
    table = score(alerts, incidents, early=early, match_on=[])
    assert (table["true_alerts"] + table["false_alerts"] == table["alerts"]).all()
    assert table["alerts"].sum() == alerts.height
    for name in ("precision", "recall", "f1"):
        values = table[name].drop_nulls()
        assert ((values >= 0) & (values <= 1)).all()
    assert (table["incidents_detected"] <= incidents.height).all()
    detected_any = incidents.height - missed_incidents(alerts, incidents, early=early, match_on=[]).height
    assert table["incidents_detected"].max() <= detected_any
    # More allowance can only add matches.
    wider = score(alerts, incidents, early="1h", match_on=[])
    assert (wider["true_alerts"] >= table["true_alerts"]).all()
