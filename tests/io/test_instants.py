"""Every reader parses instants with ``alertsim.durations`` (the one parser): promtool's ``--start``/``--at``,
the cloud metric exports and Squadcast's incidents agree with :func:`~alertsim.durations.instant_us` on
the same strings, and a malformed stamp is an error (promtool) or skipped (exports), never guessed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alertsim.durations import instant_us
from alertsim.errors import ConfigError
from alertsim.io import cloud_metrics, promtool, squadcast

CASES = [
    ("2026-03-02T10:00:00Z", 1_772_445_600_000_000),
    ("2026-03-02T10:00:00z", 1_772_445_600_000_000),
    ("2026-03-02T10:00:00", 1_772_445_600_000_000),           # naive means UTC
    ("2026-03-02T11:00:00+01:00", 1_772_445_600_000_000),
    ("2026-03-02 10:00:00.250Z", 1_772_445_600_250_000),
    (" 2026-03-02T10:00:00Z ", 1_772_445_600_000_000),
    ("2026-03-02", 1_772_409_600_000_000),
]
BAD = ["yesterday", "2026-13-01", "", "10:00"]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_readers_parse_instants_as_durations_does(text: str, expected: int) -> None:
    assert instant_us(text, field="start") == expected
    assert promtool._us(text, "start") == expected
    assert cloud_metrics._instant_us(text) == expected
    moment = squadcast._instant(text)
    assert moment is not None and moment == datetime.fromtimestamp(expected / 1e6, UTC)


@pytest.mark.parametrize("text", BAD)
def test_malformed_instants_are_errors_or_skipped(text: str) -> None:
    with pytest.raises(ConfigError, match="is not an ISO-8601 instant") as caught:
        promtool._us(text, "at")
    assert caught.value.field == "at"
    assert cloud_metrics._instant_us(text) is None
    assert squadcast._instant(text) is None


def test_non_strings() -> None:
    assert promtool._us(1_000_000, "start") == 1_000_000          # microseconds pass through
    assert promtool._us(datetime(1970, 1, 1, 0, 0, 1), "start") == 1_000_000
    assert cloud_metrics._instant_us(1_772_445_600) is None       # a number is not an ISO stamp
    assert cloud_metrics._instant_us(None) is None
