"""Fair schedules: the proposal against LinkedIn oncall's least-recently-on-call baseline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import numpy as np
import polars as pl
import pytest

from alertsim.errors import ConfigError
from alertsim.oncall.balance import balance
from alertsim.oncall.schedule import TimeOff, on_call, shifts

SEVEN = list("abcdefg")
MONDAY = datetime(2026, 1, 5)


def report(result) -> dict[str, tuple[float, float]]:  # type: ignore[no-untyped-def]
    return {m: (b, p) for m, b, p, _ in result.report.iter_rows()}


def test_daily_turns_with_seven_people_give_two_of_them_every_weekend_until_balanced() -> None:
    """Round robin over 7 people with daily turns pins each person to one weekday: two of them carry
    every weekend (Gini 5/7). The proposal spreads weekends and keeps 8 turns each."""
    result = balance(SEVEN, start=MONDAY, end=MONDAY + timedelta(weeks=8), turn=timedelta(days=1), seed=3)
    measures = report(result)
    assert measures["weekend_gini"][0] == pytest.approx(5 / 7)
    assert measures["weekend_gini"][1] < 0.1
    assert measures["sleep_gini"] == (0.0, 0.0)      # every day has the same sleep hours
    people = result.people
    assert (people["turns_baseline"] == 8).all() and (people["turns_proposed"] == 8).all()
    picks = result.assignment["responder"].to_list()
    assert all(x != y for x, y in pairwise(picks))        # no back-to-back turns
    assert result.baseline["responder"].to_list()[:7] == SEVEN


def test_twelve_hour_turns_with_an_even_roster_share_the_nights() -> None:
    users = list("abcd")
    result = balance(users, start=datetime(2026, 1, 5, 9), end=datetime(2026, 3, 2, 9),
                     turn=timedelta(hours=12), tz="Europe/Berlin", seed=1)
    measures = report(result)
    assert measures["sleep_gini"][0] == pytest.approx(0.5)     # a and c days, b and d nights
    assert measures["sleep_gini"][1] < 0.02
    assert measures["sleep_total"][0] == pytest.approx(measures["sleep_total"][1])


def test_the_page_history_weighs_turns_by_expected_pages() -> None:
    """Pages only on Saturday nights: the burden is pages, not hours, and the proposal spreads them."""
    saturdays = [datetime(2025, 10, 4, 23, tzinfo=UTC) + timedelta(weeks=w) for w in range(12)]
    history = pl.DataFrame({"page_id": [f"s{i}" for i in range(12)], "paged_at": saturdays,
                            "urgency": ["high"] * 12})
    result = balance(SEVEN, start=MONDAY, end=MONDAY + timedelta(weeks=8), turn=timedelta(days=1),
                     pages=history, seed=2)
    burden = result.baseline["sleep_burden"].to_numpy()
    assert np.count_nonzero(burden) == 8             # only the eight Saturday turns
    assert burden.max() == pytest.approx(12 / 11)    # 12 pages over 11 weeks of history
    measures = report(result)
    assert measures["sleep_gini"][0] > 0.7 and measures["sleep_gini"][1] < 0.2


def test_time_off_is_respected_and_the_baseline_picks_the_longest_idle() -> None:
    away = [TimeOff(user="b", start=datetime(2026, 1, 6, tzinfo=UTC), end=datetime(2026, 1, 7, tzinfo=UTC))]
    result = balance(list("abc"), start=MONDAY, end=MONDAY + timedelta(days=6), turn=timedelta(days=1),
                     time_off=away, no_back_to_back=False, seed=1)
    # day 0: a (first never-on-call); day 1: b is away, c has never been on call; day 2: b; day 3: a
    assert result.baseline["responder"].to_list() == ["a", "c", "b", "a", "c", "b"]
    assert result.assignment.filter(pl.col("turn") == 1)["responder"].item() != "b"


@pytest.mark.parametrize("far", ["America/New_York", "Asia/Tokyo"])
def test_totals_do_not_grow_across_zones(far: str) -> None:
    """Turns at 09:00/21:00 Berlin cost Berlin people 0 or 10 sleep hours, New York people 5 either way
    and Tokyo people 7 (day) or 3 (night): evening out must not cost the team more sleep in total."""
    users = ["ber1", "ber2", "far1", "far2"]
    zones = {"ber1": "Europe/Berlin", "ber2": "Europe/Berlin", "far1": far, "far2": far}
    args = {"start": datetime(2026, 1, 5, 9), "end": datetime(2026, 3, 2, 9), "turn": timedelta(hours=12),
            "tz": "Europe/Berlin", "zones": zones, "seed": 4}
    strict = report(balance(users, **args))
    assert strict["sleep_total"][1] <= strict["sleep_total"][0] + 1e-9
    assert strict["objective"][1] <= strict["objective"][0]
    assert strict["sleep_gini"][1] < strict["sleep_gini"][0]
    loose = report(balance(users, **args, max_total_increase=0.1))
    assert loose["sleep_total"][1] <= 1.1 * loose["sleep_total"][0] + 1e-9


def test_the_proposal_is_a_schedule() -> None:
    result = balance(SEVEN, start=MONDAY, end=MONDAY + timedelta(weeks=2), turn=timedelta(days=1))
    schedule = result.schedule("fair")
    frame = shifts(schedule, datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 19, tzinfo=UTC))
    assert frame.height == 14 and frame["responder"].to_list() == result.assignment["responder"].to_list()
    assert on_call(schedule, datetime(2026, 1, 19, tzinfo=UTC)) is None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"users": ["a"]}, "two distinct"),
    ({"users": ["a", "a"]}, "two distinct"),
    ({"turn": timedelta(minutes=30)}, "at least 1h"),
    ({"end": MONDAY + timedelta(days=1)}, "fewer than two turns"),
    ({"zones": {"zed": "UTC"}}, "not in users"),
    ({"tz": "Nowhere/City"}, "unknown time zone"),
    ({"time_off": [TimeOff(user=u, start=datetime(2026, 1, 1, tzinfo=UTC),
                           end=datetime(2026, 2, 1, tzinfo=UTC)) for u in "ab"]}, "nobody is available"),
])
def test_bad_arguments_are_config_errors(kwargs: dict, message: str) -> None:
    args = {"users": ["a", "b"], "start": MONDAY, "end": MONDAY + timedelta(weeks=1),
            "turn": timedelta(days=1), **kwargs}
    with pytest.raises(ConfigError, match=message):
        balance(args.pop("users"), **args)
