"""Schedules: rotations, DST-safe handoffs, restrictions, layers, overrides, time off, iCal."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertsim.errors import ConfigError, InputError
from alertsim.frames import SHIFTS, validate
from alertsim.oncall.schedule import (
    Entry,
    FixedLayer,
    Layer,
    Override,
    Restriction,
    Schedule,
    TimeOff,
    coverage_gaps,
    on_call,
    parse_schedule,
    read_ical,
    shifts,
    to_ical,
)

WEEK = timedelta(weeks=1)
DAY = timedelta(days=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(frame: pl.DataFrame, column: str, tz: str) -> list[datetime]:
    return [v.astimezone(ZoneInfo(tz)).replace(tzinfo=None) for v in frame[column]]


def rotation(users: tuple[str, ...], turn: timedelta, start: datetime, tz: str = "UTC",
             **layer: object) -> Schedule:
    return Schedule(name="primary", tz=tz, layers=(Layer(users=users, turn=turn, start=start, **layer),))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), k=st.integers(1, 4),
       tz=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney"]),
       first_monday=st.integers(0, 51))
def test_weekly_turns_give_everyone_exactly_k_weeks(n: int, k: int, tz: str, first_monday: int) -> None:
    """n people, weekly turns, n·k weeks → exactly k turns of one wall-clock week each."""
    users = tuple(f"u{i}" for i in range(n))
    start = datetime(2026, 1, 5, 9) + timedelta(weeks=first_monday)
    schedule = rotation(users, WEEK, start, tz)
    begin = start.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    end = (start + n * k * WEEK).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    frame = shifts(schedule, begin, end)
    counts = frame.group_by("responder").len()
    assert sorted(counts["responder"]) == sorted(users) if n > 1 else frame.height == 1
    if n > 1:
        assert set(counts["len"]) == {k}
        starts, ends = local(frame, "start_at", tz), local(frame, "end_at", tz)
        assert all(e - s == WEEK for s, e in zip(starts, ends, strict=True))


@pytest.mark.parametrize(("tz", "dst_monday"), [
    ("Europe/Berlin", datetime(2026, 3, 23, 9)),      # clocks go forward Sunday 29 March
    ("Europe/Berlin", datetime(2026, 10, 19, 9)),     # clocks go back Sunday 25 October
    ("America/New_York", datetime(2026, 3, 2, 9)),    # forward Sunday 8 March
    ("America/New_York", datetime(2026, 10, 26, 9)),  # back Sunday 1 November
])
def test_dst_weeks_keep_the_handoff_wall_clock_time(tz: str, dst_monday: datetime) -> None:
    schedule = rotation(("ana", "bo", "cy"), WEEK, datetime(2026, 1, 5, 9), tz)
    frame = shifts(schedule, dst_monday.replace(tzinfo=UTC) - 3 * WEEK, dst_monday.replace(tzinfo=UTC)
                   + 3 * WEEK)
    handoffs = local(frame, "start_at", tz)[1:]
    assert all(h.time() == time(9) and h.weekday() == 0 for h in handoffs)
    hours = [(e - s).total_seconds() / 3600 for s, e in zip(frame["start_at"], frame["end_at"],
                                                            strict=True)][1:-1]
    assert sorted(set(hours)) in ([167.0, 168.0], [168.0, 169.0])  # the DST week is an hour short/long


def test_twelve_hour_split_hands_off_at_nine_and_twentyone_local_through_dst() -> None:
    schedule = rotation(("day", "night"), timedelta(hours=12), datetime(2026, 1, 5, 9), "Europe/Berlin")
    frame = shifts(schedule, utc(2026, 3, 27), utc(2026, 4, 1))
    starts = local(frame, "start_at", "Europe/Berlin")[1:]
    assert {s.time() for s in starts} == {time(9), time(21)}
    assert all(r == ("day" if s.hour == 9 else "night")
               for s, r in zip(starts, frame["responder"][1:], strict=True))


def test_handoff_in_the_skipped_hour_moves_to_the_transition() -> None:
    schedule = rotation(("a", "b"), DAY, datetime(2026, 3, 1, 2, 30), "Europe/Berlin")
    frame = shifts(schedule, utc(2026, 3, 28), utc(2026, 3, 31))
    starts = local(frame, "start_at", "Europe/Berlin")
    assert datetime(2026, 3, 29, 3, 0) in starts        # 02:30 does not exist that day
    assert datetime(2026, 3, 30, 2, 30) in starts


@pytest.mark.parametrize(("at", "expected"), [
    (utc(2026, 1, 5, 9), "ana"), (utc(2026, 1, 12, 8, 59), "ana"), (utc(2026, 1, 12, 9), "bo"),
    (utc(2026, 1, 19, 9), "cy"), (utc(2026, 1, 26, 9), "ana"), (utc(2025, 12, 29, 9), "cy"),
])
def test_on_call_follows_the_rotation_before_and_after_the_virtual_start(at: datetime,
                                                                        expected: str) -> None:
    assert on_call(rotation(("ana", "bo", "cy"), WEEK, datetime(2026, 1, 5, 9)), at) == expected


def test_on_call_for_many_instants_gives_a_series_with_nulls_for_gaps() -> None:
    day_only = rotation(("a",), DAY, datetime(2026, 1, 1), restrictions=(
        Restriction(kind="daily", start=time(8), duration=timedelta(hours=10)),))
    got = on_call(day_only, pl.Series([utc(2026, 1, 2, 12), utc(2026, 1, 2, 20), None]))
    assert got.to_list() == ["a", None, None]


def test_shifts_meet_the_shifts_schema_and_tile_the_window_without_overlap() -> None:
    schedule = rotation(("a", "b", "c"), timedelta(hours=8), datetime(2026, 1, 1, 6), "Asia/Kolkata")
    frame = validate(shifts(schedule, utc(2026, 1, 1), utc(2026, 2, 1), level=2), SHIFTS)
    assert frame["level"].unique().to_list() == [2]
    assert frame["start_at"][0] == utc(2026, 1, 1) and frame["end_at"][-1] == utc(2026, 2, 1)
    assert (frame["start_at"][1:] == frame["end_at"][:-1]).all()
    assert coverage_gaps(schedule, utc(2026, 1, 1), utc(2026, 2, 1)).height == 0


def test_daily_restriction_masks_but_turns_keep_counting_pagerduty() -> None:
    """Daily turns, weekday-only restriction: with PagerDuty semantics weekend turns are lost, so with
    7 people the same two never get a shift (the known wall-clock-turn consequence)."""
    users = tuple("abcdefg")
    weekdays = Restriction(kind="weekly", day=1, start=time(0), duration=timedelta(days=5))
    schedule = rotation(users, DAY, datetime(2026, 1, 5), restrictions=(weekdays,))
    frame = shifts(schedule, utc(2026, 1, 5), utc(2026, 3, 2))
    assert set(frame["responder"]) == set("abcde")
    gaps = coverage_gaps(schedule, utc(2026, 1, 5), utc(2026, 1, 12))
    assert gaps.rows() == [("primary", utc(2026, 1, 10), utc(2026, 1, 12))]


def test_active_turns_skip_masked_days_grafana() -> None:
    """The same layer with turns="active": masked weekends use up no one, so everyone gets shifts."""
    users = tuple("abcdefg")
    weekdays = Restriction(kind="weekly", day=1, start=time(0), duration=timedelta(days=5))
    schedule = rotation(users, DAY, datetime(2026, 1, 5), restrictions=(weekdays,), turns="active")
    frame = shifts(schedule, utc(2026, 1, 5), utc(2026, 3, 2))   # 8 weeks = 40 weekdays
    counts = dict(frame.group_by("responder").len().iter_rows())
    assert set(counts) == set(users) and sum(counts.values()) == 40
    assert max(counts.values()) - min(counts.values()) <= 1
    assert on_call(schedule, utc(2026, 1, 12, 12)) == "f"     # Monday after the first weekend


def test_last_layer_wins_and_overrides_sit_on_top() -> None:
    base = Layer(users=("ana", "bo"), turn=WEEK, start=datetime(2026, 1, 5))
    nights = Layer(users=("night",), turn=WEEK, start=datetime(2026, 1, 5), restrictions=(
        Restriction(kind="daily", start=time(22), duration=timedelta(hours=10)),))
    schedule = Schedule(name="p", tz="UTC", layers=(base, nights), overrides=(
        Override(user="zed", start=utc(2026, 1, 6, 23), end=utc(2026, 1, 7, 1)),))
    cases = {utc(2026, 1, 6, 12): "ana", utc(2026, 1, 6, 22, 30): "night", utc(2026, 1, 7, 0): "zed",
             utc(2026, 1, 7, 1): "night", utc(2026, 1, 7, 8): "ana"}
    assert {at: on_call(schedule, at) for at in cases} == cases


def test_time_off_is_covered_by_the_next_user_of_the_layer() -> None:
    schedule = Schedule(name="p", tz="UTC", layers=(Layer(users=("ana", "bo", "cy"), turn=WEEK,
                                                          start=datetime(2026, 1, 5)),),
                        time_off=(TimeOff(user="ana", start=utc(2026, 1, 6), end=utc(2026, 1, 8)),
                                  TimeOff(user="bo", start=utc(2026, 1, 7), end=utc(2026, 1, 9))))
    assert on_call(schedule, utc(2026, 1, 5, 12)) == "ana"
    assert on_call(schedule, utc(2026, 1, 6, 12)) == "bo"
    assert on_call(schedule, utc(2026, 1, 7, 12)) == "cy"     # both ana and bo away
    assert on_call(schedule, utc(2026, 1, 8, 12)) == "ana"
    assert on_call(schedule, utc(2026, 1, 14, 12)) == "bo"    # bo's own week is unaffected afterwards


def test_holidays_mask_layers_that_skip_them() -> None:
    office = Layer(users=("ana",), turn=WEEK, start=datetime(2026, 1, 5), holidays="skip",
                   restrictions=(Restriction(kind="daily", start=time(8), duration=timedelta(hours=10)),))
    fallback = Layer(users=("ops",), turn=WEEK, start=datetime(2026, 1, 5))
    schedule = Schedule(name="p", tz="Europe/Berlin", layers=(fallback, office),
                        holidays=(date(2026, 12, 25),))
    assert on_call(schedule, utc(2026, 12, 24, 12)) == "ana"
    assert on_call(schedule, utc(2026, 12, 25, 12)) == "ops"


def test_follow_the_sun_regional_layers_cover_the_day_in_their_own_zones() -> None:
    raw = {"tz": "UTC", "layers": [
        {"name": "emea", "tz": "Europe/Berlin", "users": ["ana", "bo"], "turn": "1w",
         "start": "2026-01-05T07:00", "restrictions": [{"type": "daily", "start": "07:00",
                                                       "duration": "12h"}]},
        {"name": "amer", "tz": "America/Los_Angeles", "users": ["cy", "dee"], "turn": "1w",
         "start": "2026-01-05T10:00", "restrictions": [{"type": "daily", "start": "10:00",
                                                       "duration": "12h"}]}]}
    schedule = parse_schedule("sun", raw)   # Berlin 07-19 = 06-18 UTC; LA 10-22 = 18-06 UTC in winter
    assert on_call(schedule, utc(2026, 1, 7, 12)) == "ana"    # 13:00 Berlin
    assert on_call(schedule, utc(2026, 1, 7, 20)) == "cy"     # 12:00 Los Angeles
    assert coverage_gaps(schedule, utc(2026, 1, 5), utc(2026, 1, 12)).height == 0
    assert coverage_gaps(schedule, utc(2026, 3, 9), utc(2026, 3, 16)).height > 0  # US DST, EU not yet


def test_ical_export_then_import_gives_the_same_shifts() -> None:
    schedule = rotation(("ana", "bo", "cy"), timedelta(hours=12), datetime(2026, 3, 1, 9), "Europe/Berlin")
    feed = to_ical(schedule, utc(2026, 3, 20), utc(2026, 4, 5))
    assert feed.count(b"BEGIN:VEVENT") == shifts(schedule, utc(2026, 3, 20), utc(2026, 4, 5)).height
    back = read_ical(feed, name="primary", tz="Europe/Berlin")
    assert isinstance(back.layers[0], FixedLayer)
    original = shifts(schedule, utc(2026, 3, 20), utc(2026, 4, 5)).drop("tz")
    assert shifts(back, utc(2026, 3, 20), utc(2026, 4, 5)).drop("tz").equals(original)


def test_ical_import_reads_pagerduty_style_summaries_and_names_bad_events(tmp_path) -> None:  # type: ignore[no-untyped-def]
    feed = tmp_path / "feed.ics"
    feed.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
                    "BEGIN:VEVENT\r\nUID:1\r\nSUMMARY:On Call - Ana Smith - Platform\r\n"
                    "DTSTART:20260105T090000Z\r\nDTEND:20260112T090000Z\r\nEND:VEVENT\r\n"
                    "END:VCALENDAR\r\n")
    schedule = read_ical(feed, name="pd")
    assert schedule.layers[0].entries == (Entry(user="Ana Smith", start=utc(2026, 1, 5, 9),  # type: ignore[union-attr]
                                                end=utc(2026, 1, 12, 9)),)
    feed.write_bytes(feed.read_bytes().replace(b"UID:1\r\n", b"UID:1\r\nRRULE:FREQ=WEEKLY\r\n"))
    with pytest.raises(InputError, match="recurring"):
        read_ical(feed, name="pd")


@pytest.mark.parametrize(("raw", "field", "message"), [
    ({"layers": [{"users": ["a"], "turn": "1w"}]}, "layers[0].start", "required"),
    ({"layers": [{"users": ["a"], "turn": "1 week", "start": "2026-01-05"}]}, "layers[0].turn",
     "not a duration"),
    ({"layers": [{"users": ["a"], "turn": "1w", "start": "2026-01-05", "colour": "red"}]}, "layers[0]",
     "unknown key"),
    ({"tz": "Mars/Olympus", "layers": []}, "tz", "unknown time zone"),
    ({"layers": [{"users": ["a"], "turn": "1w", "start": "2026-01-05",
                  "restrictions": [{"type": "weekly", "start": "09:00", "duration": "5d"}]}]},
     "restrictions[0]", "day"),
    ({"layers": [{"users": [], "turn": "1w", "start": "2026-01-05"}]}, "layers[0]", "user"),
])
def test_bad_schedules_name_the_field(raw: dict, field: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_schedule("primary", raw, file="design.yaml")
    assert caught.value.file == "design.yaml" and field in (caught.value.field or "")


def test_yaml_clock_values_and_inclusive_end_dates() -> None:
    schedule = parse_schedule("p", {"tz": "UTC", "layers": [
        {"users": ["a", "b"], "turn": "1d", "start": "2026-01-05", "handoff": 1050}],  # YAML 17:30
        "time_off": [{"user": "a", "start": "2026-01-07", "end": "2026-01-07"}]})
    assert on_call(schedule, utc(2026, 1, 5, 17, 29)) == "b"      # turn -1
    assert on_call(schedule, utc(2026, 1, 5, 17, 30)) == "a"      # turn 0 starts at the handoff
    assert on_call(schedule, utc(2026, 1, 7, 18)) == "b"         # a's turn, a away all of the 7th
    assert on_call(schedule, utc(2026, 1, 8, 0, 30)) == "a"       # ... and back on the 8th
