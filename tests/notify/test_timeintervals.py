"""Alertmanager time intervals: ``TimeInterval.contains`` case by case (Alertmanager's
``ContainsTime``), and the per-minute mask the simulator uses agrees with it everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertsim.errors import ConfigError
from alertsim.notify import TimeInterval
from alertsim.notify.timeintervals import mask_boundaries, minute_mask, parse_time_interval


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("case", "spec", "instant", "inside"), [
    ("start time is inclusive", {"times": [{"start_time": "09:00", "end_time": "17:00"}]}, utc(2026, 3, 2, 9, 0), True),
    ("end time is exclusive", {"times": [{"start_time": "09:00", "end_time": "17:00"}]}, utc(2026, 3, 2, 17, 0), False),
    ("24:00 ends the day", {"times": [{"start_time": "17:00", "end_time": "24:00"}]}, utc(2026, 3, 2, 23, 59), True),
    ("weekday ranges run Sunday..Saturday", {"weekdays": ["monday:friday"]}, utc(2026, 3, 7, 12), False),
    ("a single weekday", {"weekdays": ["Saturday"]}, utc(2026, 3, 7, 12), True),
    ("-1 is the last day of the month", {"days_of_month": ["-1"]}, utc(2028, 2, 29, 12), True),
    ("-1 in a leap February is not the 28th", {"days_of_month": ["-1"]}, utc(2028, 2, 28, 12), False),
    ("1:31 is clamped to February's length", {"days_of_month": ["1:31"]}, utc(2026, 2, 28, 12), True),
    ("negative ranges", {"days_of_month": ["-7:-1"]}, utc(2026, 4, 24, 12), True),
    ("-7:-1 excludes the 23rd of April", {"days_of_month": ["-7:-1"]}, utc(2026, 4, 23, 12), False),
    ("months by name and number", {"months": ["january:march", "12"]}, utc(2026, 12, 1), True),
    ("outside the months", {"months": ["january:march", "12"]}, utc(2026, 4, 1), False),
    ("years", {"years": ["2025:2026"]}, utc(2027, 1, 1), False),
    ("every field must match", {"weekdays": ["monday"], "times": [{"start_time": "09:00", "end_time": "10:00"}]},
     utc(2026, 3, 3, 9, 30), False),
    ("times are local to the location", {"times": [{"start_time": "08:00", "end_time": "18:00"}],
                                         "location": "Europe/Berlin"}, utc(2026, 3, 2, 7, 30), True),
    ("... and follow daylight saving time", {"times": [{"start_time": "08:00", "end_time": "18:00"}],
                                             "location": "Europe/Berlin"}, utc(2026, 7, 1, 6, 30), True),
    ("the weekday is the local one", {"weekdays": ["sunday"], "location": "America/New_York"},
     utc(2026, 3, 2, 3, 0), True),   # Monday 03:00 UTC is Sunday evening in New York
    ("no fields: always", {}, utc(2026, 1, 1), True),
    ("an empty list: never", {"weekdays": []}, utc(2026, 1, 1), False),
])
def test_contains(case, spec, instant, inside):
    interval = parse_time_interval(spec, field="t")
    assert interval.contains(instant) is inside, case
    start = int(instant.timestamp() * 1_000_000)
    first, mask = minute_mask([interval], start, start)
    assert bool(mask[(start - first) // 60_000_000]) is inside, case


@pytest.mark.parametrize(("spec", "message"), [
    ({"times": [{"start_time": "9:00", "end_time": "10:00"}]}, "time of day"),
    ({"times": [{"start_time": "10:00"}]}, "both start_time and end_time"),
    ({"weekdays": ["friday:monday"]}, "after the end day"),
    ({"weekdays": ["1"]}, "not valid"),
    ({"days_of_month": ["0"]}, "not a valid day"),
    ({"days_of_month": ["-3:5"]}, "must be negative"),
    ({"days_of_month": ["10:-25"]}, "always before"),
    ({"months": ["13"]}, "not a valid month"),
    ({"years": ["2027:2026"]}, "before start year"),
    ({"location": "Local"}, "not reproducible"),
    ({"hours": ["1"]}, "unknown key 'hours'"),
])
def test_bad_intervals(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_time_interval(spec, field="t")


def test_mask_boundaries_are_runs():
    first = 1_000 * 60_000_000
    mask = np.array([True, True, False, True])
    assert mask_boundaries(first, mask) == [first, first + 2 * 60_000_000, first + 3 * 60_000_000,
                                            first + 4 * 60_000_000]


def clock(minute: int) -> str:
    return "24:00" if minute >= 1440 else f"{minute // 60:02d}:{minute % 60:02d}"


specs = st.fixed_dictionaries({}, optional={
    "times": st.lists(st.tuples(st.integers(0, 1438), st.integers(1, 600)).map(
        lambda t: {"start_time": clock(t[0]), "end_time": clock(t[0] + t[1])}), min_size=1, max_size=2),
    "weekdays": st.lists(st.sampled_from(["sunday", "monday:friday", "saturday", "tuesday:thursday"]),
                         min_size=1, max_size=2),
    "days_of_month": st.lists(st.sampled_from(["1:5", "-3:-1", "15", "28:31", "-31:-28"]), min_size=1, max_size=2),
    "months": st.lists(st.sampled_from(["january:march", "october", "3:11"]), min_size=1, max_size=2),
    "location": st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]),
})


@settings(max_examples=60, deadline=None)
@given(specs, st.integers(0, 3 * 365 * 24 * 60), st.lists(st.integers(0, 4000), min_size=1, max_size=8))
def test_minute_mask_agrees_with_contains(spec, start_minute, offsets):
    interval = parse_time_interval(spec, field="t")
    base = utc(2025, 1, 1) + timedelta(minutes=start_minute)
    start = int(base.timestamp()) * 1_000_000
    _, mask = minute_mask([interval], start, start + 4000 * 60_000_000)
    for offset in offsets:
        instant = base + timedelta(minutes=offset, seconds=17)
        assert bool(mask[offset]) is interval.contains(instant), (spec, instant)


def test_a_time_interval_record_can_be_built_directly():
    lunch = TimeInterval(times=((12 * 60, 13 * 60),), location="Europe/Berlin")
    assert lunch.contains(utc(2026, 1, 5, 11, 30)) and not lunch.contains(utc(2026, 1, 5, 12, 30))
