"""Detector packs on NAB: a causal score per row, a NAB results directory that NAB's reader (and
``alertsim nab score``) reads back, the per-profile scoreboard, and leave-one-category-out
cross-validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from alertsim.cli import app
from alertsim.errors import ConfigError
from alertsim.quality.nab import (
    PACK,
    NabCorpus,
    NabFile,
    cross_validate,
    read_nab_corpus,
    read_nab_results,
    run_nab,
    score_detector,
    score_nab,
    scoreboard,
    write_nab_results,
)
from alertsim.rules import parse_rules

runner = CliRunner()
PACK_YAML = """rules:
  - {name: High, kind: range, metric: value, window: 1d, threshold: 0.5, min_samples: 5}
  - {name: Jump, kind: zscore, metric: value, window: 2h, threshold: 4, min_samples: 5}
"""


def invoke(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


def stamps(rows: int, minutes: int = 5) -> list[str]:
    start = np.datetime64("2026-01-01T00:00")
    return [str(start + np.timedelta64(minutes * i, "m")).replace("T", " ") + ":00" for i in range(rows)]


def corpus_dir(root: Path) -> Path:
    """Two folders, three 200-row files: a spike at row 150 (window 140..160), a level shift at row 120
    (window 115..135), and a quiet file without windows."""
    rng = np.random.default_rng(0)
    files = {
        "a/spike.csv": (np.r_[rng.normal(10, 1, 150), [40.0], rng.normal(10, 1, 49)], [(140, 160)]),
        "a/shift.csv": (np.r_[rng.normal(10, 1, 120), rng.normal(25, 1, 80)], [(115, 135)]),
        "b/quiet.csv": (rng.normal(10, 1, 200), []),
    }
    windows = {}
    for path, (values, spans) in files.items():
        ts = stamps(len(values))
        (root / "data" / path).parent.mkdir(parents=True, exist_ok=True)
        (root / "data" / path).write_text(
            "timestamp,value\n" + "".join(f"{t},{v:.6f}\n" for t, v in zip(ts, values, strict=True)))
        windows[path] = [[ts[lo] + ".000000", ts[hi] + ".000000"] for lo, hi in spans]
    (root / "labels").mkdir(parents=True)
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    return root


@pytest.fixture
def corpus(tmp_path: Path) -> NabCorpus:
    return read_nab_corpus(corpus_dir(tmp_path / "nab"))


def test_pack_score_is_the_maximum_of_its_rules(corpus: NabCorpus) -> None:
    rules = parse_rules(__import__("yaml").safe_load(PACK_YAML))
    scores = score_detector(rules, corpus, candidates=True)
    assert set(scores) == {PACK, "High", "Jump"}
    for path in scores[PACK]:
        np.testing.assert_array_equal(scores[PACK][path], np.maximum(scores["High"][path], scores["Jump"][path]))
        assert ((scores[PACK][path] >= 0) & (scores[PACK][path] <= 1)).all()
    # After the first 100 rows, the spike's row is the first the pack scores above 0.5 (its threshold).
    assert 100 + int(np.argmax(scores[PACK]["a/spike.csv"][100:] > 0.5)) == 150


def test_results_directory_round_trips_through_nabs_layout(corpus: NabCorpus, tmp_path: Path) -> None:
    rules = parse_rules(__import__("yaml").safe_load(PACK_YAML))
    scores = score_detector(rules, corpus)[PACK]
    base = write_nab_results(tmp_path / "results", "mypack", scores, corpus)
    written = base / "a" / "mypack_spike.csv"
    frame = pl.read_csv(written)
    assert frame.columns == ["timestamp", "value", "anomaly_score", "label"]
    assert frame["label"].sum() == 21 and frame["timestamp"][0] == "2026-01-01 00:00:00"
    back = read_nab_results(base, corpus)
    for path, values in scores.items():
        np.testing.assert_allclose(back[path], values, atol=1e-12)
    assert score_nab(back, corpus)["score"].to_list() == pytest.approx(score_nab(scores, corpus)["score"].to_list())


def test_cli_run_writes_results_that_nab_score_reads(tmp_path: Path) -> None:
    root = corpus_dir(tmp_path / "nab")
    pack = tmp_path / "pack.yaml"
    pack.write_text(PACK_YAML)
    ran = json.loads(invoke("nab", "run", "--detector", pack, "--corpus", root, "--out", tmp_path / "res", "--json"))
    scored = json.loads(invoke("nab", "score", tmp_path / "res" / "pack", "--corpus", root, "--json"))
    assert ran == pytest.approx(scored)
    assert ran["standard"] > 90


def test_cli_optimize_prints_a_scoreboard_and_json_per_candidate(tmp_path: Path) -> None:
    root = corpus_dir(tmp_path / "nab")
    pack = tmp_path / "pack.yaml"
    pack.write_text(PACK_YAML)
    board = json.loads(invoke("nab", "optimize", "--detector", pack, "--corpus", root, "--json"))
    assert set(board) == {PACK, "High", "Jump"}
    assert list(board[PACK]) == ["standard", "reward_low_FP_rate", "reward_low_FN_rate"]
    table = invoke("nab", "optimize", "--detector", pack, "--corpus", root, "--cross-validate")
    assert "scoreboard" in table and "cross-validation" in table


def test_cli_run_needs_exactly_one_source(tmp_path: Path) -> None:
    root = corpus_dir(tmp_path / "nab")
    result = runner.invoke(app, ["nab", "run", "--corpus", str(root)])
    assert result.exit_code != 0 and "exactly one of --rules" in result.output


def test_cross_validation_chooses_without_the_held_out_folder(corpus: NabCorpus) -> None:
    rules = parse_rules(__import__("yaml").safe_load(PACK_YAML))
    detectors = score_detector(rules, corpus, candidates=True)
    folds = cross_validate(detectors, corpus)
    assert folds["profile"].to_list() == ["standard", "reward_low_FP_rate", "reward_low_FN_rate"]
    in_sample = scoreboard(detectors, corpus)
    best = max(in_sample["standard"].to_list())
    assert folds["score"][0] <= best + 1e-9
    assert folds["chosen"][0].startswith("a: ")


def test_an_empty_pack_is_a_config_error(corpus: NabCorpus) -> None:
    with pytest.raises(ConfigError, match="no rules"):
        score_detector([], corpus)


@settings(max_examples=15, deadline=None)
@given(cut=st.integers(30, 199))
def test_row_scores_are_causal(cut: int) -> None:
    """Appending future rows never changes a past row's score."""
    rng = np.random.default_rng(9)
    values = np.r_[rng.normal(10, 1, 150), [40.0], rng.normal(10, 1, 49)]
    times = np.array(stamps(200), dtype="datetime64[us]")
    rules = parse_rules(__import__("yaml").safe_load(PACK_YAML) | {})
    rules += parse_rules({"rules": [{"name": "L", "kind": "likelihood", "metric": "value", "window": "6h",
                                     "short": "10m", "of": {"kind": "ewma", "halflife": "1h", "warmup": "1h"}},
                                    {"name": "C", "kind": "cusum", "metric": "value", "window": "3h",
                                     "cooldown": "30m"}]})

    def run(rows: int) -> np.ndarray:
        file = NabFile(path="a/x.csv", timestamps=times[:rows], values=values[:rows], windows=())
        return score_detector(rules, NabCorpus(root=Path("."), files=(file,)))[PACK]["a/x.csv"]

    np.testing.assert_allclose(run(cut), run(200)[:cut], rtol=1e-9, atol=1e-12)


def test_the_shipped_pack_scores_what_the_readme_says() -> None:
    """data/detectors/nab.yaml on the NAB corpus with NAB's per-profile thresholds (README table)."""
    from alertsim.rules import load_rules
    from tests.conftest import require_shared

    corpus = read_nab_corpus(require_shared("data", "nab"))
    rules = load_rules(Path(__file__).resolve().parents[2] / "data" / "detectors" / "nab.yaml")
    assert [r.kind for r in rules] == ["range", "cusum", "likelihood"]
    table = score_nab(score_detector(rules, corpus)[PACK], corpus)
    assert [round(v, 1) for v in table["score"].to_list()] == [70.7, 64.5, 75.0]
    # Replayed as alert rules, every firing a detection: no threshold tuned at all.
    alerts = run_nab(rules, corpus)
    assert [round(v, 1) for v in alerts["score"].to_list()] == [69.9, 63.6, 74.2]
