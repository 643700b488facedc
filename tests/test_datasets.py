"""The seeded sample: determinism, schemas, realistic counters, visible incidents, a page history that
agrees with the rotation, and the committed ``data/sample/`` that the documented command reproduces."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pyarrow
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from alertsim import datasets
from alertsim.commands.datasets import register
from alertsim.datasets import FRAME_SCHEMAS, Sample, generate, load_sample, read_sample, write_sample
from alertsim.errors import ConfigError, InputError
from alertsim.frames import validate

MINUTE = timedelta(minutes=1)


@pytest.fixture(scope="module")
def sample() -> Sample:
    """The committed sample (or, without a checkout, the same data generated)."""
    return load_sample()


@pytest.fixture(scope="module")
def increments(sample: Sample) -> pl.DataFrame:
    return _increments(sample.metrics)


@pytest.fixture(scope="module")
def small() -> Sample:
    return generate(seed=3, days=14)


def _digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def _increments(metrics: pl.DataFrame) -> pl.DataFrame:
    """Per service and minute: requests and errors, with Prometheus' reset rule (a drop means the
    counter restarted from zero, so the new value is the increase)."""
    counters = (metrics.filter(pl.col("metric").is_in(["http_requests_total", "http_errors_total"]))
                .sort("metric", "instance", "timestamp")
                .with_columns(pl.col("value").diff().over("metric", "instance").alias("delta")))
    increase = (pl.when(pl.col("delta") < 0).then(pl.col("value")).otherwise(pl.col("delta"))
                .fill_null(0.0).alias("increase"))
    return (counters.with_columns(increase)
            .group_by("service", "timestamp").agg(
                pl.col("increase").filter(pl.col("metric") == "http_requests_total").sum().alias("requests"),
                pl.col("increase").filter(pl.col("metric") == "http_errors_total").sum().alias("errors"))
            .sort("service", "timestamp"))


# ---------------------------------------------------------------------------------------- determinism


def test_the_same_seed_gives_identical_frames() -> None:
    first, second = generate(seed=5, days=7), generate(seed=5, days=7)
    for name, frame in first.frames().items():
        assert_frame_equal(frame, second.frames()[name])


def test_another_seed_gives_other_data() -> None:
    first, second = generate(seed=5, days=7), generate(seed=6, days=7)
    assert not first.metrics["value"].equals(second.metrics["value"])
    assert not first.incidents["started_at"].equals(second.incidents["started_at"])


def test_writing_the_same_sample_gives_identical_bytes(tmp_path: Path) -> None:
    write_sample(generate(seed=5, days=7), tmp_path / "a")
    write_sample(generate(seed=5, days=7), tmp_path / "b")
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]  # no temporary files left


def test_a_written_sample_reads_back_unchanged(tmp_path: Path, small: Sample) -> None:
    back = read_sample(write_sample(small, tmp_path))
    assert (back.seed, back.days, back.start) == (3, 14, datasets.SAMPLE_START)
    for name, frame in small.frames().items():
        assert_frame_equal(back.frames()[name], frame)


@pytest.mark.parametrize("name", ["incidents", "pages", "shifts", "roster", "noise"])
def test_csv_copies_hold_the_same_rows(tmp_path: Path, small: Sample, name: str) -> None:
    write_sample(small, tmp_path)
    frame = small.frames()[name]
    text = pl.read_csv(tmp_path / f"{name}.csv", schema_overrides={
        c: pl.String() for c, t in frame.schema.items() if isinstance(t, pl.Datetime)})
    parsed = text.with_columns(
        pl.col(c).str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_unit="us").dt.replace_time_zone("UTC")
        for c, t in frame.schema.items() if isinstance(t, pl.Datetime))
    assert_frame_equal(parsed, frame, check_dtypes=False)


# ---------------------------------------------------------------------------------------- the committed sample


def test_the_committed_sample_is_under_10_mb() -> None:
    if not (datasets.SAMPLE_DIR / datasets.MANIFEST).exists():
        pytest.skip("data/sample/ is not in this checkout")
    total = sum(p.stat().st_size for p in datasets.SAMPLE_DIR.iterdir() if p.is_file())
    assert total <= 10 * 1024 * 1024


def test_the_documented_command_reproduces_the_committed_sample(tmp_path: Path) -> None:
    if not (datasets.SAMPLE_DIR / datasets.MANIFEST).exists():
        pytest.skip("data/sample/ is not in this checkout")
    manifest = json.loads((datasets.SAMPLE_DIR / datasets.MANIFEST).read_text())
    assert manifest["command"] == datasets.SAMPLE_COMMAND
    regenerated = generate(seed=manifest["seed"], days=manifest["days"])
    committed = read_sample(datasets.SAMPLE_DIR)
    for name, frame in regenerated.frames().items():
        assert_frame_equal(committed.frames()[name], frame)
    written = manifest["written_with"]
    if (written["pyarrow"], written["polars"], written["numpy"]) != (pyarrow.__version__, pl.__version__,
                                                                     np.__version__):
        pytest.skip(f"frames match; bytes are only comparable with the writer versions {written}")
    write_sample(regenerated, tmp_path)
    assert _digests(tmp_path) == {name: digest for name, digest in _digests(datasets.SAMPLE_DIR).items()
                                  if not name.startswith(".")}


def test_load_sample_generates_the_same_data_without_a_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                sample: Sample) -> None:
    monkeypatch.setattr(datasets, "SAMPLE_DIR", tmp_path / "absent")
    generated = load_sample()
    assert (generated.seed, generated.days) == (datasets.SAMPLE_SEED, datasets.SAMPLE_DAYS)
    assert_frame_equal(generated.pages, sample.pages)
    assert_frame_equal(generated.incidents, sample.incidents)


# ---------------------------------------------------------------------------------------- shape of the data


@pytest.mark.parametrize("name", list(FRAME_SCHEMAS))
def test_every_frame_meets_its_schema(sample: Sample, name: str) -> None:
    frame = sample.frames()[name]
    assert validate(frame, FRAME_SCHEMAS[name]).height > 0


def test_metrics_are_one_sample_per_minute_for_every_series(sample: Sample) -> None:
    per_series = sample.metrics.group_by("metric", "service", "instance").agg(
        pl.len().alias("samples"), pl.col("timestamp").min().alias("first"),
        pl.col("timestamp").diff().max().alias("step"))
    assert per_series.height == 6 * 3 + 2 * 3  # cpu and two counters per instance, two gauges per service
    assert per_series["samples"].unique().to_list() == [60 * 1440]
    assert per_series["first"].unique().to_list() == [datasets.SAMPLE_START]
    assert per_series["step"].unique().to_list() == [MINUTE]


@pytest.mark.parametrize(("metric", "low", "high"), [
    ("cpu", 0.0, 100.0),
    ("latency_p99", 0.005, 10.0),
    ("queue_depth", 0.0, 10_000.0),
])
def test_gauges_stay_in_their_physical_range(sample: Sample, metric: str, low: float, high: float) -> None:
    values = sample.metrics.filter(pl.col("metric") == metric)["value"]
    assert low <= values.min() and values.max() <= high  # type: ignore[operator]


def test_traffic_has_daily_and_weekly_seasonality(increments: pl.DataFrame) -> None:
    requests = increments.filter(pl.col("service") == "search")
    by_hour = requests.group_by(pl.col("timestamp").dt.hour().alias("hour")).agg(pl.col("requests").mean())
    by_day = requests.group_by(pl.col("timestamp").dt.weekday().alias("weekday")).agg(pl.col("requests").mean())
    hourly = dict(by_hour.iter_rows())
    daily = dict(by_day.iter_rows())
    assert hourly[19] > 3 * hourly[4]  # American evening peak against the night floor (UTC)
    assert daily[3] > 1.2 * daily[7]  # Wednesday against Sunday


def test_counters_only_go_down_at_restarts(sample: Sample) -> None:
    """A counter drops only when its instance restarts: in a deploy, or where an incident's fix restarts it."""
    counters = (sample.metrics.filter(pl.col("metric").str.ends_with("_total"))
                .sort("metric", "instance", "timestamp")
                .with_columns(pl.col("value").diff().over("metric", "instance").alias("delta")))
    drops = counters.filter(pl.col("delta") < 0)
    assert drops.height > 0
    restarts = pl.concat([
        sample.noise.filter(pl.col("kind") == "deploy").select("service", at=pl.col("started_at")),
        sample.incidents.filter(pl.col("kind").is_in(["level_shift", "ramp", "outage"]))
        .select("service", at=pl.col("started_at")),
        sample.incidents.filter(pl.col("kind").is_in(["level_shift", "ramp", "outage"]))
        .select("service", at=pl.col("resolved_at") - 5 * MINUTE),
    ])
    explained = drops.join(restarts, on="service").filter(
        (pl.col("timestamp") >= pl.col("at")) & (pl.col("timestamp") <= pl.col("at") + 6 * MINUTE))
    unexplained = drops.join(explained.select("metric", "instance", "timestamp").unique(),
                             on=["metric", "instance", "timestamp"], how="anti")
    assert unexplained.height == 0, unexplained
    # after a restart the counter holds only what that minute counted
    assert (drops["value"] < 10_000).all()


def test_counters_never_go_down_between_restarts(small: Sample) -> None:
    counters = small.metrics.filter(pl.col("metric").str.ends_with("_total")).sort("metric", "instance",
                                                                                   "timestamp")
    deltas = counters.with_columns(pl.col("value").diff().over("metric", "instance").alias("delta"))
    drops_per_instance = deltas.filter(pl.col("delta") < 0).group_by("metric", "instance").len()
    deploys_per_service = small.noise.filter(pl.col("kind") == "deploy").group_by("service").len()
    # every deploy restarts each instance once; incidents add a few more restarts
    assert drops_per_instance["len"].min() >= deploys_per_service["len"].min()  # type: ignore[operator]


# ---------------------------------------------------------------------------------------- incidents and noise


def test_there_are_several_incidents_of_every_kind_on_different_services(sample: Sample) -> None:
    per_kind = sample.incidents.group_by("kind").agg(pl.len(), pl.col("service").n_unique().alias("services"))
    assert sorted(per_kind["kind"]) == sorted(datasets.INCIDENT_KINDS)
    assert per_kind["len"].min() >= 3  # type: ignore[operator]
    assert per_kind["services"].min() >= 2  # type: ignore[operator]


def _window_mean(frame: pl.DataFrame, service: str, start: datetime, end: datetime, column: str) -> float:
    part = frame.filter((pl.col("service") == service) & (pl.col("timestamp") >= start)
                        & (pl.col("timestamp") < end))
    return float(part[column].mean())  # type: ignore[arg-type]


@pytest.mark.parametrize(("kind", "metric", "differs"), [
    ("spike", "latency_p99", lambda during, before: during > 2 * before),
    ("level_shift", "latency_p99", lambda during, before: during > before + 0.3),
    ("ramp", "queue_depth", lambda during, before: during > before + 500),
    ("outage", "error_ratio", lambda during, before: during > 0.9 and before < 0.01),
    ("error_burst", "error_ratio", lambda during, before: during > 0.05 and before < 0.01),
])
def test_every_incident_differs_from_the_same_hours_a_week_before(sample: Sample, increments: pl.DataFrame,
                                                                  kind: str, metric: str, differs: object) -> None:
    if metric == "error_ratio":
        series = increments.with_columns(
            (pl.col("errors") / pl.col("requests")).alias("error_ratio"))
    else:
        series = sample.metrics.filter(pl.col("metric") == metric).rename({"value": metric})
    week = timedelta(days=7)
    for row in sample.incidents.filter(pl.col("kind") == kind).iter_rows(named=True):
        start, end = row["started_at"], row["resolved_at"]
        during = _window_mean(series, row["service"], start, end, metric)
        before = _window_mean(series, row["service"], start - week, end - week, metric)
        assert differs(during, before), (row["incident_id"], during, before)  # type: ignore[operator]


def test_noise_of_every_kind_is_labelled(sample: Sample) -> None:
    kinds = sample.noise.group_by("kind").len()
    assert sorted(kinds["kind"]) == sorted(datasets.NOISE_KINDS)
    assert kinds["len"].min() >= 5  # type: ignore[operator]


def test_every_incident_is_paged_and_every_other_page_has_a_labelled_cause(sample: Sample) -> None:
    assert set(sample.pages["incident_id"].drop_nulls()) == set(sample.incidents["incident_id"])
    noise_pages = sample.pages.filter(pl.col("incident_id").is_null())
    caused = noise_pages.join(sample.noise, on="service").filter(
        (pl.col("paged_at") >= pl.col("started_at")) & (pl.col("paged_at") <= pl.col("ended_at") + 5 * MINUTE))
    assert caused["page_id"].n_unique() == noise_pages.height
    by_kind = caused.group_by("kind").agg(pl.col("page_id").n_unique())
    assert sorted(by_kind["kind"]) == sorted(datasets.NOISE_KINDS)  # the naive rules page on every kind


def _held(keys: list[str], minutes: int) -> pl.Expr:
    """True where ``condition`` held on this and the previous ``minutes`` samples (a ``for`` clause)."""
    return pl.col("condition").cast(pl.Int8).rolling_min(minutes + 1).over(keys).fill_null(0) == 1


def test_the_suggested_better_rules_page_on_every_incident_and_no_noise(sample: Sample,
                                                                        increments: pl.DataFrame) -> None:
    metrics = sample.metrics.sort("metric", "service", "instance", "timestamp")

    def gauge(metric: str, threshold: float, minutes: int, keys: list[str]) -> pl.DataFrame:
        part = metrics.filter(pl.col("metric") == metric).with_columns(condition=pl.col("value") > threshold)
        return (part.filter(_held(keys, minutes)).select("service", "timestamp")
                .with_columns(rule=pl.lit(metric)))

    def ratio(width: int) -> pl.Expr:
        return (pl.col("errors").rolling_sum(width).over("service")
                / pl.col("requests").rolling_sum(width).over("service"))

    burn = increments.with_columns(condition=(
        ((ratio(60) > 14.4 * 0.001) & (ratio(5) > 14.4 * 0.001))
        | ((ratio(360) > 6 * 0.001) & (ratio(30) > 6 * 0.001))).fill_null(False))
    firing = pl.concat([
        gauge("cpu", 90, 15, ["instance"]),
        gauge("latency_p99", 0.5, 10, ["service"]),
        gauge("queue_depth", 500, 20, ["service"]),
        burn.filter("condition").select("service", "timestamp").with_columns(rule=pl.lit("burn_rate")),
    ])
    matched = firing.join(sample.incidents, on="service").filter(
        (pl.col("timestamp") >= pl.col("started_at"))
        & (pl.col("timestamp") <= pl.col("resolved_at") + 30 * MINUTE))
    assert set(matched["incident_id"]) == set(sample.incidents["incident_id"])
    false_alarms = firing.join(matched.select("service", "timestamp", "rule").unique(),
                               on=["service", "timestamp", "rule"], how="anti")
    assert false_alarms.height == 0, false_alarms


# ---------------------------------------------------------------------------------------- on call


def test_the_roster_spans_two_zones_and_two_teams(sample: Sample) -> None:
    assert sample.roster.height >= 8
    assert sample.roster["tz"].n_unique() >= 2
    assert set(sample.shifts["responder"]) <= set(sample.roster["responder"])
    teams = sample.shifts.join(sample.roster, on="responder").filter(pl.col("schedule") != pl.col("team"))
    assert teams.height == 0


def test_shifts_are_weekly_contiguous_and_cover_the_period(sample: Sample) -> None:
    end = sample.start + timedelta(days=sample.days)
    for (schedule, level), turns in sample.shifts.group_by("schedule", "level"):
        turns = turns.sort("start_at")
        assert (turns["end_at"].head(-1) == turns["start_at"].tail(-1)).all(), (schedule, level)
        assert turns["start_at"].min() <= sample.start and turns["end_at"].max() >= end  # type: ignore[operator]
        lengths = (turns["end_at"] - turns["start_at"]).unique().sort().to_list()
        assert lengths[0] >= timedelta(days=7, hours=-1) and lengths[-1] <= timedelta(days=7, hours=1)
    overlap = sample.shifts.filter(pl.col("level") == 1).join(
        sample.shifts.filter(pl.col("level") == 2), on=["schedule", "start_at"])
    assert (overlap["responder"] != overlap["responder_right"]).all()


def test_handoffs_are_monday_10_00_in_the_schedule_zone(sample: Sample) -> None:
    local = sample.shifts.with_columns(
        pl.struct("start_at", "tz").map_elements(
            lambda r: r["start_at"].astimezone(ZoneInfo(r["tz"])).strftime("%a %H:%M"),
            return_dtype=pl.String()).alias("local"))
    assert local["local"].unique().to_list() == ["Mon 10:00"]


def test_every_page_went_to_whoever_was_on_call(sample: Sample) -> None:
    assigned = sample.pages.join(sample.shifts, left_on="team", right_on="schedule").filter(
        (pl.col("start_at") <= pl.col("paged_at")) & (pl.col("paged_at") < pl.col("end_at"))
        & (pl.col("level") == 1 + pl.col("escalations")))
    assert assigned.height == sample.pages.height
    assert (assigned["responder"] == assigned["responder_right"]).all()


def test_the_page_history_looks_like_a_real_one(sample: Sample) -> None:
    pages = sample.pages
    assert pages["urgency"].unique().sort().to_list() == ["high", "low"]
    assert 0 < pages["acknowledged_at"].null_count() < pages.height
    assert 0 < int(pages["escalations"].sum()) < pages.height // 10
    assert (pages["acknowledged_at"] > pages["paged_at"]).all()
    assert (pages["resolved_at"] >= pages["paged_at"]).all()
    noise_share = pages["incident_id"].null_count() / pages.height
    assert 0.5 < noise_share < 0.95


def test_acknowledging_is_slower_at_night_in_the_responders_zone(sample: Sample) -> None:
    acked = sample.pages.filter((pl.col("urgency") == "high") & (pl.col("escalations") == 0)
                                & pl.col("acknowledged_at").is_not_null()).join(sample.roster, on="responder")
    hours = [at.astimezone(ZoneInfo(tz)).hour
             for at, tz in zip(acked["paged_at"], acked["tz"], strict=True)]
    delay = (acked["acknowledged_at"] - acked["paged_at"]).dt.total_seconds()
    night = pl.Series([h >= 22 or h < 7 for h in hours])
    assert night.sum() >= 5 and (~night).sum() >= 5
    assert delay.filter(night).median() > 2 * delay.filter(~night).median()  # type: ignore[operator]


@given(seed=st.integers(min_value=0, max_value=2**32))
@settings(max_examples=5, deadline=None)
def test_any_seed_gives_a_consistent_week(seed: int) -> None:
    week = generate(seed=seed, days=7)
    for name, frame in week.frames().items():
        validate(frame, FRAME_SCHEMAS[name])
    assert week.incidents.height == len(datasets.INCIDENT_KINDS)
    assert set(week.pages["incident_id"].drop_nulls()) == set(week.incidents["incident_id"])


# ---------------------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(("arguments", "field"), [
    ({"seed": -1}, "seed"),
    ({"seed": 1.5}, "seed"),
    ({"days": 6}, "days"),
    ({"days": 400}, "days"),
    ({"days": True}, "days"),
    ({"start": "2026-03-02"}, "start"),
    ({"start": datetime(2026, 3, 2, 0, 0, 30, tzinfo=UTC)}, "start"),
])
def test_bad_arguments_are_config_errors_naming_the_field(arguments: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        generate(**{"seed": 1, "days": 7, **arguments})  # type: ignore[arg-type]
    assert caught.value.field == field


def test_a_date_or_naive_start_means_utc() -> None:
    from_date = generate(seed=1, days=7, start=date(2026, 1, 5))
    from_naive = generate(seed=1, days=7, start=datetime(2026, 1, 5))
    assert from_date.metrics["timestamp"][0] == datetime(2026, 1, 5, tzinfo=UTC)
    assert_frame_equal(from_date.pages, from_naive.pages)


def test_reading_an_incomplete_directory_lists_every_missing_file(tmp_path: Path) -> None:
    (tmp_path / datasets.MANIFEST).write_text("{}")
    with pytest.raises(InputError) as caught:
        read_sample(tmp_path)
    missing = {Path(p.file or "").name for p in caught.value.problems}
    assert missing == {f"{name}.parquet" for name in FRAME_SCHEMAS}


# ---------------------------------------------------------------------------------------- command line


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """alertsim"""

    register(app)
    return app


def test_the_generate_command_writes_a_sample(tmp_path: Path) -> None:
    result = CliRunner().invoke(_cli(), ["datasets", "generate", "--seed", "2", "--days", "7",
                                         "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "7 days from seed 2" in result.output
    assert read_sample(tmp_path / "out").seed == 2


@pytest.mark.parametrize(("arguments", "message"), [
    (["--days", "3"], "days"),
    (["--start", "yesterday"], "--start"),
])
def test_the_generate_command_reports_bad_arguments(tmp_path: Path, arguments: list[str], message: str) -> None:
    result = CliRunner().invoke(_cli(), ["datasets", "generate", "--out", str(tmp_path), *arguments])
    assert result.exit_code == 2
    assert message in result.output
