"""Per-person burden (on-call hours by level and local time, interruptions) and fairness indices."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertsim.frames import SHIFTS
from alertsim.quality.fairness import (
    burden,
    equity,
    fairness,
    gini,
    indices,
    max_mean_ratio,
    merge_intervals,
    outliers,
    pairwise_balance,
)
from alertsim.quality.fatigue import interruptions
from tests.quality.test_fatigue import PAGES_WEEK, SHIFTS_WEEK


def utc(day: int, hour: int) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=UTC)


def test_burden_by_hand() -> None:
    table = burden(SHIFTS_WEEK, interruptions(PAGES_WEEK, SHIFTS_WEEK), holidays={date(2026, 1, 10)})
    people = {r["responder"]: r for r in table.iter_rows(named=True)}
    # ana: Mon 01:00 → Wed 01:00 Berlin time. Business Mon+Tue 08–18 = 20 h; sleep 01–08, 22–08, 22–01
    # = 7 + 10 + 3 = 20 h; off 18–22 twice = 8 h; "off hours" counts everything outside business = 28 h.
    ana = people["ana"]
    assert (ana["oncall_hours"], ana["level1_hours"], ana["level2plus_hours"]) == (48.0, 48.0, 0.0)
    assert (ana["business_hours"], ana["sleep_hours"], ana["off_hours"]) == (20.0, 20.0, 28.0)
    # bo: level 1 Wed 00:00 → Fri 00:00 UTC and level 2 Thu 12:00 → Fri 12:00 UTC overlap for 12 h:
    # the union is 60 h, Tue 19:00 → Fri 07:00 New York time.
    bo = people["bo"]
    assert (bo["oncall_hours"], bo["level1_hours"], bo["level2plus_hours"]) == (60.0, 48.0, 24.0)
    assert (bo["business_hours"], bo["sleep_hours"], bo["off_hours"]) == (20.0, 29.0, 40.0)
    # cy: level 2 Mon–Thu (96 h, UTC) plus level 1 all Saturday, a holiday.
    cy = people["cy"]
    assert (cy["oncall_hours"], cy["level1_hours"], cy["level2plus_hours"]) == (120.0, 24.0, 96.0)
    assert (cy["business_hours"], cy["sleep_hours"]) == (40.0, 50.0)
    assert (cy["weekend_hours"], cy["holiday_hours"]) == (24.0, 24.0)
    assert people["dee"]["business_hours"] == 5.0 and people["dee"]["off_hours"] == 1.0
    assert [people[p]["interruptions"] for p in ("ana", "bo", "cy", "dee")] == [4, 2, 0, 2]
    assert [people[p]["sleep_interruptions"] for p in ("ana", "bo", "cy", "dee")] == [2, 1, 0, 0]
    assert [people[p]["off_hours_interruptions"] for p in ("ana", "bo", "cy", "dee")] == [3, 1, 0, 0]
    assert ana["interruptions_per_oncall_hour"] == pytest.approx(4 / 48)


def test_burden_without_interruptions_leaves_them_null() -> None:
    table = burden(SHIFTS_WEEK)
    assert table["interruptions"].null_count() == table.height
    assert table["interruptions_per_oncall_hour"].null_count() == table.height


def test_a_daylight_saving_day_has_its_true_length() -> None:
    # 2026-03-29: Berlin springs forward, so the local day has 23 hours.
    shifts = pl.DataFrame({"schedule": ["s"], "level": [1], "responder": ["ana"],
                           "start_at": [datetime(2026, 3, 28, 23, tzinfo=UTC)],
                           "end_at": [datetime(2026, 3, 29, 22, tzinfo=UTC)], "tz": ["Europe/Berlin"]},
                          schema=SHIFTS.required)
    row = burden(shifts).row(0, named=True)
    assert row["oncall_hours"] == 23.0 and row["weekend_hours"] == 23.0
    assert row["sleep_hours"] == 9.0      # 00:00–08:00 less the hour that does not exist, and 22–24
    assert row["off_hours"] == 23.0       # a Sunday: nothing is business


def test_period_clips_shifts() -> None:
    table = burden(SHIFTS_WEEK, period=(utc(5, 0), utc(6, 0)))
    assert dict(zip(table["responder"], table["oncall_hours"], strict=True)) == {
        "ana": 24.0, "cy": 24.0}


def test_merge_intervals_unions_overlaps_per_person() -> None:
    frame = pl.DataFrame({"responder": ["a", "a", "a", "b"], "start_at": [utc(5, 0), utc(5, 6), utc(5, 12),
                                                                          utc(5, 1)],
                          "end_at": [utc(5, 8), utc(5, 12), utc(5, 13), utc(5, 2)]})
    merged = merge_intervals(frame, "responder").sort("responder", "start_at")
    assert [(r["responder"], r["start_at"].hour, r["end_at"].hour) for r in merged.iter_rows(named=True)] == [
        ("a", 0, 13), ("b", 1, 2)]


def test_fairness_indices_by_hand() -> None:
    frame = pl.DataFrame({"responder": ["ana", "bo", "cy", "dee"], "interruptions": [4, 2, 0, 2]})
    row = fairness(frame, columns=["interruptions"]).row(0, named=True)
    # Sorted [0, 2, 2, 4]: Gini = 2·Σ i·x_i /(n·Σx) − (n+1)/n = 2·26/32 − 5/4 = 0.375.
    assert row["gini"] == pytest.approx(0.375)
    assert row["equity"] == pytest.approx(100 * (1 - np.sqrt(2) / 2))      # CV = √2 / 2
    assert row["pairwise_balance"] == pytest.approx(2 / 6)                  # pairs 0.5, 0, 0.5, 0, 1, 0
    assert (row["max_mean_ratio"], row["outliers"], row["people"], row["total"]) == (2.0, [], 4, 8.0)


def test_fairness_outliers_and_defaults() -> None:
    table = burden(SHIFTS_WEEK, interruptions(PAGES_WEEK, SHIFTS_WEEK))
    scored = fairness(table)
    assert scored["burden"].to_list() == ["oncall_hours", "off_hours", "sleep_hours", "weekend_hours",
                                          "interruptions", "off_hours_interruptions", "sleep_interruptions"]
    weekend = scored.filter(pl.col("burden") == "weekend_hours").row(0, named=True)
    assert weekend["outliers"] == ["cy"] and weekend["gini"] == pytest.approx(0.75)


def test_nobody_carrying_anything_is_undefined_not_perfect() -> None:
    frame = pl.DataFrame({"responder": ["a", "b"], "sleep_interruptions": [0, 0]})
    row = fairness(frame, columns=["sleep_interruptions"]).row(0, named=True)
    assert (row["gini"], row["equity"], row["pairwise_balance"], row["max_mean_ratio"]) == (None,) * 4


@pytest.mark.parametrize(("burden_values", "expected"), [
    ([1, 1, 1, 1], {"gini": 0.0, "equity": 100.0, "pairwise_balance": 1.0, "max_mean_ratio": 1.0}),
    ([0, 0, 0, 4], {"gini": 0.75, "equity": 0.0, "pairwise_balance": 0.5, "max_mean_ratio": 4.0}),
    ([1, 3], {"gini": 0.25, "equity": 50.0, "pairwise_balance": 1 / 3, "max_mean_ratio": 1.5}),
    ([], {"gini": None, "equity": None, "pairwise_balance": None, "max_mean_ratio": None}),
])
def test_index_functions(burden_values: list[float], expected: dict) -> None:
    assert indices(burden_values) == pytest.approx(expected)


@given(st.lists(st.one_of(st.just(0.0), st.floats(1e-3, 1e6)), min_size=2, max_size=30))
def test_index_ranges(values: list[float]) -> None:
    if sum(values) == 0:
        return
    assert 0 <= gini(values) <= 1  # type: ignore[operator]
    assert 0 <= equity(values) <= 100  # type: ignore[operator]
    assert 0 <= pairwise_balance(values) <= 1  # type: ignore[operator]
    assert max_mean_ratio(values) >= 1 - 1e-9  # type: ignore[operator]
    assert all(values[i] > 2 * np.mean(values) for i in outliers(values))
