"""The NAB v1.1 scorer: published numbers, hand-computed cases, and a loop-by-loop reference."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertsim.errors import InputError
from alertsim.quality.nab import (
    PROFILES,
    NabCorpus,
    NabFile,
    probation_rows,
    read_nab_corpus,
    read_nab_results,
    row_weights,
    scaled_sigmoid,
    score_nab,
    score_nab_files,
)
from tests.conftest import require_shared

PUBLISHED = {
    "windowedGaussian": {"standard": 39.65, "reward_low_FP_rate": 20.87, "reward_low_FN_rate": 47.41},
    "skyline": {"standard": 35.69, "reward_low_FP_rate": 27.08, "reward_low_FN_rate": 44.48},
}
# Raw corpus scores and thresholds from nab-benchmark.md §5 (re-scoring table).
RAW = {
    ("windowedGaussian", "standard"): (1.0, -24.0131),
    ("windowedGaussian", "reward_low_FP_rate"): (1.0, -67.5863),
    ("windowedGaussian", "reward_low_FN_rate"): (1.0, -67.0131),
    ("skyline", "standard"): (0.857143, -33.2061),
    ("skyline", "reward_low_FP_rate"): (1.0, -53.1716),
    ("skyline", "reward_low_FN_rate"): (0.857143, -77.2061),
}


@pytest.fixture(scope="module")
def corpus() -> NabCorpus:
    return read_nab_corpus(require_shared("data", "nab"))


@pytest.mark.parametrize("detector", sorted(PUBLISHED))
def test_reproduces_the_published_scores(corpus: NabCorpus, detector: str) -> None:
    results = read_nab_results(corpus.root / "results" / detector, corpus)
    table = score_nab(results, corpus)
    assert table["profile"].to_list() == list(PUBLISHED[detector])
    for row in table.iter_rows(named=True):
        assert row["score"] == pytest.approx(PUBLISHED[detector][row["profile"]], abs=0.01)
        threshold, raw = RAW[(detector, row["profile"])]
        assert row["threshold"] == pytest.approx(threshold, abs=1e-6)
        assert row["raw_score"] == pytest.approx(raw, abs=1e-4)
        # NAB scores 365,558 rows less 32,716 probationary rows.
        assert row["tp"] + row["fp"] + row["fn"] + row["tn"] == 332_842


def test_corpus_shape(corpus: NabCorpus) -> None:
    assert len(corpus.files) == 58
    assert corpus.windows == 116
    taxi = corpus.file("realKnownCause/nyc_taxi.csv")
    assert taxi.rows == 10_320 and taxi.probation == 750
    assert taxi.windows[0] == (5839, 6045)


def test_per_file_scores_add_up_to_the_corpus_score(corpus: NabCorpus) -> None:
    results = read_nab_results(corpus.root / "results" / "skyline", corpus)
    table = score_nab(results, corpus)
    files = score_nab_files(results, corpus, thresholds=dict(zip(table["profile"], table["threshold"],
                                                                  strict=True)))
    for row in table.iter_rows(named=True):
        mine = files.filter(files["profile"] == row["profile"])
        assert mine.height == 58
        assert mine["raw_score"].sum() == pytest.approx(row["raw_score"], abs=1e-9)
        assert mine["fp"].sum() == row["fp"]


@pytest.mark.parametrize(("position", "expected"), [
    (-1.0, 0.98661), (-0.5, 0.84828), (0.0, 0.0), (1.0, -0.98661), (3.0, -0.9999994), (3.01, -1.0),
])
def test_scaled_sigmoid_matches_nab_docstring(position: float, expected: float) -> None:
    assert float(scaled_sigmoid(position)) == pytest.approx(expected, abs=5e-6)


@pytest.mark.parametrize(("rows", "probation"), [(20, 3), (4032, 604), (4999, 749), (5000, 750), (22695, 750),
                                                 (6, 0)])
def test_probation_is_fifteen_percent_capped_at_750(rows: int, probation: int) -> None:
    assert probation_rows(rows) == probation


STAMPS = np.arange(np.datetime64("2026-01-01T00:00"), np.datetime64("2026-01-01T00:20"),
                   np.timedelta64(1, "m")).astype("datetime64[us]")


def tiny_corpus(*windows: tuple[int, int]) -> NabCorpus:
    """One 20-row file (probation 3 rows) with the given windows."""
    return NabCorpus(root=Path("."), files=(NabFile(path="f/x.csv", timestamps=STAMPS, values=np.zeros(20),
                                                    windows=windows),))


def flags(*rows: int) -> dict[str, np.ndarray]:
    scores = np.zeros(20)
    scores[list(rows)] = 1.0
    return {"f/x.csv": scores}


# Window rows 10..12 (W = 3). Hand-computed raw scores at θ = 1 (standard profile):
#   detect row 10 (left edge): +1.0
#   detect row 12 (right edge): σ(−1/3)/σ(−1) = tanh(5/6)/tanh(5/2) = 0.691518
#   FP at row 5 (before any window): −0.11
#   FP at row 14: distance (14−12)/(3−1) = 1 → 0.11·σ(1) = −0.108527
#   FP at row 1 is probationary: ignored.
@pytest.mark.parametrize(("detected", "raw"), [
    ((10,), 1.0),
    ((12,), 0.691518),
    ((10, 11, 12), 1.0),
    ((5,), -1.0 - 0.11),
    ((1,), -1.0),
    ((10, 14), 1.0 - 0.108527),
    ((), -1.0),
])
def test_hand_computed_single_window(detected: tuple[int, ...], raw: float) -> None:
    corpus = tiny_corpus((10, 12))
    table = score_nab(flags(*detected), corpus, thresholds={name: 1.0 for name in PROFILES})
    standard = table.row(0, named=True)
    assert standard["raw_score"] == pytest.approx(raw, abs=1e-6)
    # Normalised: 100·(S + 1)/(1 + 1) with one window.
    assert standard["score"] == pytest.approx(100 * (raw + 1) / 2, abs=1e-4)


def test_optimiser_picks_the_best_threshold_per_profile() -> None:
    # Scores are 1 on rows 5..8 (false alarms) and 0 elsewhere, so the candidates are 1.1 (nothing:
    # S = −A_FN), 1 (four FPs before the window) and 0 (every row: the window's left edge plus 7
    # FPs before it and 7 after it, at distances (i − 12)/2 for i = 13..19).
    after = sum(math.tanh(2.5 * (i - 12) / 2) if (i - 12) / 2 <= 3 else 1.0 for i in range(13, 20))
    every_row = {fp: 1.0 - 7 * fp - fp * after for fp in (0.11, 0.22)}
    table = score_nab(flags(5, 6, 7, 8), tiny_corpus((10, 12)))
    assert every_row[0.11] > -1.0 > every_row[0.22]
    assert table["threshold"].to_list() == [0.0, 1.1, 0.0]
    assert table["raw_score"].to_list() == pytest.approx([every_row[0.11], -1.0, every_row[0.11]], abs=1e-9)


def test_row_weights_by_hand() -> None:
    weight, window = row_weights(8, [(2, 3)], PROFILES["reward_low_FN_rate"])
    assert window.tolist() == [-1, -1, 0, 0, -1, -1, -1, -1]
    expected = [-0.11, -0.11, 1.0, math.tanh(1.25) / math.tanh(2.5),
                0.11 * -math.tanh(2.5), 0.11 * -math.tanh(5.0), 0.11 * -math.tanh(7.5), -0.11]
    assert weight.tolist() == pytest.approx(expected, abs=1e-9)


# --- reference: NAB's loop, transcribed for readability, scored the slow way ----------------------

def reference_score(scores: dict[str, np.ndarray], corpus: NabCorpus,
                    profile_name: str) -> tuple[float, float]:
    """Best (threshold, raw score) by trying every threshold and summing per NAB's definition."""
    profile = PROFILES[profile_name]
    points = []  # (score, weight, window key or None)
    for data_file in corpus.files:
        values = scores[data_file.path]
        prev_right = prev_width = None
        current = None
        for i in range(data_file.rows):
            starts = [w for w in data_file.windows if w[0] == i]
            if starts:
                current = starts[0]
            if current is not None:
                left, right = current
                width = right - left + 1
                y = -(right - i + 1) / width
                weight = float(scaled_sigmoid(y)) * profile.tp_weight / float(scaled_sigmoid(-1.0))
            elif prev_right is None:
                weight = -profile.fp_weight
            else:
                weight = float(scaled_sigmoid(abs(prev_right - i) / (prev_width - 1))) * profile.fp_weight
            if i >= probation_rows(data_file.rows):
                points.append((values[i], weight, (data_file.path, current) if current else None))
            if current is not None and i == current[1]:
                prev_right, prev_width, current = current[1], current[1] - current[0] + 1, None
    windows = {key for _, _, key in points if key is not None}
    best = None
    for theta in [1.1, *sorted({p[0] for p in points}, reverse=True)]:
        total = sum(w for s, w, key in points if key is None and s >= theta)
        for key in windows:
            hits = [w for s, w, k in points if k == key and s >= theta]
            total += max(hits) if hits else -profile.fn_weight
        if best is None or total > best[1] + 1e-12:
            best = (theta, total)
    assert best is not None
    return best


@st.composite
def small_corpora(draw: st.DrawFn) -> tuple[NabCorpus, dict[str, np.ndarray]]:
    files, scores = [], {}
    for number in range(draw(st.integers(1, 3))):
        rows = draw(st.integers(8, 40))
        cuts = sorted(draw(st.lists(st.integers(probation_rows(rows), rows - 1), max_size=4, unique=True)))
        windows = tuple((a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False))
        path = f"f/{number}.csv"
        stamps = np.arange(rows).astype("datetime64[m]").astype("datetime64[us]")
        files.append(NabFile(path=path, timestamps=stamps, values=np.zeros(rows), windows=windows))
        levels = draw(st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), min_size=rows, max_size=rows))
        scores[path] = np.array(levels)
    return NabCorpus(root=Path("."), files=tuple(files)), scores


@settings(max_examples=60, deadline=None)
@given(small_corpora())
def test_vectorised_scorer_agrees_with_the_reference_loop(
        case: tuple[NabCorpus, dict[str, np.ndarray]]) -> None:
    corpus, scores = case
    table = score_nab(scores, corpus)
    for row in table.iter_rows(named=True):
        _, raw = reference_score(scores, corpus, row["profile"])
        assert row["raw_score"] == pytest.approx(raw, abs=1e-9)


# --- reading results --------------------------------------------------------------------------

def write_corpus(root: Path, rows: int = 20) -> None:
    (root / "data" / "f").mkdir(parents=True)
    (root / "labels").mkdir()
    stamps = [f"2026-01-01 00:{m:02d}:00" for m in range(rows)]
    body = "timestamp,value\r\n" + "".join(f"{t},1.5\r\n" for t in stamps)  # CRLF, as 8 NAB files
    (root / "data" / "f" / "x.csv").write_text(body)
    (root / "labels" / "combined_windows.json").write_text(
        '{"f/x.csv": [["2026-01-01 00:10:00.000000", "2026-01-01 00:12:00.000000"]]}')


@pytest.mark.parametrize("name", ["x.csv", "mydet_x.csv"])
def test_reads_plain_and_nab_results_layouts(tmp_path: Path, name: str) -> None:
    write_corpus(tmp_path / "nab")
    corpus = read_nab_corpus(tmp_path / "nab")
    assert corpus.files[0].windows == ((10, 12),)
    out = tmp_path / "mydet" / "f"
    out.mkdir(parents=True)
    lines = [f"2026-01-01 00:{m:02d}:00,{1.0 if m == 10 else 0.0}" for m in range(20)]
    (out / name).write_text("timestamp,anomaly_score\n" + "\n".join(lines))
    results = read_nab_results(tmp_path / "mydet", corpus)
    assert score_nab(results, corpus)["score"].to_list() == [100.0, 100.0, 100.0]


@pytest.mark.parametrize(("body", "message"), [
    ("timestamp,anomaly_score\n2026-01-01 00:00:00,0.5\n", "1 rows, but data/f/x.csv has 20"),
    ("anomaly_score\n" + "0.1\n" * 19 + "1.5\n", "is not a number in [0, 1]"),
    ("anomaly_score\n" + "0.1\n" * 19 + "\n", "row 20, column 'anomaly_score'"),
    ("score\n" + "0.1\n" * 20, "missing column"),
])
def test_bad_results_are_reported_with_file_and_reason(tmp_path: Path, body: str, message: str) -> None:
    write_corpus(tmp_path / "nab")
    corpus = read_nab_corpus(tmp_path / "nab")
    (tmp_path / "det" / "f").mkdir(parents=True)
    (tmp_path / "det" / "f" / "x.csv").write_text(body)
    with pytest.raises(InputError) as caught:
        read_nab_results(tmp_path / "det", corpus)
    assert message in str(caught.value) and "x.csv" in str(caught.value)


def test_missing_results_file_names_it(tmp_path: Path) -> None:
    write_corpus(tmp_path / "nab")
    corpus = read_nab_corpus(tmp_path / "nab")
    (tmp_path / "det").mkdir()
    with pytest.raises(InputError, match=r"f/x\.csv: no results file"):
        read_nab_results(tmp_path / "det", corpus)


def test_window_edge_must_be_a_data_timestamp(tmp_path: Path) -> None:
    write_corpus(tmp_path / "nab")
    (tmp_path / "nab" / "labels" / "combined_windows.json").write_text(
        '{"f/x.csv": [["2026-01-01 00:10:30.000000", "2026-01-01 00:12:00.000000"]]}')
    with pytest.raises(InputError, match="edge is not a timestamp"):
        read_nab_corpus(tmp_path / "nab")
