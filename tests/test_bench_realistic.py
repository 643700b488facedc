"""The realistic benchmark data looks like a real Prometheus export: phases, jitter, gaps, churn, resets."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from realistic import START_US, aligned, realistic

import alertsim as al
from alertsim.rules import ThresholdRule


def _us(frame: pl.DataFrame) -> np.ndarray:
    return frame["timestamp"].dt.epoch("us").to_numpy()


@pytest.mark.parametrize("interval_s", [15, 60])
def test_each_series_has_its_own_phase_and_jitter_within_50ms(interval_s: int) -> None:
    frame = realistic(series=200, points=500, interval_s=interval_s, seed=3)
    step = interval_s * 1_000_000
    offsets = (_us(frame) - START_US) % step
    per_series = frame.with_columns(pl.Series("offset", offsets)).group_by("instance").agg(
        pl.col("offset").median())
    assert per_series["offset"].n_unique() > 150                       # phases differ
    residual = (offsets - np.repeat(per_series.sort("instance")["offset"].to_numpy(),
                                    frame.group_by("instance", maintain_order=True).len()["len"].to_numpy()))
    residual = (residual + step // 2) % step - step // 2
    assert np.abs(residual).max() <= 100_000                             # ±50 ms around the phase


def test_scrapes_go_missing_and_pods_churn() -> None:
    frame = realistic(series=1000, points=400, seed=5)
    counts = frame.group_by("instance").len()["len"].to_numpy()
    assert 0.90 < frame.height / (1000 * 400) < 0.99
    assert 20 <= int((counts < 300).sum()) <= 90                          # about 5 % start late or end early
    full = counts[counts > 390]
    assert 0.002 < 1 - full.mean() / 400 < 0.01                           # about 0.5 % missing scrapes


def test_counters_reset_and_otherwise_only_grow() -> None:
    frame = realistic(series=50, points=2000, kind="counter", metric="requests_total", resets=3, seed=2)
    drops = frame.with_columns(pl.col("value").diff().over("instance").alias("d")).filter(pl.col("d") < 0)
    assert drops.height >= 50


def test_the_same_seed_gives_the_same_export_and_aligned_data_sits_on_the_grid() -> None:
    assert realistic(series=5, points=50, seed=9).equals(realistic(series=5, points=50, seed=9))
    grid = aligned(series=5, points=50, interval_s=60, seed=9)
    assert ((_us(grid) - START_US) % 60_000_000 == 0).all() and grid.height == 250


def test_a_realistic_export_replays_and_is_not_on_the_grid() -> None:
    frame = realistic(series=20, points=600, seed=4)
    result = al.replay(frame, [ThresholdRule(name="Hot", metric="cpu", op=">", value=70)])
    assert result.grid.size >= 599
    assert ((_us(frame) - START_US) % 60_000_000 != 0).mean() > 0.99
