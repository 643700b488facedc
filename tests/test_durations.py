"""Durations in Prometheus' grammar and ISO-8601 instants: what parses, to what, and what is refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertsim.durations import (
    format_duration,
    instant_us,
    parse_duration,
    parse_instant,
    to_datetime,
    to_microseconds,
    to_us,
)
from alertsim.errors import ConfigError


@pytest.mark.parametrize(("text", "expected"), [
    ("30s", timedelta(seconds=30)),
    ("5m", timedelta(minutes=5)),
    ("1h30m", timedelta(hours=1, minutes=30)),
    ("7d", timedelta(days=7)),
    ("2w", timedelta(weeks=2)),
    ("500ms", timedelta(milliseconds=500)),
    ("0", timedelta(0)),
    ("0s", timedelta(0)),
    ("1y", timedelta(days=365)),
    ("1h0m", timedelta(hours=1)),
    ("90s", timedelta(seconds=90)),  # a unit may exceed the next one up, as in Prometheus
    ("1d2h3m4s5ms", timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=5)),
    (" 5m ", timedelta(minutes=5)),
])
def test_good_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", [
    "5 min",  # a space and a long unit name
    "1.5h",  # fractions
    "30m1h",  # units out of order
    "-5m",  # negative
    "",  # empty
    "5",  # no unit (only "0" may go without)
    "5M",  # units are lower case
    "1h1h",  # a unit twice
    "m",  # no number
    "٥m",  # non-ASCII digits
    "1e3s",
    "99999999999999999999y",  # beyond what a timedelta holds
])
def test_bad_durations_are_config_errors_naming_the_field(text):
    with pytest.raises(ConfigError) as caught:
        parse_duration(text, field="for")
    assert caught.value.field == "for"
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize("value", [5, 1.5, None, b"5m"])
def test_non_strings_are_refused(value):
    with pytest.raises(ConfigError, match="expected a duration such as '30s', '5m', '1h30m'"):
        parse_duration(value)  # type: ignore[arg-type]


def test_timedelta_passes_through_but_not_a_negative_one():
    assert parse_duration(timedelta(seconds=3)) == timedelta(seconds=3)
    with pytest.raises(ConfigError, match="must not be negative"):
        parse_duration(timedelta(seconds=-1))


@pytest.mark.parametrize(("value", "text"), [
    (timedelta(0), "0s"),
    (timedelta(seconds=90), "1m30s"),
    (timedelta(hours=1, minutes=30), "1h30m"),
    (timedelta(days=14), "2w"),
    (timedelta(days=400, milliseconds=1), "1y5w1ms"),
    (timedelta(microseconds=1500), "2ms"),  # finer than the grammar: rounded to the millisecond
])
def test_format_duration(value, text):
    assert format_duration(value) == text


def test_format_refuses_negative_durations():
    with pytest.raises(ConfigError):
        format_duration(timedelta(seconds=-1))


def test_to_microseconds_is_exact_for_long_durations():
    assert to_microseconds("1h") == 3_600_000_000
    assert to_microseconds("9999y") == 9999 * 365 * 86_400 * 1_000_000


@given(st.integers(min_value=0, max_value=10**14))
def test_format_then_parse_is_the_identity_at_millisecond_resolution(milliseconds):
    value = timedelta(milliseconds=milliseconds)
    assert parse_duration(format_duration(value)) == value


# --- instants: the one parser of every option, file and API argument --------------------------------

@pytest.mark.parametrize(("value", "expected_us"), [
    ("1970-01-01T00:00:01Z", 1_000_000),
    ("1970-01-01T00:00:01z", 1_000_000),
    ("1970-01-01T00:00:01", 1_000_000),                       # naive means UTC
    ("1970-01-01T01:00:01+01:00", 1_000_000),
    (" 1970-01-01 00:00:01.5Z ", 1_500_000),
    ("1970-01-02", 86_400_000_000),
    (datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), 1_000_000),
    (datetime(1970, 1, 1, 0, 0, 1), 1_000_000),
])
def test_instants_parse_to_microseconds(value, expected_us):
    assert instant_us(value, field="start") == expected_us
    assert to_us(to_datetime(expected_us)) == expected_us


@pytest.mark.parametrize(("value", "kwargs", "words"), [
    ("yesterday", {}, "is not an ISO-8601 instant such as 2026-03-02T00:00:00Z"),
    ("now", {}, "is not an ISO-8601 instant"),
    ("2026-13-01", {}, "is not an ISO-8601 instant"),
    (12345, {}, "expected an ISO-8601 instant"),
    (None, {}, "expected an ISO-8601 instant"),
    ("2026-03-02T00:00:00", {"naive_is_utc": False}, "has no time zone offset"),
    ("now-30 days", {"relative": True}, "'now' or 'now-30d'"),
    ("then", {"relative": True}, "'now' or 'now-30d'"),
])
def test_bad_instants_name_the_field_and_the_form(value, kwargs, words):
    with pytest.raises(ConfigError, match=re.escape(words)) as caught:
        parse_instant(value, field="end", file="silences.json", **kwargs)
    assert caught.value.field == "end" and caught.value.file == "silences.json"


def test_relative_instants_count_back_from_now():
    before = datetime.now(UTC)
    month_ago = parse_instant("now-30d", field="start", relative=True)
    assert before - timedelta(days=30) <= month_ago <= datetime.now(UTC) - timedelta(days=30)
    assert parse_instant("NOW", field="end", relative=True) >= before
