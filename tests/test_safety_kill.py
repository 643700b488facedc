"""Kills at any point leave a run or a store whole, and the loaders and run readers fail only with
typed errors on arbitrary input (Hypothesis).

A kill is a real ``SIGKILL`` of a real ``alertsim`` process, at several moments of its work.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertsim.errors import AlertsimError
from alertsim.io import rundir
from alertsim.io.ingest import ingest, read_store_manifest

RULES = 'rules:\n  - {name: High, kind: threshold, metric: cpu, op: ">", value: 0.99, for: 2m, severity: page}\n'


def _frame(series: int, minutes: int, seed: int, start: datetime) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    times = np.tile(np.arange(minutes, dtype=np.int64) * 60_000_000, series) + int(start.timestamp() * 1e6)
    return pl.DataFrame({
        "timestamp": pl.Series(times).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        "metric": "cpu",
        "value": rng.random(series * minutes),
        "instance": np.repeat([f"i{i:04d}" for i in range(series)], minutes),
    })


def _alertsim(*args: str) -> subprocess.Popen[bytes]:
    code = "from alertsim.cli import main; import sys; sys.argv[0] = 'alertsim'; main()"
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[1])


def _kill_after(process: subprocess.Popen[bytes], seconds: float) -> None:
    time.sleep(seconds)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()


def _stored(store: Path) -> pl.DataFrame:
    manifest = read_store_manifest(store)
    assert manifest is not None
    files = [store / p for p in manifest["parts"]]
    return pl.read_parquet(files).select("timestamp", "metric", "value", "instance") if files else pl.DataFrame()


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.6, 0.9, 1.1, 1.3, 1.5, 2.0])
def test_a_killed_ingest_leaves_the_old_store_or_the_new_and_a_rerun_completes_it(tmp_path: Path,
                                                                                   delay: float) -> None:
    start = datetime(2026, 3, 2, tzinfo=UTC)
    first = _frame(800, 1440, 1, start)
    second = _frame(800, 1440, 2, start + timedelta(hours=12))  # half overlaps the first
    store = tmp_path / "store"
    ingest(first, store)
    source = tmp_path / "second.parquet"
    second.write_parquet(source)
    _kill_after(_alertsim("ingest", str(source), "--into", str(store)), delay)
    expected = pl.concat([first, second]).unique(subset=["timestamp", "metric", "instance"], keep="first")
    seen = _stored(store)
    assert seen.height in (first.height, expected.height)  # old store or new store, never a mix
    assert seen.unique(subset=["timestamp", "metric", "instance"]).height == seen.height
    ingest(source, store)
    assert _stored(store).height == expected.height
    assert not list(store.rglob(".*.tmp"))


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.8, 1.2, 1.6, 1.9, 2.2, 2.6])
def test_a_killed_replay_leaves_the_old_run_or_the_new_one(tmp_path: Path, delay: float) -> None:
    metrics = tmp_path / "m.parquet"
    _frame(600, 2880, 3, datetime(2026, 3, 2, tzinfo=UTC)).write_parquet(metrics)
    rules = tmp_path / "r.yaml"
    rules.write_text(RULES)
    out = tmp_path / "run"
    done = _alertsim("replay", str(metrics), "--rules", str(rules), "--out", str(out))
    assert done.wait() == 0
    old = rundir.read_frame(out, "alerts")
    _kill_after(_alertsim("replay", str(metrics), "--rules", str(rules), "--out", str(out), "--evaluations"),
                delay)
    rundir.recover(out)  # what the next run does first
    assert rundir.is_run(out)
    assert rundir.read_frame(out, "alerts").equals(old)  # the same rules on the same data
    # Only the (empty) lock file of the killed writer may remain; the next write removes it.
    assert [p.name for p in tmp_path.glob(".run.*")] in ([], [".run.lock"])


# ------------------------------------------------------------------------------------------ fuzzing

YAML_TEXT = st.one_of(
    st.text(max_size=200),
    st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12)),
                 lambda inner: st.one_of(st.lists(inner, max_size=4),
                                         st.dictionaries(st.sampled_from(
                                             ["rules", "groups", "name", "kind", "metric", "op", "value", "for",
                                              "route", "receivers", "receiver", "schedules", "escalation",
                                              "layers", "rules_x", "expr", "alert", "interval"]), inner,
                                             max_size=5)),
                 max_leaves=12).map(lambda doc: __import__("yaml").safe_dump(doc)),
)


def _loaders():  # type: ignore[no-untyped-def]
    from alertsim.notify import load_alertmanager_config
    from alertsim.oncall import load_design
    from alertsim.rules import load_rules

    return {"rules": load_rules, "alertmanager": load_alertmanager_config, "design": load_design}


@pytest.mark.parametrize("loader", ["rules", "alertmanager", "design"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=YAML_TEXT)
def test_loaders_raise_only_typed_errors(tmp_path: Path, loader: str, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    with contextlib.suppress(AlertsimError):
        _loaders()[loader](path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(manifest=st.binary(max_size=64), frame=st.binary(max_size=256))
def test_run_readers_raise_only_typed_errors(tmp_path: Path, manifest: bytes, frame: bytes) -> None:
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    (run / "manifest.json").write_bytes(manifest)
    (run / "alerts.parquet").write_bytes(frame)
    for read in (lambda: rundir.read_manifest(run), lambda: rundir.read_frame(run, "alerts")):
        with contextlib.suppress(AlertsimError):
            read()
