"""The committed sample gives a sensible, non-trivial table for each quality command."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

import alertsim as al
from alertsim.quality.detection import missed_incidents
from alertsim.quality.fairness import burden, fairness
from alertsim.quality.fatigue import fatigue
from alertsim.quality.response import incidents_from_pages, mtta, response_times, trend_test


@pytest.fixture(scope="module")
def sample() -> al.Sample:
    return al.load_sample()


@pytest.fixture(scope="module")
def zones(sample: al.Sample) -> dict[str, str]:
    return dict(sample.roster.select("responder", "tz").iter_rows())


def test_fatigue_of_the_page_history(sample: al.Sample, zones: dict[str, str]) -> None:
    period = (sample.start, sample.start + timedelta(days=sample.days))
    report = fatigue(sample.pages, sample.shifts, incidents=sample.incidents, period=period, timezones=zones)
    assert report.weekly["pages"].sum() == sample.pages.height == 185
    assert report.responders.height == 10 and (report.responders["interruptions"] > 0).all()
    assert 0 < report.responders["sleep"].sum() < report.responders["interruptions"].sum()
    assert report.responders["band"].n_unique() >= 2            # not everyone in the same band
    noisy = report.rules.row(0, named=True)
    # The sample README: HighLatency has the most pages, 43 of its 60 are noise.
    assert (noisy["rule"], noisy["pages"], noisy["unmatched_pages"]) == ("HighLatency", 60, 43)
    assert report.shifts is not None and report.shifts["sre_ok"].drop_nulls().len() > 0


def test_burden_and_fairness_of_the_rotation(sample: al.Sample, zones: dict[str, str]) -> None:
    period = (sample.start, sample.start + timedelta(days=sample.days))
    people = burden(sample.shifts, timezones=zones, period=period)
    assert people.height == 10
    assert people["oncall_hours"].sum() == pytest.approx(60 * 24 * 4)   # 2 schedules × 2 levels × 60 days
    indices = fairness(people).filter(pl.col("burden") == "oncall_hours").row(0, named=True)
    assert 0 < indices["gini"] < 0.5 and 0 < indices["pairwise_balance"] < 1


def test_response_times_of_incidents_and_pages(sample: al.Sample) -> None:
    table = response_times(sample.incidents, by="severity")
    assert table["severity"].to_list() == ["sev1", "sev2", "sev3"]
    assert (table["mtta"].dt.total_seconds() > 0).all()
    pages = mtta(incidents_from_pages(sample.pages)).row(0, named=True)
    assert pages["measured"] == 185 - 73             # the README: 73 pages never acknowledged
    assert trend_test(sample.incidents).measured == 19


@pytest.mark.slow
def test_scoring_the_sample_rules(sample: al.Sample) -> None:
    result = al.replay(sample.metrics, al.load_rules(al.datasets.SAMPLE_DIR.parent / "rules" / "sample.yaml"))
    table = al.score(result.alerts, sample.incidents, early="5m", period=(result.start, result.end))
    rows = {r["rule"]: r for r in table.iter_rows(named=True)}
    # Naive rules page on noise; the better candidates are precise.
    assert rows["HighCPU"]["precision"] < 0.5 and rows["SlowLatency"]["precision"] == 1.0
    assert rows["SlowLatency"]["recall"] > rows["HighCPU"]["recall"]
    assert missed_incidents(result.alerts, sample.incidents, early="5m").height < sample.incidents.height
