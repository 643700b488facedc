"""The fast engine and the SimPy reference model, fed the same draws, give identical outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from alertsim.oncall.design import parse_design
from alertsim.oncall.reference import simulate_reference
from alertsim.oncall.simulate import draw, simulate


def page_stream(count: int, seed: int, *, days: float = 10.0) -> pl.DataFrame:
    """Pages bunched in time (so escalations, re-triggers and busy responders overlap)."""
    rng = np.random.default_rng(seed)
    start = datetime(2026, 3, 22, tzinfo=UTC)   # spans the EU and US daylight-saving change
    offsets = np.sort(rng.uniform(0, days * 86400, count))
    return pl.DataFrame({
        "page_id": [f"p{i:03d}" for i in range(count)],
        "paged_at": [start + timedelta(seconds=float(s)) for s in offsets],
        "urgency": rng.choice(["high", "low"], count, p=[0.8, 0.2]).tolist(),
        "service": rng.choice(["api", "db"], count).tolist(),
    })


SCHEDULES = {
    "primary": {"tz": "Europe/Berlin", "layers": [
        {"users": ["ana", "bo", "cy"], "turn": "1d", "start": "2026-01-05T09:00",
         "restrictions": [{"type": "daily", "start": "08:00", "duration": "14h"}]}]},
    "secondary": {"tz": "America/New_York", "layers": [
        {"users": ["bo", "cy", "dee"], "turn": "12h", "start": "2026-01-05T09:00"}]},
}
RESPONDERS = {
    "default": {"ack": {"dist": "lognormal", "median": "3m", "sigma": 1.2}, "miss": 0.2,
                "hour_factors": {"sleep": 2.0, "off": 1.3},
                "work": {"default": {"dist": "lognormal", "median": "40m", "sigma": 1.0},
                         "low": {"dist": "exponential", "mean": "2h"}}},
    "lead": {"ack": {"dist": "exponential", "mean": "2m"}, "tz": "Asia/Kolkata", "miss": 0.1},
}
POLICIES = {
    "adds responders, loops": {"levels": [{"targets": ["schedule:primary"], "delay": "5m"},
                                          {"targets": ["schedule:secondary", "user:lead"], "delay": "10m"}],
                               "loops": 2},
    "reassign": {"reassign": True, "levels": [{"targets": ["schedule:primary"], "delay": "5m"},
                                              {"targets": ["schedule:secondary"], "delay": "5m"},
                                              {"targets": ["user:lead"], "delay": "10m"}], "loops": 1},
    "ack timeout": {"ack_timeout": "20m", "retriggers": 3,
                    "levels": [{"targets": ["schedule:primary", "user:bo"], "delay": "5m"},
                               {"targets": ["user:lead"], "delay": "10m"}]},
    "ack timeout, reassign": {"ack_timeout": "15m", "reassign": True, "loops": 1,
                              "levels": [{"targets": ["schedule:primary"], "delay": "3m"},
                                         {"targets": ["schedule:secondary"], "delay": "3m"}]},
    "gaps, unrouted": {"levels": [{"targets": ["schedule:primary"], "delay": "5m"}], "loops": 1},
}


def assert_same(pages: pl.DataFrame, design: Any, replicates: int, seed: int) -> pl.DataFrame:
    draws = draw(pages, design, replicates=replicates, seed=seed)
    fast = simulate(pages, design, draws=draws)
    reference = simulate_reference(pages, design, draws)
    assert_frame_equal(fast.outcomes, reference.outcomes)
    assert_frame_equal(fast.burden, reference.burden)
    return fast.outcomes


@pytest.mark.parametrize("busy", [False, True], ids=["independent", "busy"])
@pytest.mark.parametrize("policy", list(POLICIES))
def test_fast_engine_equals_simpy_reference(policy: str, busy: bool) -> None:
    responders = dict(RESPONDERS)
    if busy:
        responders["default"] = {**RESPONDERS["default"], "busy": {"factor": 3.0, "miss": 0.5}}
    design = parse_design({"name": policy, "schedules": SCHEDULES, "escalation": POLICIES[policy],
                           "responders": responders})
    outcomes = assert_same(page_stream(50, seed=5), design, replicates=12, seed=3)
    statuses = set(outcomes["status"])
    assert "acked" in statuses and "missed" in statuses   # the case exercises both paths
    if policy.startswith("gaps"):
        assert "unrouted" in statuses
    if policy.startswith("ack timeout"):
        assert outcomes["retriggers"].sum() > 0
    if not policy.startswith("gaps"):
        assert outcomes["escalations"].sum() > 0


targets = st.sampled_from(["schedule:primary", "schedule:secondary", "user:lead", "user:ana"])
levels = st.lists(st.fixed_dictionaries({
    "targets": st.lists(targets, min_size=1, max_size=2),
    "delay": st.sampled_from(["0s", "1m", "5m", "15m"])}), min_size=1, max_size=3)
distributions = st.sampled_from([{"dist": "exponential", "mean": "4m"}, {"dist": "constant", "mean": "5m"},
                                 {"dist": "lognormal", "median": "2m", "sigma": 1.5}])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(levels=levels, loops=st.integers(0, 2), reassign=st.booleans(),
       timeout=st.sampled_from([None, "10m", "30m"]), ack=distributions,
       miss=st.sampled_from([0.0, 0.3, 1.0]), busy=st.booleans(), seed=st.integers(0, 1000))
def test_random_designs_agree(levels: list[dict[str, Any]], loops: int, reassign: bool, timeout: Any,
                              ack: dict[str, Any], miss: float, busy: bool, seed: int) -> None:
    default: dict[str, Any] = {"ack": ack, "miss": miss, "hour_factors": {"sleep": 1.5},
                               "work": {"default": {"dist": "exponential", "mean": "25m"}}}
    if busy:
        default["busy"] = {"factor": 2.0}
    escalation: dict[str, Any] = {"levels": levels, "loops": loops, "reassign": reassign}
    if timeout:
        escalation["ack_timeout"] = timeout
    design = parse_design({"name": "random", "schedules": SCHEDULES, "escalation": escalation,
                           "responders": {"default": default, "lead": {"miss": 0.0}}})
    assert_same(page_stream(15, seed=seed, days=2.0), design, replicates=3, seed=seed)


def test_ties_an_ack_at_the_escalation_instant_wins_in_both_models() -> None:
    design = parse_design({"name": "tie", "escalation": {"levels": [
        {"targets": ["user:a"], "delay": "5m"}, {"targets": ["user:b"], "delay": "5m"}]},
        "responders": {"default": {"ack": {"dist": "constant", "mean": "5m"}}}})
    outcomes = assert_same(page_stream(3, seed=1), design, replicates=2, seed=1)
    assert set(outcomes["acked_by"]) == {"a"} and outcomes["escalations"].sum() == 0


def test_rosters_larger_than_64_people_agree() -> None:
    """Distinct pages per person are tracked in 64-person bit words; a large roster spans two."""
    users = [f"u{i}" for i in range(70)]
    design = parse_design({"name": "big", "schedules": {
        "p": {"layers": [{"users": users, "turn": "2h", "start": "2026-01-01"}]},
        "q": {"layers": [{"users": users[::-1], "turn": "3h", "start": "2026-01-01"}]}},
        "escalation": {"levels": [{"targets": ["schedule:p"], "delay": "5m"},
                                  {"targets": ["schedule:q"], "delay": "5m"}], "loops": 2},
        "responders": {"default": {"ack": {"dist": "exponential", "mean": "6m"}, "miss": 0.3}}})
    outcomes = assert_same(page_stream(80, seed=2), design, replicates=5, seed=1)
    assert outcomes["escalations"].max() >= 2
