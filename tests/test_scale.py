"""Out-of-core replays: a partitioned Parquet dataset or a DuckDB table replayed partition by partition
(locally and on a 2-worker Dask LocalCluster) gives exactly the in-memory alerts; ingest is incremental
and de-duplicates."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import alertsim as al
from alertsim.errors import ConfigError, InputError
from alertsim.io.ingest import bucket_of, ingest
from alertsim.rules import parse_rules
from alertsim.scale import open_dataset, plan_partitions, replay_dataset, series_table

CUT = dt.datetime(2026, 3, 9, tzinfo=dt.UTC)
END = dt.datetime(2026, 3, 16, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def history() -> pl.DataFrame:
    return al.load_sample().metrics.filter(pl.col("timestamp") < END)


@pytest.fixture(scope="module")
def rules():
    return al.load_rules("data/rules/sample.yaml")


@pytest.fixture(scope="module")
def stores(history, tmp_path_factory):
    root = tmp_path_factory.mktemp("stores")
    first, rest = history.filter(pl.col("timestamp") < CUT), history.filter(pl.col("timestamp") >= CUT)
    reports = {}
    for name in ("dataset", "db.duckdb"):
        reports[name] = [ingest(first, root / name, buckets=4),
                         ingest(history, root / name, buckets=4),  # overlaps the first part entirely
                         ingest(rest, root / name, buckets=4)]     # nothing new
    return root, reports


def canonical(alerts: pl.DataFrame) -> pl.DataFrame:
    return alerts.drop("alert_id").sort("rule", "series", "labels", "active_at")


@pytest.mark.parametrize("name", ["dataset", "db.duckdb"])
def test_ingest_is_incremental_and_deduplicates(stores, history, name):
    _, reports = stores
    first, overlap, again = reports[name]
    assert first.written == history.filter(pl.col("timestamp") < CUT).height and first.duplicates == 0
    assert overlap.written == history.filter(pl.col("timestamp") >= CUT).height
    assert overlap.duplicates == first.written
    assert again.written == 0 and again.duplicates == again.rows


def test_new_days_do_not_rewrite_old_partitions(stores):
    root, _ = stores
    old_day = root / "dataset" / "day=2026-03-02"
    files = sorted(p.name for p in old_day.rglob("*.parquet"))
    ingest(al.load_sample().metrics.filter(pl.col("timestamp").dt.date() == dt.date(2026, 3, 16)),
           root / "dataset", buckets=4)
    assert sorted(p.name for p in old_day.rglob("*.parquet")) == files


@pytest.mark.parametrize(("name", "table"), [("dataset", None), ("db.duckdb", "metrics")])
def test_partitioned_replay_equals_in_memory(stores, history, rules, name, table):
    root, _ = stores
    expected = al.replay(history, rules).alerts
    got = replay_dataset(open_dataset(root / name, table=table), rules, max_points=60_000, end=END
                         - dt.timedelta(minutes=1))
    assert got.alerts.height == expected.height > 0
    assert canonical(got.alerts).equals(canonical(expected))


def test_partitions_respect_the_budget_and_keep_slo_groups_together(stores, rules):
    root, _ = stores
    series = series_table(open_dataset(root / "dataset"))
    parts = plan_partitions(series, rules, max_points=60_000)
    assert len(parts) > 3
    counters = [p.filter(pl.col("metric").str.starts_with("http_")) for p in parts]
    for part in counters:
        # Every service's request and error counters (both instances) live in one partition.
        for service in part["service"].unique().to_list():
            assert part.filter(pl.col("service") == service).height == 4


def test_dask_engine_gives_identical_alerts(stores, history, rules):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    root, _ = stores
    dataset = open_dataset(root / "dataset")
    local = replay_dataset(dataset, rules, max_points=100_000, end=END - dt.timedelta(minutes=1))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        remote = replay_dataset(dataset, rules, engine="dask", scheduler=client, end=END - dt.timedelta(minutes=1))
        tuned = al.tune(dataset, parse_rules({"rules": [{"name": "Hi", "metric": "cpu", "value": [70, 80]}]}),
                        al.load_sample().incidents, engine="dask", scheduler=client)
    assert remote.alerts.equals(local.alerts)
    assert tuned.candidates.height == 2


def test_bucket_is_stable():
    # CRC-32, not Python's salted hash: the same bucket in every process.
    assert bucket_of('cpu{instance="a"}', 16) == bucket_of('cpu{instance="a"}', 16) == 10


def test_bad_stores_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        open_dataset(tmp_path / "missing")
    (tmp_path / "x.duckdb").write_bytes(b"not a database")
    with pytest.raises(InputError):
        open_dataset(tmp_path / "x.duckdb", table="metrics")


def test_memory_engine_rejects_a_dataset_engine_name_mismatch(history, rules):
    with pytest.raises(ConfigError, match="engine"):
        al.tune(history, rules, al.load_sample().incidents, engine="dask")


def test_rules_that_aggregate_across_series_are_refused_not_mis_partitioned(stores):
    from alertsim.rules.prometheus import parse_prometheus_rules

    root, _ = stores
    rules = parse_prometheus_rules("groups:\n- name: g\n  rules:\n  - alert: Total\n    expr: sum(cpu) > 100\n")
    with pytest.raises(ConfigError, match="in memory"):
        replay_dataset(open_dataset(root / "dataset"), rules)


def test_simulation_on_dask_is_identical_to_local(monkeypatch):
    pytest.importorskip("distributed")
    import importlib

    from distributed import Client, LocalCluster

    from alertsim.oncall import simulate

    module = importlib.import_module("alertsim.oncall.simulate")
    monkeypatch.setattr(module, "_chunk_size", lambda *args: 16)  # several chunks, spread over workers

    pages = al.load_sample().pages
    local = simulate(pages, "data/designs/weekly.yaml", replicates=60, seed=3)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        remote = simulate(pages, "data/designs/weekly.yaml", replicates=60, seed=3, engine="dask",
                          scheduler=client)
    assert remote.metrics.equals(local.metrics)
    assert remote.outcomes.equals(local.outcomes)
    assert remote.summary.equals(local.summary)


# Realistic exports (own scrape phase per series, jitter, lost scrapes, churn) and the reading paths -------

REALISTIC_RULES = {"rules": [
    {"name": "Hot", "metric": "cpu", "op": ">", "value": 62.0, "for": "3m"},
    {"name": "Spike", "kind": "zscore", "metric": "cpu", "window": "1h", "threshold": 2.5, "for": "2m"},
]}


@pytest.fixture(scope="module")
def realistic_store(tmp_path_factory):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from realistic import realistic

    frame = realistic(series=40, points=3000, interval_s=60, seed=11)  # two days and a bit: 3 day partitions
    root = tmp_path_factory.mktemp("realistic") / "store"
    ingest(frame, root, buckets=4)
    return frame, root


@pytest.mark.parametrize("max_points", [60_000, 10_000, 1_000_000])
def test_realistic_partitioned_replay_equals_in_memory(realistic_store, max_points, monkeypatch):
    # 60,000 packs whole buckets (about 30,000 samples each); 10,000 is less than half a bucket, so the
    # series are planned one by one;
    # 1,000,000 is one partition. Every partition is read from the files' dictionary codes, not as a frame.
    import alertsim.scale as scale

    frame, root = realistic_store
    monkeypatch.setattr(scale, "load_partition", lambda *a: pytest.fail("read as a frame"))
    monkeypatch.setattr(scale, "_load_files", lambda *a: pytest.fail("read as a frame"))
    rules = parse_rules(REALISTIC_RULES)
    expected = al.replay(frame, rules).alerts
    got = replay_dataset(root, rules, max_points=max_points)
    assert expected.height > 20
    assert canonical(got.alerts).equals(canonical(expected))


def _write_buckets(frame: pl.DataFrame, root, bucket_of_row: pl.Expr) -> None:
    for (bucket,), part in frame.with_columns(bucket_of_row.alias("_b")).group_by("_b"):
        (root / f"bucket={bucket:02d}").mkdir(parents=True, exist_ok=True)
        part.drop("_b").write_parquet(root / f"bucket={bucket:02d}" / "part.parquet")


def test_unsorted_files_and_series_split_over_buckets_give_the_in_memory_alerts(realistic_store, tmp_path, caplog):
    # Files of another tool: rows in any order (the partition is sorted after reading), and series whose
    # samples are spread over several bucket=NN directories (found after the replay; replayed again by series).
    frame, _ = realistic_store
    rules = parse_rules(REALISTIC_RULES)
    expected = canonical(al.replay(frame, rules).alerts)
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=1)
    _write_buckets(shuffled, tmp_path / "unsorted", pl.col("instance").str.slice(-1).cast(pl.Int64) % 3)
    _write_buckets(frame, tmp_path / "split", pl.col("timestamp").dt.day() % 2)
    for name in ("unsorted", "split"):
        got = replay_dataset(tmp_path / name, rules, max_points=50_000)
        assert canonical(got.alerts).equals(expected), name
    assert "series in more than one bucket" in caplog.text


def test_store_parts_list_their_series_runs_in_the_footer(stores):
    import json

    import pyarrow.parquet as pq

    from alertsim.io.ingest import RUNS_KEY

    root, _ = stores
    part = next((root / "dataset").rglob("*.parquet"))
    runs = json.loads(pq.ParquetFile(part).metadata.metadata[RUNS_KEY])
    frame = pl.read_parquet(part)
    keys = runs["columns"]
    assert keys[0] == "metric" and sum(runs["lengths"]) == frame.height
    firsts = [0, *[int(x) for x in pl.Series(runs["lengths"]).cum_sum().to_list()[:-1]]]
    assert [list(row) for row in frame.select(keys)[firsts].iter_rows()] == runs["keys"]
    assert frame.select(keys).unique().height == len(runs["keys"])
