"""Fatigue: who was paged, interruptions (60-second de-duplication, local-time buckets), weekly/team/shift
tables, the SRE and PagerDuty checks and noisy rules, on a hand-made week."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import polars as pl
import pytest

from alertsim.errors import ConfigError
from alertsim.frames import INCIDENTS, PAGES, SHIFTS
from alertsim.quality.fatigue import (
    HourBuckets,
    Routing,
    assign_responders,
    fatigue,
    interruption_band,
    interruptions,
    noisy_rules,
    pages_per_shift,
)


def utc(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, second, tzinfo=UTC)  # 2026-01-05 is a Monday


SHIFT_ROWS = [  # (responder, level, start, end, tz)
    ("ana", 1, utc(5, 0), utc(7, 0), "Europe/Berlin"),       # UTC+1
    ("bo", 1, utc(7, 0), utc(9, 0), "America/New_York"),     # UTC−5
    ("bo", 2, utc(8, 12), utc(9, 12), "America/New_York"),   # overlaps his own level-1 shift
    ("cy", 2, utc(5, 0), utc(9, 0), "UTC"),
    ("dee", 1, utc(9, 13), utc(9, 19), "UTC"),               # a short, busy shift
    ("cy", 1, utc(10, 0), utc(11, 0), "UTC"),                # Saturday
]
SHIFTS_WEEK = pl.DataFrame({
    "schedule": ["web"] * len(SHIFT_ROWS), "level": [r[1] for r in SHIFT_ROWS],
    "responder": [r[0] for r in SHIFT_ROWS], "start_at": [r[2] for r in SHIFT_ROWS],
    "end_at": [r[3] for r in SHIFT_ROWS], "tz": [r[4] for r in SHIFT_ROWS],
}, schema=SHIFTS.required)

PAGE_ROWS = [  # (page_id, paged_at, rule, urgency)   who / local time / bucket
    ("p1", utc(5, 2), "DiskFull", "high"),            # ana, Mon 03:00 Berlin, sleep
    ("p2", utc(5, 2, 0, 30), "DiskFull", "high"),     # ana, 30 s later: same interruption
    ("p3", utc(5, 2, 1, 30), "DiskFull", "high"),     # ana, 90 s after p1: a new interruption, same hour
    ("p4", utc(5, 10), "HighLatency", "high"),        # ana, Mon 11:00 Berlin, business
    ("p5", utc(6, 18, 30), "HighLatency", "high"),    # ana, Tue 19:30 Berlin, off hours
    ("p6", utc(7, 3), "HighLatency", "high"),         # bo, Tue 22:00 New York, sleep
    ("p7", utc(8, 15), "HighLatency", "high"),        # bo, Thu 10:00 New York, business
    ("p8", utc(9, 12), "CertExpiry", "low"),          # nobody on level 1: a coverage gap
    ("p9", utc(9, 14), "CertExpiry", "high"),         # dee, business
    ("p10", utc(9, 15), "CertExpiry", "high"),        # dee, business
]
PAGES_WEEK = pl.DataFrame({
    "page_id": [r[0] for r in PAGE_ROWS], "paged_at": [r[1] for r in PAGE_ROWS],
    "urgency": [r[3] for r in PAGE_ROWS], "service": ["web"] * len(PAGE_ROWS), "team": ["web"] * len(PAGE_ROWS),
    "rule": [r[2] for r in PAGE_ROWS],
}, schema={**PAGES.required, "service": pl.String, "team": pl.String, "rule": pl.String})
INCIDENTS_WEEK = pl.DataFrame({
    "incident_id": ["INC-1", "INC-2"], "service": ["web", "web"], "started_at": [utc(5, 1, 55), utc(8, 14, 50)],
    "resolved_at": [utc(5, 2, 30), utc(8, 15, 30)], "severity": ["SEV2", "SEV3"],
}, schema=INCIDENTS.required)
WEEK = (utc(5, 0), utc(12, 0))


def test_responders_come_from_the_level_1_shift() -> None:
    assigned = assign_responders(PAGES_WEEK, SHIFTS_WEEK)
    assert assigned["responder"].to_list() == ["ana"] * 5 + ["bo", "bo", None, "dee", "dee"]


def test_a_page_that_names_its_responder_keeps_it() -> None:
    named = PAGES_WEEK.with_columns(responder=pl.when(pl.col("page_id") == "p4").then(pl.lit("zed")))
    assert assign_responders(named, SHIFTS_WEEK)["responder"][3] == "zed"


def test_interruptions_by_hand() -> None:
    found = interruptions(PAGES_WEEK, SHIFTS_WEEK)
    assert found.select("responder", "bucket", "pages").rows() == [
        ("ana", "sleep", 2), ("ana", "sleep", 1), ("ana", "business", 1), ("ana", "off", 1),
        ("bo", "sleep", 1), ("bo", "business", 1), ("dee", "business", 1), ("dee", "business", 1)]
    assert found["page_ids"][0].to_list() == ["p1", "p2"]
    assert found["local_at"][4] == datetime(2026, 1, 6, 22, 0)     # New York wall time of p6
    assert found["tz"].to_list()[:5] == ["Europe/Berlin"] * 4 + ["America/New_York"]


@pytest.mark.parametrize(("gaps", "dedupe", "count"), [
    ([0, 30, 60], "60s", 1),        # all within 60 s of the first page
    ([0, 30, 61], "60s", 2),        # 61 s after the first page: new interruption
    ([0, 50, 100, 150], "60s", 2),  # within 60 s of each *previous* page, but not of the first
    ([0, 50, 100, 150], "0s", 4),
])
def test_sixty_second_deduplication(gaps: list[int], dedupe: str, count: int) -> None:
    pages = pl.DataFrame({"page_id": [f"p{i}" for i in range(len(gaps))],
                          "paged_at": [utc(5, 12) + timedelta(seconds=g) for g in gaps],
                          "urgency": ["high"] * len(gaps), "responder": ["ana"] * len(gaps)})
    assert interruptions(pages, dedupe=dedupe).height == count


@pytest.mark.parametrize(("local", "bucket"), [
    (datetime(2026, 1, 5, 7, 59), "sleep"), (datetime(2026, 1, 5, 8, 0), "business"),
    (datetime(2026, 1, 5, 17, 59), "business"), (datetime(2026, 1, 5, 18, 0), "off"),
    (datetime(2026, 1, 5, 21, 59), "off"), (datetime(2026, 1, 5, 22, 0), "sleep"),
    (datetime(2026, 1, 10, 12, 0), "off"),          # Saturday daytime
    (datetime(2026, 1, 11, 23, 0), "sleep"),        # Sunday night
])
def test_pagerduty_buckets(local: datetime, bucket: str) -> None:
    frame = pl.DataFrame({"local": [local]})
    assert frame.select(HourBuckets().expr(pl.col("local"))).item() == bucket


def test_bucket_boundaries_are_configurable() -> None:
    late_sleepers = HourBuckets(business_start=time(9), business_end=time(17), sleep_start=time(23),
                                sleep_end=time(7), workdays=(1, 2, 3, 4))
    frame = pl.DataFrame({"local": [datetime(2026, 1, 5, 8, 30), datetime(2026, 1, 9, 10, 0)]})  # Mon, Fri
    assert frame.select(late_sleepers.expr(pl.col("local"))).to_series().to_list() == ["off", "off"]
    with pytest.raises(ConfigError, match="workdays"):
        HourBuckets(workdays=(0, 1))


def test_shift_table_and_sre_check() -> None:
    table = pages_per_shift(PAGES_WEEK, SHIFTS_WEEK)
    rows = {(r["responder"], r["level"], r["start_at"].day): r for r in table.iter_rows(named=True)}
    assert rows[("ana", 1, 5)]["pages"] == 5 and rows[("ana", 1, 5)]["pages_per_12h"] == 1.25
    assert rows[("dee", 1, 9)]["pages_per_12h"] == 4.0 and rows[("dee", 1, 9)]["sre_ok"] is False
    assert rows[("ana", 1, 5)]["sre_ok"] is True
    assert rows[("bo", 2, 8)]["pages"] == 1          # p7 also falls in bo's overlapping level-2 shift
    assert rows[("cy", 2, 5)]["pages"] == 0


def test_fatigue_report_by_hand() -> None:
    report = fatigue(PAGES_WEEK, SHIFTS_WEEK, incidents=INCIDENTS_WEEK, period=WEEK)
    weekly = report.weekly.row(0, named=True)
    assert report.weekly.height == 1
    assert (weekly["pages"], weekly["interruptions"], weekly["off_hours_interruptions"],
            weekly["sleep_interruptions"]) == (10, 8, 1, 3)
    assert report.teams.rows() == [("web", 10, 10.0, 9, 4)]   # 10 pages in one week; 4 in sleep interruptions
    people = {r["responder"]: r for r in report.responders.iter_rows(named=True)}
    assert [people[p]["interruptions"] for p in ("ana", "bo", "cy", "dee")] == [4, 2, 0, 2]
    assert (people["ana"]["business"], people["ana"]["off_hours"], people["ana"]["sleep"]) == (1, 1, 2)
    assert [people[p]["interrupted_hours"] for p in ("ana", "bo", "cy", "dee")] == [3, 2, 0, 2]
    months = 7 / (365.25 / 12)
    assert people["ana"]["off_hours_interruptions_per_month"] == pytest.approx(3 / months)   # 13.04
    assert [people[p]["band"] for p in ("ana", "bo", "cy", "dee")] == ["bad", "moderate", "good", "good"]
    assert people["cy"]["tz"] == "UTC" and people["bo"]["pages"] == 2


def test_noisy_rules_share_of_pages_in_no_incident() -> None:
    table = noisy_rules(PAGES_WEEK, INCIDENTS_WEEK)
    assert table.select("rule", "pages", "unmatched_pages", "unmatched_share").rows() == [
        ("HighLatency", 4, 3, 0.75), ("CertExpiry", 3, 3, 1.0), ("DiskFull", 3, 0, 0.0)]
    assert table["share"].to_list() == pytest.approx([0.4, 0.3, 0.3])
    assert noisy_rules(PAGES_WEEK)["unmatched_share"].null_count() == 3   # no incidents: unknown, not 0


def test_pages_outside_the_period_are_left_out() -> None:
    report = fatigue(PAGES_WEEK, period=(utc(5, 0), utc(6, 0)))
    assert report.weekly["pages"].to_list() == [4]


def test_urgency_filter_and_time_zone_override() -> None:
    found = interruptions(PAGES_WEEK, SHIFTS_WEEK, urgencies={"low"})
    assert found.height == 0                           # the only low-urgency page reached nobody
    found = interruptions(PAGES_WEEK, SHIFTS_WEEK, timezones={"ana": "Asia/Tokyo"})
    # Tokyo is UTC+9: p1 and p3 at 11:00 Monday, p4 at 19:00 Monday, p5 at 03:30 Wednesday.
    assert found.filter(pl.col("responder") == "ana")["bucket"].to_list() == ["business", "business",
                                                                              "off", "sleep"]


@pytest.mark.parametrize(("per_month", "band"), [(0.0, "good"), (2.0, "good"), (2.1, "moderate"),
                                                 (7.0, "bad"), (18.9, "bad"), (19.0, "burnout"), (None, None)])
def test_pagerduty_bands(per_month: float | None, band: str | None) -> None:
    assert interruption_band(per_month) == band


def test_several_schedules_need_a_route() -> None:
    two = pl.concat([SHIFTS_WEEK, SHIFTS_WEEK.with_columns(schedule=pl.lit("db"),
                                                           responder=pl.col("responder") + "-db")])
    with pytest.raises(ConfigError, match="none of the columns \\['squad'\\]"):
        assign_responders(PAGES_WEEK, two, routing=Routing(by=("squad",)))
    assert assign_responders(PAGES_WEEK, two)["responder"][0] == "ana"      # routed by team = "web"
    to_db = Routing(by=("service",), schedules={"web": "db"})
    assert assign_responders(PAGES_WEEK, two, routing=to_db)["responder"][0] == "ana-db"
    no_team = PAGES_WEEK.with_columns(team=pl.lit(None, dtype=pl.String), service=pl.lit("db"))
    assert assign_responders(no_team, two)["responder"][0] == "ana-db"     # no team: by service


def test_unknown_time_zone() -> None:
    with pytest.raises(ConfigError, match="not an IANA time zone"):
        interruptions(PAGES_WEEK, SHIFTS_WEEK.with_columns(tz=pl.lit("Mars/Base")))
