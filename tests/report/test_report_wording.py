"""The report's summary names the noisiest rule by false pages per week, and says what reset time is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from alertsim.report.html import noisiest_rule, quality_section

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def _pages(rows):
    return pl.DataFrame([{"page_id": f"p{i}", "rule": rule, "service": "api", "team": "t", "urgency": "high",
                          "paged_at": T0 + timedelta(hours=hour)} for i, (rule, hour) in enumerate(rows)])


INCIDENTS = pl.DataFrame({"incident_id": ["A"], "service": ["api"], "started_at": [T0],
                          "resolved_at": [T0 + timedelta(hours=2)], "severity": ["sev2"]})


def test_the_noisiest_rule_is_the_one_with_most_false_pages_per_week():
    # Loud pages 3 times, all during the incident; Quiet pages twice, both outside any incident.
    pages = _pages([("Loud", 0), ("Loud", 1), ("Loud", 1.5), ("Quiet", 30), ("Quiet", 60)])
    text = noisiest_rule({"pages": pages, "incidents": INCIDENTS}, weeks=2.0)
    assert text is not None
    assert text.startswith("Noisiest rule: Quiet, 1.0 false pages per week")


def test_without_pages_the_summary_says_it_ranks_false_alerts():
    quality = pl.DataFrame({"rule": ["A", "B"], "false_alerts": [1, 5], "false_alerts_per_week": [0.5, 2.5],
                            "precision": [0.9, 0.2]})
    text = noisiest_rule({"quality": quality}, weeks=2.0)
    assert text is not None and "by false alerts per week" in text and ": B, 2.5" in text


def test_reset_time_is_defined_with_its_sign():
    quality = pl.DataFrame({"rule": ["A"], "alerts": [1]})
    section = quality_section({"quality": quality})
    assert section is not None
    text = " ".join(section.paragraphs)
    assert "Reset time is" in text and "negative that the alert cleared before the incident was closed" in text
