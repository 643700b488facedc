"""What each rule did, without incidents: counts, firing hours clipped to the period, episodes still
firing, flapping and pages per rule — each case a small table of alerts."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from alertsim.errors import ConfigError
from alertsim.quality.activity import rule_activity

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
INSTANT = pl.Datetime("us", "UTC")
PERIOD = (T0, T0 + dt.timedelta(days=7))


def _at(hours: float | None) -> dt.datetime | None:
    return None if hours is None else T0 + dt.timedelta(hours=hours)


def _alerts(*rows: tuple[str, str, float, float | None]) -> pl.DataFrame:
    return pl.DataFrame({"alert_id": list(range(len(rows))), "rule": [r[0] for r in rows],
                         "series": [r[1] for r in rows], "fired_at": [_at(r[2]) for r in rows],
                         "resolved_at": [_at(r[3]) for r in rows]},
                        schema_overrides={"fired_at": INSTANT, "resolved_at": INSTANT})


# case → (alerts as (rule, series, fired hour, resolved hour or None), expected (rule, alerts, firing
# hours, still firing, flapping) loudest first)
CASES = {
    "one episode": ([("A", "s", 1, 3)], [("A", 1, 2.0, 0, 0)]),
    "still firing counts to the end": ([("A", "s", 167, None)], [("A", 1, 1.0, 1, 0)]),
    "fired before the period is clipped": ([("A", "s", -5, 2)], [("A", 1, 2.0, 0, 0)]),
    "re-fired within the hour flaps": ([("A", "s", 1, 2), ("A", "s", 2.5, 3)], [("A", 2, 1.5, 0, 1)]),
    "another series does not flap": ([("A", "s", 1, 2), ("A", "t", 2.5, 3)], [("A", 2, 1.5, 0, 0)]),
    "louder rule first": ([("B", "s", 1, 2), ("A", "s", 1, 2), ("A", "s", 10, 11)],
                          [("A", 2, 2.0, 0, 0), ("B", 1, 1.0, 0, 0)]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_activity(case: str) -> None:
    rows, expected = CASES[case]
    table = rule_activity(_alerts(*rows), period=PERIOD)
    assert table.select("rule", "alerts", "firing_hours", "still_firing", "flapping").rows() == expected
    assert table["pages"].is_null().all()  # no pages given: unknown, not zero
    assert table["alerts_per_week"].to_list() == [float(e[1]) for e in expected]  # the period is one week


def test_pages_per_rule_rank_first_and_count_zero_when_a_rule_never_paged() -> None:
    alerts = _alerts(("Loud", "s", 1, 2), ("Loud", "s", 5, 6), ("Paging", "s", 3, 4))
    pages = pl.DataFrame({"page_id": ["p1", "p2"], "rule": ["Paging", None]})
    table = rule_activity(alerts, pages, period=PERIOD)
    assert table.select("rule", "pages", "alerts").rows() == [("Paging", 1, 1), ("Loud", 0, 2)]


def test_an_empty_period_is_an_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="period"):
        rule_activity(_alerts(("A", "s", 1, 2)), period=(T0, T0))
