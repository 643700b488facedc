"""MTTA/MTTR (PagerDuty and Opsgenie styles), groupings, weekly trend and trend test, by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from alertsim.errors import ConfigError, InputError
from alertsim.frames import INCIDENTS, INSTANT
from alertsim.quality.response import mtta, mttr, response_times, trend_test, weekly_trend

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)


def m(n: float) -> timedelta:
    return timedelta(minutes=n)


def incidents_frame(rows: list[tuple]) -> pl.DataFrame:
    """rows: (id, service, urgency, start offset, ack after | None, resolve after | None, responder)."""
    return pl.DataFrame({
        "incident_id": [r[0] for r in rows], "service": [r[1] for r in rows], "urgency": [r[2] for r in rows],
        "started_at": [MONDAY + r[3] for r in rows],
        "acknowledged_at": [None if r[4] is None else MONDAY + r[3] + r[4] for r in rows],
        "resolved_at": [None if r[5] is None else MONDAY + r[3] + r[5] for r in rows],
        "severity": ["SEV2"] * len(rows), "responder": [r[6] for r in rows],
    }, schema={**INCIDENTS.required, "urgency": pl.String, "acknowledged_at": INSTANT, "responder": pl.String})


H = timedelta(hours=1)
INCIDENTS_5 = incidents_frame([
    ("a", "api", "high", 9 * H, m(2), m(10), "ana"),
    ("b", "api", "high", 9 * H, m(4), m(20), "bo"),
    ("c", "api", "low", 23 * H, None, m(30), None),     # closed without an ack
    ("d", "db", "high", 23.5 * H, m(10), None, "ana"),  # acked, still open
    ("e", "db", "low", 10 * H, None, None, None),       # neither
])


def test_pagerduty_mtta_excludes_unacknowledged() -> None:
    row = mtta(INCIDENTS_5).row(0, named=True)
    assert (row["incidents"], row["measured"], row["unacknowledged_share"]) == (5, 3, 0.4)
    assert row["mtta"] == m(16 / 3)                      # (2 + 4 + 10) / 3
    assert row["tta_median"] == m(4)
    assert row["tta_p90"] == m(8.8)                      # 4 + 0.8·(10 − 4)
    assert row["tta_p95"] == m(9.4)


def test_opsgenie_mtta_uses_closed_alerts_and_close_as_ack() -> None:
    row = mtta(INCIDENTS_5, style="opsgenie").row(0, named=True)
    assert row["measured"] == 3                          # a, b, c are closed
    assert row["mtta"] == m(12)                          # (2 + 4 + 30) / 3
    assert row["tta_median"] == m(4)


def test_mttr_over_resolved_incidents() -> None:
    row = mttr(INCIDENTS_5).row(0, named=True)
    assert (row["measured"], row["unresolved_share"]) == (3, 0.4)
    assert (row["mttr"], row["ttr_median"], row["ttr_p90"]) == (m(20), m(20), m(28))


@pytest.mark.parametrize(("by", "expected"), [
    ("service", [("api", m(3), 1 / 3), ("db", m(10), 0.5)]),
    ("urgency", [("high", m(16 / 3), 0.0), ("low", None, 1.0)]),   # nothing measured: null, not 0
    ("responder", [("ana", m(6), 0.0), ("bo", m(4), 0.0), (None, None, 1.0)]),
    ("hour", [(9, m(3), 0.0), (10, None, 1.0), (23, m(10), 0.5)]),
])
def test_mtta_by_group(by: str, expected: list[tuple]) -> None:
    assert mtta(INCIDENTS_5, by=by).select(by, "mtta", "unacknowledged_share").rows() == expected


def test_hour_of_day_in_a_time_zone() -> None:
    table = mtta(INCIDENTS_5, by="hour", tz="America/New_York")   # UTC−5 in March before DST
    assert table["hour"].to_list() == [4, 5, 18]


def test_response_times_side_by_side() -> None:
    table = response_times(INCIDENTS_5, by="service")
    assert table.select("service", "acknowledged", "mtta", "mttr").rows() == [
        ("api", 2, m(3), m(20)), ("db", 1, m(10), None)]


def test_acknowledged_before_started_is_an_input_error() -> None:
    broken = INCIDENTS_5.with_columns(acknowledged_at=pl.col("started_at") - m(1))
    with pytest.raises(InputError, match="row 1, column 'acknowledged_at'"):
        mtta(broken)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"by": "team"}, "cannot group by 'team'"),
    ({"style": "victorops"}, "style 'victorops'"),
    ({"by": "hour", "tz": "Nowhere/City"}, "not an IANA time zone"),
])
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        mtta(INCIDENTS_5, **kwargs)


# --- weekly trend ------------------------------------------------------------------------------

WEEK = timedelta(days=7)
TREND = incidents_frame([
    ("w1a", "api", "high", 0 * WEEK, m(2), m(10), None),
    ("w1b", "api", "high", 0 * WEEK + H, m(6), m(10), None),
    ("w3a", "api", "high", 2 * WEEK, m(8), m(10), None),      # week 2 has nothing
])


def test_weekly_trend_by_hand() -> None:
    table = weekly_trend(TREND, resamples=500, seed=1)
    assert table["week"].to_list() == [MONDAY, MONDAY + WEEK, MONDAY + 2 * WEEK]
    assert table["measured"].to_list() == [2, 0, 1]
    assert table["value"].to_list() == [m(4), None, m(8)]           # medians
    first, gap, single = table.rows(named=True)
    assert m(2) <= first["ci_low"] <= m(4) <= first["ci_high"] <= m(6)
    assert gap["ci_low"] is None and gap["ci_high"] is None
    assert single["ci_low"] == single["ci_high"] == m(8)


def test_weekly_trend_is_reproducible_from_a_seed() -> None:
    many = incidents_frame([(str(i), "api", "high", i * H, m(1 + i % 7), None, None) for i in range(60)])
    first = weekly_trend(many, seed=3)
    assert first.equals(weekly_trend(many, seed=3))
    assert first.equals(weekly_trend(many, seed=np.random.default_rng(3)))


@pytest.mark.parametrize("statistic", ["median", "mean"])
def test_trend_test_finds_a_drift_and_no_drift(statistic: str) -> None:
    rng = np.random.default_rng(7)
    slower = incidents_frame([(str(i), "api", "high", i * WEEK / 4, m(5 + i * 0.5 + rng.uniform(-1, 1)), None,
                               None) for i in range(40)])
    trend = trend_test(slower, statistic=statistic)  # type: ignore[arg-type]
    assert trend.measured == 40 and trend.p_value is not None and trend.p_value < 0.001
    assert trend.slope_per_week is not None
    assert trend.slope_per_week.total_seconds() == pytest.approx(120, rel=0.15)  # 0.5 min per quarter week
    steady = incidents_frame([(str(i), "api", "high", i * WEEK / 4, m(5 + rng.uniform(-1, 1)), None, None)
                              for i in range(40)])
    assert trend_test(steady, statistic=statistic).p_value > 0.01  # type: ignore[arg-type, operator]


def test_trend_test_needs_three_measurements() -> None:
    trend = trend_test(TREND.head(2))
    assert (trend.slope_per_week, trend.p_value, trend.measured) == (None, None, 2)
