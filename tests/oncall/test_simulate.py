"""The simulator: closed forms, hand-computed timelines, burden, summaries and errors."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from alertsim.errors import ConfigError, InputError
from alertsim.frames import PAGES, validate
from alertsim.oncall.design import parse_design
from alertsim.oncall.simulate import BURDEN, PAGE_OUTCOMES, draw, simulate
from alertsim.quality.fairness import gini

T0 = datetime(2026, 1, 5, 12, tzinfo=UTC)   # a Monday, 13:00 in Berlin


def pages(count: int = 1, *, every: timedelta = timedelta(hours=7), start: datetime = T0,
          urgency: str = "high") -> pl.DataFrame:
    return pl.DataFrame({"page_id": [f"p{i:04d}" for i in range(count)],
                         "paged_at": [start + i * every for i in range(count)],
                         "urgency": [urgency] * count}, schema=dict(PAGES.required))


def design(levels: list[dict[str, Any]], responders: dict[str, Any], **escalation: Any) -> Any:
    raw: dict[str, Any] = {"name": "d", "escalation": {"levels": levels, **escalation},
                           "responders": responders}
    if "schedules" in escalation:
        raw["schedules"] = escalation.pop("schedules")
        raw["escalation"] = {"levels": levels, **escalation}
    return parse_design(raw)


def exponential(minutes: float) -> dict[str, Any]:
    return {"dist": "exponential", "mean": f"{int(minutes * 60)}s"}


def constant(minutes: float) -> dict[str, Any]:
    return {"dist": "constant", "mean": f"{int(minutes * 60)}s"}


# --------------------------------------------------------------------------------------- closed forms


@pytest.mark.slow
@pytest.mark.parametrize("mean", [1.0, 4.0, 15.0])
def test_one_level_exponential_mtta_is_the_mean(mean: float) -> None:
    d = design([{"targets": ["user:a"], "delay": "5m"}], {"default": {"ack": exponential(mean)}})
    result = simulate(pages(40), d, replicates=10_000, seed=11, keep_outcomes=False)
    assert result.summary["mtta_mean_min"][0] == pytest.approx(mean, rel=0.01)


@pytest.mark.slow
@pytest.mark.parametrize(("mu1", "mu2", "delay"), [(4.0, 2.0, 5.0), (10.0, 3.0, 5.0), (3.0, 3.0, 15.0)])
def test_two_levels_mtta_matches_the_closed_form(mu1: float, mu2: float, delay: float) -> None:
    """Non-cancelling: MTTA = μ1(1 − e^(−T/μ1)) + e^(−T/μ1) · 1/(1/μ1 + 1/μ2); the escalation rate is
    e^(−T/μ1). With reassign: MTTA = μ1 + e^(−T/μ1)(μ2 − μ1)."""
    levels = [{"targets": ["user:a"], "delay": f"{int(delay)}m"}, {"targets": ["user:b"], "delay": "1h"}]
    responders = {"default": {"ack": exponential(mu1)}, "b": {"ack": exponential(mu2)}}
    p = math.exp(-delay / mu1)
    adds = simulate(pages(40), design(levels, responders), replicates=10_000, seed=5, keep_outcomes=False)
    assert adds.summary["mtta_mean_min"][0] == pytest.approx(mu1 * (1 - p) + p / (1 / mu1 + 1 / mu2),
                                                             rel=0.01)
    assert adds.summary["escalation_rate"][0] == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / 400_000))
    cancels = simulate(pages(40), design(levels, responders, reassign=True), replicates=10_000, seed=5,
                       keep_outcomes=False)
    assert cancels.summary["mtta_mean_min"][0] == pytest.approx(mu1 + p * (mu2 - mu1), rel=0.01)


# ------------------------------------------------------------------------------- hand-computed cases

A_THEN_B = [{"targets": ["user:a"], "delay": "5m"}, {"targets": ["user:b"], "delay": "10m"}]


@pytest.mark.parametrize(("a", "b", "reassign", "acked_after", "acked_by", "escalations"), [
    (constant(3), constant(2), False, 3, "a", 0),      # a acks before the delay
    (constant(10), constant(2), False, 7, "b", 1),     # b (5 + 2) beats a (10)
    (constant(6), constant(3), False, 6, "a", 1),      # escalated, but a (6) beats b (5 + 3)
    (constant(6), constant(3), True, 8, "b", 1),       # reassign cancels a at 5: b at 8
    (constant(10), constant(2), True, 7, "b", 1),
])
def test_two_level_timelines(a: dict, b: dict, reassign: bool, acked_after: float, acked_by: str,
                             escalations: int) -> None:
    d = design(A_THEN_B, {"default": {"ack": a}, "b": {"ack": b}}, reassign=reassign)
    row = simulate(pages(), d, replicates=1).outcomes.row(0, named=True)
    assert row["acked_at"] - row["paged_at"] == timedelta(minutes=acked_after)
    assert (row["acked_by"], row["escalations"], row["status"]) == (acked_by, escalations, "acked")
    assert row["notified_at"] == row["paged_at"]


def test_a_missed_first_level_escalates_and_loops_repeat_the_policy() -> None:
    d = design(A_THEN_B, {"default": {"ack": constant(2), "miss": 1.0}, "b": {"miss": 0.0}})
    row = simulate(pages(), d, replicates=1).outcomes.row(0, named=True)
    assert (row["acked_at"] - row["paged_at"], row["acked_by"]) == (timedelta(minutes=7), "b")
    nobody = design([{"targets": ["user:a"], "delay": "5m"}],
                    {"default": {"ack": constant(2), "miss": 1.0}}, loops=2)
    row = simulate(pages(), nobody, replicates=1).outcomes.row(0, named=True)
    assert (row["status"], row["notifications"], row["escalations"]) == ("missed", 3, 2)
    assert row["acked_at"] is None and row["resolved_at"] is None


def test_low_urgency_never_escalates() -> None:
    d = design(A_THEN_B, {"default": {"ack": constant(2), "miss": 1.0}, "b": {"miss": 0.0}}, loops=3)
    row = simulate(pages(urgency="low"), d, replicates=1).outcomes.row(0, named=True)
    assert (row["status"], row["notifications"], row["escalations"]) == ("missed", 1, 0)


DAYTIME = {"primary": {"tz": "UTC", "layers": [
    {"users": ["a"], "turn": "1w", "start": "2026-01-05T00:00",
     "restrictions": [{"type": "daily", "start": "08:00", "duration": "10h"}]}]}}


def test_an_empty_level_is_skipped_at_once_and_an_empty_policy_leaves_the_page_unrouted() -> None:
    levels = [{"targets": ["schedule:primary"], "delay": "5m"}, {"targets": ["user:b"], "delay": "10m"}]
    d = design(levels, {"default": {"ack": constant(2)}}, schedules=DAYTIME)
    night = T0.replace(hour=23)
    row = simulate(pages(start=night), d, replicates=1).outcomes.row(0, named=True)
    assert (row["acked_at"] - night, row["acked_by"], row["escalations"]) == (timedelta(minutes=2), "b", 0)
    only = design(levels[:1], {"default": {"ack": constant(2)}}, schedules=DAYTIME)
    result = simulate(pages(2, every=timedelta(hours=11)), only, replicates=3)   # 12:00 and 23:00
    assert result.outcomes.filter(pl.col("replicate") == 0)["status"].to_list() == ["acked", "unrouted"]
    assert result.summary["unrouted_rate"][0] == 0.5 and result.summary["missed_rate"][0] == 0.5


def test_ack_timeout_retriggers_an_unresolved_page() -> None:
    """a acks after 1m; work takes 50m; a 20m ack timeout re-triggers at 21m and 42m (a re-acks a
    minute later each time); at 63m the page is already resolved (51m)."""
    d = design([{"targets": ["user:a"], "delay": "5m"}],
               {"default": {"ack": constant(1), "work": {"default": constant(50)}}}, ack_timeout="20m")
    row = simulate(pages(), d, replicates=1).outcomes.row(0, named=True)
    assert (row["retriggers"], row["notifications"]) == (2, 3)
    assert row["acked_at"] - row["paged_at"] == timedelta(minutes=1)
    assert row["resolved_at"] - row["paged_at"] == timedelta(minutes=51)
    capped = design([{"targets": ["user:a"], "delay": "5m"}],
                    {"default": {"ack": constant(1), "work": {"default": constant(50)}}},
                    ack_timeout="20m", retriggers=1)
    assert simulate(pages(), capped, replicates=1).outcomes["retriggers"][0] == 1


def test_work_time_follows_urgency_and_service() -> None:
    d = design([{"targets": ["user:a"], "delay": "5m"}], {"default": {
        "ack": constant(1), "work": {"default": constant(30), "low": constant(90),
                                     "service:db": constant(10)}}})
    frame = pages(3).with_columns(pl.Series("urgency", ["high", "low", "high"]),
                                  pl.Series("service", [None, None, "db"]))
    outcomes = simulate(frame, d, replicates=1).outcomes
    assert [(r - p) // timedelta(minutes=1) for r, p in
            zip(outcomes["resolved_at"], outcomes["paged_at"], strict=True)] == [31, 91, 11]
    assert simulate(frame, d, replicates=1).summary["mttr_mean_min"][0] == pytest.approx((31 + 91 + 11) / 3)


def test_hour_factors_slow_acks_in_the_responders_own_sleep_hours() -> None:
    """A page at 23:30 UTC is 00:30 in Berlin (sleep) but 18:30 in New York (off hours)."""
    d = design([{"targets": ["user:eu"], "delay": "1h"}, {"targets": ["user:us"], "delay": "1h"}],
               {"default": {"ack": constant(10), "hour_factors": {"sleep": 3.0}},
                "eu": {"tz": "Europe/Berlin"}, "us": {"tz": "America/New_York", "miss": 0.0}},
               reassign=False)
    late = T0.replace(hour=23, minute=30)
    row = simulate(pages(start=late), d, replicates=1).outcomes.row(0, named=True)
    assert row["acked_at"] - late == timedelta(minutes=30)
    burden = simulate(pages(start=late), d, replicates=1).burden
    assert burden.filter(pl.col("responder") == "eu")["sleep_interruptions"].item() == 1


def test_busy_responders_ack_slower_while_handling_an_earlier_page() -> None:
    d = design([{"targets": ["user:a"], "delay": "1h"}],
               {"default": {"ack": constant(2), "busy": {"factor": 5.0},
                            "work": {"default": constant(30)}}})
    outcomes = simulate(pages(2, every=timedelta(minutes=10)), d, replicates=1).outcomes
    # page 1 acked at 2m, resolved at 32m: page 2 (at 10m) finds a busy, 5 × 2m = 10m
    assert [a - p for a, p in zip(outcomes["acked_at"], outcomes["paged_at"], strict=True)] == [
        timedelta(minutes=2), timedelta(minutes=10)]


# ------------------------------------------------------------------------------ frames and summaries


ROTA = {"primary": {"tz": "Europe/Berlin", "layers": [
    {"users": ["ana", "bo", "cy", "dee"], "turn": "1d", "start": "2026-01-05T09:00"}]}}


def rota_design(**extra: Any) -> Any:
    return design([{"targets": ["schedule:primary"], "delay": "5m"}, {"targets": ["user:lead"],
                                                                     "delay": "10m"}],
                  {"default": {"ack": exponential(4), "miss": 0.1}, "lead": {"ack": exponential(2)}},
                  schedules=ROTA, **extra)


def test_frames_meet_their_schemas_and_metrics_agree_with_the_outcomes() -> None:
    result = simulate(pages(60, every=timedelta(hours=5)), rota_design(), replicates=20, seed=3)
    validate(result.outcomes, PAGE_OUTCOMES)
    validate(result.burden, BURDEN)
    assert result.outcomes.height == 60 * 20 and result.burden.height == 5 * 20
    first = result.outcomes.filter(pl.col("replicate") == 0)
    tta = (first["acked_at"] - first["paged_at"]).dt.total_seconds(fractional=True) / 60
    assert result.metrics["mtta_mean_min"][0] == pytest.approx(tta.mean())
    assert result.metrics["missed_rate"][0] == pytest.approx((first["status"] == "missed").mean())
    burden = result.burden.filter(pl.col("replicate") == 0)
    rotation = burden.filter(pl.col("responder") != "lead")
    assert result.metrics["pages_gini"][0] == pytest.approx(gini(rotation["pages"].to_numpy()))
    assert burden["interruptions"].sum() == first["notifications"].sum()
    assert burden["acks"].sum() == (first["status"] == "acked").sum()
    summary = result.summary.row(0, named=True)
    assert summary["mtta_mean_min_lo"] <= summary["mtta_mean_min"] <= summary["mtta_mean_min_hi"]
    assert summary["mtta_median_min"] <= summary["mtta_p90_min"]


def test_same_seed_same_result_and_replicates_do_not_depend_on_chunking() -> None:
    frame = pages(30, every=timedelta(hours=3))
    a = simulate(frame, rota_design(), replicates=6, seed=9)
    b = simulate(frame, rota_design(), replicates=6, seed=9)
    assert a.outcomes.equals(b.outcomes)
    tail = simulate(frame, rota_design(), draws=draw(frame, rota_design(), replicates=2, seed=9, first=4))
    assert tail.outcomes.equals(a.outcomes.filter(pl.col("replicate") >= 4))
    other = simulate(frame, rota_design(), replicates=6, seed=10)
    assert not other.outcomes.equals(a.outcomes)
    from_rng = simulate(frame, rota_design(), replicates=2, seed=np.random.default_rng(1))
    assert from_rng.outcomes.height == 60


def test_no_pages_and_no_acks_give_nulls_not_zeros() -> None:
    d = design([{"targets": ["user:a"], "delay": "5m"}], {"default": {"ack": constant(1), "miss": 1.0}})
    summary = simulate(pages(3), d, replicates=2).summary.row(0, named=True)
    assert summary["mtta_mean_min"] is None and summary["mttr_mean_min"] is None
    assert summary["missed_rate"] == 1.0
    empty = simulate(pages(0), d, replicates=2)
    assert empty.outcomes.height == 0 and empty.summary["mtta_mean_min"][0] is None


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"replicates": 0}, ConfigError, "replicates"),
    ({"seed": -1}, ConfigError, "seed"),
    ({"seed": "x"}, ConfigError, "seed"),
])
def test_bad_arguments_are_config_errors(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        simulate(pages(), rota_design(), **kwargs)


def test_bad_pages_are_input_errors_naming_rows() -> None:
    frame = pages(3).with_columns(pl.Series("urgency", ["high", "critical", "low"]))
    with pytest.raises(InputError, match="urgency") as caught:
        simulate(frame, rota_design(), replicates=1)
    assert [p.row for p in caught.value.problems] == [2]
    with pytest.raises(InputError, match="page_id"):
        simulate(pages(2).drop("page_id"), rota_design(), replicates=1)


@pytest.mark.parametrize(("raw", "message"), [
    ({"levels": [{"targets": ["schedule:nope"]}]}, "unknown schedule"),
    ({"levels": [{"targets": ["team:x"]}]}, "schedule:<name>"),
    ({"levels": [{"targets": ["user:a"]}], "ack_timeout": "20m"}, "work-time model"),
    ({"levels": [{"targets": ["user:a"]}], "loops": 12}, "loops"),
    ({"levels": [{"targets": ["user:a"], "wait": "5m"}]}, "unknown key"),
])
def test_bad_designs_are_config_errors(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_design({"name": "x", "escalation": raw,
                      "responders": {"default": {"ack": exponential(4)}}})
