"""The Numenta Anomaly Benchmark (NAB v1.1) scorer, exactly as NAB scores a detector.

A detector's output is one ``anomaly_score`` in [0, 1] per row of each corpus file. A row is a
*detection* when its score is at least the threshold θ. Each profile weighs detections by where
they fall relative to the labelled anomaly windows (``labels/combined_windows.json``):

- **Probation.** The first ``min(floor(0.15·n), 750)`` rows of an ``n``-row file are not scored.
- **Row weight.** A row inside a window of ``W`` rows ending at row ``r`` is worth
  ``A_TP · σ(−(r − i + 1)/W) / σ(−1)`` (``A_TP`` at the left edge, falling towards the right);
  a row outside windows is worth ``A_FP · σ((i − r_prev)/(W_prev − 1))`` measured from the
  previous window's right edge ``r_prev``, or ``−A_FP`` before the first window. Here
  ``σ(y) = 2/(1 + e^{5y}) − 1`` for ``y ≤ 3`` and ``−1`` beyond (NAB's scaled sigmoid).
- **Score at θ.** Every window contributes the weight of its earliest detection, or ``−A_FN``
  when nothing in it is detected; every detection outside windows adds its (negative) weight.
- **Threshold.** One θ per profile for the whole corpus: the best of 1.1 (detect nothing) and
  every distinct score, ties going to the higher θ (NAB's exhaustive sweep, tuned in-sample).
- **Normalised score.** ``100 · (S − S_null)/(S_perfect − S_null)`` with
  ``S_perfect = windows · A_TP`` and ``S_null = −windows · A_FN`` (the detector that never alarms).

Rows are matched to the data file by position, as in NAB. The result counts (``tp``, ``fp``,
``fn``, ``tn``) are *row* counts at θ, as in NAB's ``_scores.csv``.

>>> from pathlib import Path
>>> corpus = read_nab_corpus(Path("../shared/data/nab"))            # doctest: +SKIP
>>> results = read_nab_results(Path("../shared/data/nab/results/skyline"), corpus)  # doctest: +SKIP
>>> score_nab(results, corpus)["score"].round(2).to_list()          # doctest: +SKIP
[35.69, 27.08, 44.48]
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from alertsim.durations import to_microseconds
from alertsim.errors import ConfigError, InputError, Problem
from alertsim.replay import replay
from alertsim.rules.anomaly import anomaly_score
from alertsim.series import Semantics, prepare
from alertsim.series.vectors import Grid

log = logging.getLogger(__name__)

NOTHING_THRESHOLD = 1.1
"""The threshold NAB starts its sweep at: no score reaches it, so nothing is detected."""
PROBATION_FRACTION = 0.15


@dataclass(frozen=True, kw_only=True)
class NabProfile:
    """An application profile: the weights of a true positive, a false positive and a miss."""

    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


PROFILES: dict[str, NabProfile] = {
    "standard": NabProfile(name="standard", tp_weight=1.0, fp_weight=0.11, fn_weight=1.0),
    "reward_low_FP_rate": NabProfile(name="reward_low_FP_rate", tp_weight=1.0, fp_weight=0.22,
                                     fn_weight=1.0),
    "reward_low_FN_rate": NabProfile(name="reward_low_FN_rate", tp_weight=1.0, fp_weight=0.11,
                                     fn_weight=2.0),
}
"""NAB v1.1's three profiles (``config/profiles.json``), in NAB's reporting order."""


@dataclass(frozen=True, kw_only=True)
class NabFile:
    """One corpus file: its path relative to ``data/``, row timestamps and window row ranges."""

    path: str
    timestamps: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    windows: tuple[tuple[int, int], ...]
    """Inclusive ``(first_row, last_row)`` of each labelled window, in order."""

    @property
    def rows(self) -> int:
        return int(self.timestamps.size)

    @property
    def probation(self) -> int:
        """Rows at the start that are never scored: ``min(floor(0.15·n), 0.15·5000)`` rounded up."""
        return probation_rows(self.rows)


@dataclass(frozen=True, kw_only=True)
class NabCorpus:
    """The NAB corpus: every data file with its windows, and the scoring profiles."""

    root: Path
    files: tuple[NabFile, ...]
    profiles: Mapping[str, NabProfile] = field(default_factory=lambda: dict(PROFILES))

    @property
    def windows(self) -> int:
        """Number of labelled windows over the whole corpus (116 in NAB v1.1)."""
        return sum(len(f.windows) for f in self.files)

    def file(self, path: str) -> NabFile:
        for candidate in self.files:
            if candidate.path == path:
                return candidate
        raise KeyError(path)


def probation_rows(rows: int) -> int:
    """NAB's probationary length: rows ``i < probation_rows(n)`` are not scored.

    >>> probation_rows(4032), probation_rows(22695), probation_rows(6000)
    (604, 750, 750)
    """
    limit = min(math.floor(PROBATION_FRACTION * rows), PROBATION_FRACTION * 5000)
    return math.ceil(limit)


def scaled_sigmoid(position: np.ndarray | float) -> np.ndarray:
    """NAB's scaled sigmoid ``2/(1 + e^{5y}) − 1``, and ``−1`` for ``y > 3``.

    >>> [round(float(v), 5) for v in scaled_sigmoid(np.array([-1.0, -0.5, 0.0, 1.0, 3.5]))]
    [0.98661, 0.84828, 0.0, -0.98661, -1.0]
    """
    y = np.asarray(position, dtype=float)
    with np.errstate(over="ignore"):
        value = 2.0 * (1.0 / (1.0 + np.exp(5.0 * y))) - 1.0
    return np.where(y > 3.0, -1.0, value)


def row_weights(rows: int, windows: Sequence[tuple[int, int]], profile: NabProfile) -> tuple[
        np.ndarray, np.ndarray]:
    """Per-row NAB weight (the score a detection at that row would add) and window index.

    Returns ``(weight, window)`` where ``window`` is the 0-based window index of each row, ``-1``
    outside every window. Probation is not applied here.

    >>> weight, window = row_weights(6, [(1, 2)], PROFILES["standard"])
    >>> window.tolist()
    [-1, 0, 0, -1, -1, -1]
    >>> [round(float(w), 4) for w in weight]
    [-0.11, 1.0, 0.8598, -0.1085, -0.11, -0.11]
    """
    index = np.arange(rows)
    window = np.full(rows, -1, dtype=np.int64)
    weight = np.empty(rows, dtype=float)
    prev_right = np.full(rows, -1, dtype=np.int64)
    prev_width = np.zeros(rows, dtype=float)
    max_tp = float(scaled_sigmoid(-1.0))
    for k, (left, right) in enumerate(windows):
        width = float(right - left + 1)
        window[left:right + 1] = k
        inside = index[left:right + 1]
        weight[left:right + 1] = scaled_sigmoid(-(right - inside + 1) / width) * profile.tp_weight / max_tp
        prev_right[right + 1:] = right
        prev_width[right + 1:] = width
    outside = window < 0
    no_window_yet = outside & (prev_right < 0)
    after = outside & (prev_right >= 0)
    weight[no_window_yet] = -1.0 * profile.fp_weight
    with np.errstate(divide="ignore"):
        distance = np.abs(prev_right[after] - index[after]) / (prev_width[after] - 1.0)
    weight[after] = scaled_sigmoid(distance) * profile.fp_weight
    return weight, window


def _parse_instant(text: str, fmt_fallbacks: Sequence[str] = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S")
                   ) -> np.datetime64:
    for fmt in fmt_fallbacks:
        try:
            return np.datetime64(datetime.strptime(text, fmt), "us")
        except ValueError:
            continue
    raise ValueError(text)


def _read_data_file(path: Path, relative: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        frame = pl.read_csv(path, schema_overrides={"timestamp": pl.String, "value": pl.Float64})
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"cannot read NAB data file {relative}: {exc}", file=str(path)) from None
    missing = [c for c in ("timestamp", "value") if c not in frame.columns]
    if missing:
        raise InputError(f"NAB data file {relative} lacks columns {missing}; expected 'timestamp,value'",
                         file=str(path))
    stamps = frame["timestamp"].str.strip_chars().str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us",
                                                                   strict=False)
    bad = stamps.is_null() & frame["timestamp"].is_not_null() | frame["timestamp"].is_null()
    if bad.any():
        rows = [i + 1 for i in bad.arg_true().head(10).to_list()]
        raise InputError(f"NAB data file {relative} has timestamps that are not 'YYYY-MM-DD HH:MM:SS'",
                         [Problem(file=relative, row=r, column="timestamp", reason="unparseable")
                          for r in rows], file=str(path))
    return stamps.to_numpy().astype("datetime64[us]"), frame["value"].to_numpy()


def read_nab_corpus(corpus_dir: str | os.PathLike[str], *,
                    windows_file: str | os.PathLike[str] | None = None,
                    profiles_file: str | os.PathLike[str] | None = None) -> NabCorpus:
    """Read a NAB corpus directory: ``data/<folder>/<name>.csv``, ``labels/combined_windows.json``
    and (when present) ``config/profiles.json``.

    Parameters
    ----------
    corpus_dir
        The NAB checkout (or a copy with ``data/``, ``labels/`` and optionally ``config/``).
    windows_file
        Windows JSON to score against; default ``labels/combined_windows.json``.
    profiles_file
        Profiles JSON; default ``config/profiles.json`` if it exists, else NAB v1.1's built-ins.

    Raises
    ------
    InputError
        A file is missing or unreadable, or a window edge is not a timestamp of its file.
    """
    root = Path(corpus_dir)
    data_dir = root / "data"
    labels_path = Path(windows_file) if windows_file else root / "labels" / "combined_windows.json"
    if not data_dir.is_dir():
        raise InputError(f"{root} is not a NAB corpus: no data/ directory", file=str(root))
    try:
        labels = json.loads(labels_path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read NAB windows {labels_path}: {exc}", file=str(labels_path)) from None
    if not isinstance(labels, dict):
        raise InputError(f"{labels_path}: expected an object of data path -> windows", file=str(labels_path))
    problems: list[Problem] = []
    files: list[NabFile] = []
    for relative in sorted(labels):
        path = data_dir / relative
        if not path.is_file():
            problems.append(Problem(file=str(labels_path),
                                    reason=f"{relative} is labelled but data/{relative} does not exist"))
            continue
        stamps, values = _read_data_file(path, relative)
        found: list[tuple[int, int]] = []
        for pair in labels[relative]:
            if not (isinstance(pair, list | tuple) and len(pair) == 2):
                problems.append(Problem(file=relative, reason=f"window {pair!r} is not [start, end]"))
                continue
            try:
                start, end = (_parse_instant(str(p)) for p in pair)
            except ValueError as exc:
                problems.append(Problem(file=relative, reason=f"window edge {exc} is not a timestamp"))
                continue
            left = np.flatnonzero(stamps == start)
            right = np.flatnonzero(stamps == end)
            if left.size == 0 or right.size == 0:
                problems.append(Problem(file=relative, reason=f"window {pair} edge is not a timestamp of "
                                                              "the data file"))
                continue
            found.append((int(left[0]), int(right[0])))
        for (l0, r0), (l1, _) in itertools.pairwise(found):
            if not (l0 <= r0 < l1):
                problems.append(Problem(file=relative, reason="windows overlap or are not in time order"))
        if found and found[-1][0] > found[-1][1]:
            problems.append(Problem(file=relative, reason="a window ends before it starts"))
        files.append(NabFile(path=relative, timestamps=stamps, values=values, windows=tuple(found)))
    if problems:
        raise InputError(f"NAB corpus {root} is inconsistent", problems, file=str(root))
    profiles = dict(PROFILES)
    profiles_path = Path(profiles_file) if profiles_file else root / "config" / "profiles.json"
    if profiles_file or profiles_path.is_file():
        profiles = read_nab_profiles(profiles_path)
    log.debug("NAB corpus %s: %d files, %d windows", root, len(files), sum(len(f.windows) for f in files))
    return NabCorpus(root=root, files=tuple(files), profiles=profiles)


def read_nab_profiles(path: str | os.PathLike[str]) -> dict[str, NabProfile]:
    """Read NAB's ``config/profiles.json`` (``{name: {"CostMatrix": {tpWeight, fpWeight, fnWeight,
    tnWeight}}}``); unknown keys are errors."""
    path = Path(path)
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read profiles: {exc}", file=str(path)) from None
    profiles: dict[str, NabProfile] = {}
    allowed = {"tpWeight", "fpWeight", "fnWeight", "tnWeight"}
    for name, spec in body.items():
        shaped = isinstance(spec, dict) and set(spec) == {"CostMatrix"}
        if not (shaped and isinstance(spec["CostMatrix"], dict)):
            raise ConfigError("each profile must be {'CostMatrix': {...}}", file=str(path), rule=name)
        matrix = spec["CostMatrix"]
        unknown = set(matrix) - allowed
        if unknown:
            raise ConfigError(f"unknown keys {sorted(unknown)}; allowed {sorted(allowed)}", file=str(path),
                              rule=name, field="CostMatrix")
        try:
            profiles[name] = NabProfile(name=name, tp_weight=float(matrix["tpWeight"]),
                                        fp_weight=float(matrix["fpWeight"]),
                                        fn_weight=float(matrix["fnWeight"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"needs numeric tpWeight, fpWeight and fnWeight ({exc})", file=str(path),
                              rule=name, field="CostMatrix") from None
    order = [n for n in PROFILES if n in profiles] + [n for n in profiles if n not in PROFILES]
    return {name: profiles[name] for name in order}


def _results_path(results_dir: Path, relative: str) -> Path | None:
    folder, name = os.path.split(relative)
    candidates = [results_dir / folder / name, results_dir / folder / f"{results_dir.name}_{name}"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    matches = sorted((results_dir / folder).glob(f"*_{name}")) if (results_dir / folder).is_dir() else []
    return matches[0] if len(matches) == 1 else None


def read_nab_results(results_dir: str | os.PathLike[str], corpus: NabCorpus) -> dict[str, np.ndarray]:
    """Read a detector's per-file ``anomaly_score`` CSVs, one row per data row.

    Accepts NAB's layout ``<detector>/<folder>/<detector>_<name>.csv`` (pass the detector
    directory) and the plain ``<folder>/<name>.csv``. Extra columns are ignored; when the file has
    a ``timestamp`` column it must agree with the data file row by row.

    Returns
    -------
    dict
        Data path (``folder/name.csv``) → ``anomaly_score`` array.

    Raises
    ------
    InputError
        Any file missing, of the wrong length, misaligned, or with a score outside [0, 1]; every
        problem is listed.
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise InputError(f"{results_dir} is not a directory of NAB results", file=str(results_dir))
    problems: list[Problem] = []
    scores: dict[str, np.ndarray] = {}
    for data_file in corpus.files:
        path = _results_path(results_dir, data_file.path)
        if path is None:
            problems.append(Problem(file=data_file.path,
                                    reason=f"no results file under {results_dir} (<folder>/<name>.csv "
                                           "or <folder>/<detector>_<name>.csv)"))
            continue
        shown = str(path.relative_to(results_dir))
        try:
            frame = pl.read_csv(path, infer_schema=False)
        except (pl.exceptions.PolarsError, OSError) as exc:
            problems.append(Problem(file=shown, reason=f"unreadable: {exc}"))
            continue
        if "anomaly_score" not in frame.columns:
            problems.append(Problem(file=shown, column="anomaly_score", reason="missing column"))
            continue
        if frame.height != data_file.rows:
            problems.append(Problem(file=shown, reason=f"{frame.height} rows, but data/{data_file.path} has "
                                                       f"{data_file.rows}; NAB aligns rows by position"))
            continue
        values = frame["anomaly_score"].str.strip_chars().cast(pl.Float64, strict=False)
        bad = values.is_null() | values.is_nan() | (values < 0) | (values > 1)
        if bad.any():
            problems += [Problem(file=shown, row=i + 1, column="anomaly_score",
                                 reason=f"{frame['anomaly_score'][i]!r} is not a number in [0, 1]")
                         for i in bad.arg_true().head(5).to_list()]
            continue
        if "timestamp" in frame.columns:
            stamps = frame["timestamp"].str.strip_chars().str.to_datetime(time_unit="us", strict=False)
            if stamps.null_count() == 0:
                differs = np.flatnonzero(stamps.to_numpy().astype("datetime64[us]") != data_file.timestamps)
                if differs.size:
                    problems.append(Problem(file=shown, row=int(differs[0]) + 1, column="timestamp",
                                            reason="timestamp differs from the data file's row; results must "
                                                   "have one row per data row, in order"))
                    continue
        scores[data_file.path] = values.to_numpy()
    if problems:
        raise InputError(f"NAB results in {results_dir} cannot be scored", problems, file=str(results_dir))
    return scores


def _prepare(scores: Mapping[str, np.ndarray], corpus: NabCorpus, profile: NabProfile) -> pl.DataFrame:
    """Every scorable row of the corpus: file, score, weight and global window id (−1 outside)."""
    unknown = sorted(set(scores) - {f.path for f in corpus.files})
    if unknown:
        raise InputError("results for files that are not in the corpus",
                         [Problem(file=u, reason="not a corpus data file") for u in unknown])
    parts = []
    window_offset = 0
    for number, data_file in enumerate(corpus.files):
        if data_file.path not in scores:
            raise InputError(f"no anomaly scores for {data_file.path}; NAB scores every corpus file",
                             file=data_file.path)
        values = np.asarray(scores[data_file.path], dtype=float)
        if values.shape != (data_file.rows,):
            raise InputError(f"{values.size} scores for {data_file.path}, which has {data_file.rows} rows",
                             file=data_file.path)
        weight, window = row_weights(data_file.rows, data_file.windows, profile)
        keep = slice(data_file.probation, None)
        parts.append(pl.DataFrame({
            "file": np.full(data_file.rows - data_file.probation, number, dtype=np.int64),
            "score": values[keep],
            "weight": weight[keep],
            "window": np.where(window[keep] >= 0, window[keep] + window_offset, -1),
        }))
        window_offset += len(data_file.windows)
    return pl.concat(parts)


def sweep_thresholds(scores: Mapping[str, np.ndarray], corpus: NabCorpus,
                     profile: NabProfile) -> pl.DataFrame:
    """The corpus score at every candidate threshold for one profile (NAB's ``calcScoreByThreshold``).

    One row per threshold, highest first: ``threshold`` (1.1, then every distinct score),
    ``raw_score``, and the row counts ``tp``, ``fp``, ``fn``, ``tn``.
    """
    rows = _prepare(scores, corpus, profile)
    windows_scored = rows.filter(pl.col("window") >= 0)["window"].n_unique()
    inside_total = int((rows["window"] >= 0).sum())
    outside_total = rows.height - inside_total
    base = -profile.fn_weight * windows_scored
    ordered = (
        rows.with_row_index("seq")
        .sort(["score", "seq"], descending=[True, False])
        .with_columns(
            best=pl.when(pl.col("window") >= 0).then(pl.col("weight").cum_max().over("window")),
        )
        .with_columns(
            gain=pl.when(pl.col("window") >= 0)
            .then(pl.col("best") - pl.col("best").shift(1).over("window").fill_null(-profile.fn_weight))
            .otherwise(pl.col("weight")),
            tp=(pl.col("window") >= 0).cast(pl.Int64).cum_sum(),
            fp=(pl.col("window") < 0).cast(pl.Int64).cum_sum(),
        )
        .with_columns(raw_score=base + pl.col("gain").cum_sum())
    )
    at_threshold = (
        ordered.group_by("score", maintain_order=True).last()
        .select(threshold=pl.col("score"), raw_score="raw_score", tp="tp", fp="fp")
    )
    nothing = pl.DataFrame({"threshold": [NOTHING_THRESHOLD], "raw_score": [base], "tp": [0], "fp": [0]},
                           schema=at_threshold.schema)
    return pl.concat([nothing, at_threshold]).with_columns(
        fn=inside_total - pl.col("tp"), tn=outside_total - pl.col("fp"))


def score_nab(scores: Mapping[str, np.ndarray], corpus: NabCorpus, *,
              thresholds: Mapping[str, float] | None = None) -> pl.DataFrame:
    """Score a detector on the NAB corpus, one row per profile.

    Parameters
    ----------
    scores
        Data path → per-row ``anomaly_score`` (from :func:`read_nab_results`).
    corpus
        From :func:`read_nab_corpus`.
    thresholds
        Profile → fixed θ (held-out scoring); default None optimises θ per profile over the
        corpus, as NAB does.

    Returns
    -------
    polars.DataFrame
        ``profile``, ``threshold``, ``raw_score``, ``null_score``, ``perfect_score``, ``score``
        (normalised, 100 = perfect, 0 = never alarm), ``tp``, ``fp``, ``fn``, ``tn`` (row counts).

    Examples
    --------
    A two-file corpus and a detector that flags the first row of its only window:

    >>> import numpy as np, pathlib
    >>> stamps = np.arange(np.datetime64("2026-01-01T00:00"), np.datetime64("2026-01-01T00:20"),
    ...                    np.timedelta64(1, "m")).astype("datetime64[us]")
    >>> corpus = NabCorpus(root=pathlib.Path("."), files=(
    ...     NabFile(path="a/x.csv", timestamps=stamps, values=np.zeros(20), windows=((10, 12),)),))
    >>> flags = np.zeros(20); flags[10] = 1.0
    >>> score_nab({"a/x.csv": flags}, corpus)["score"].to_list()
    [100.0, 100.0, 100.0]
    """
    out = []
    for name, profile in corpus.profiles.items():
        table = sweep_thresholds(scores, corpus, profile)
        if thresholds is not None and name in thresholds:
            theta = float(thresholds[name])
            eligible = table.filter(pl.col("threshold") >= theta)
            best = eligible.tail(1)
        else:
            best = table.filter(pl.col("raw_score") == pl.col("raw_score").max()).head(1)
        null_score = -profile.fn_weight * corpus.windows
        perfect = profile.tp_weight * corpus.windows
        raw = float(best["raw_score"][0])
        out.append({
            "profile": name,
            "threshold": float(best["threshold"][0]),
            "raw_score": raw,
            "null_score": null_score,
            "perfect_score": perfect,
            "score": 100.0 * (raw - null_score) / (perfect - null_score) if perfect != null_score else None,
            "tp": int(best["tp"][0]), "fp": int(best["fp"][0]),
            "fn": int(best["fn"][0]), "tn": int(best["tn"][0]),
        })
    return pl.DataFrame(out, schema={"profile": pl.String, "threshold": pl.Float64, "raw_score": pl.Float64,
                                     "null_score": pl.Float64, "perfect_score": pl.Float64,
                                     "score": pl.Float64, "tp": pl.Int64, "fp": pl.Int64, "fn": pl.Int64,
                                     "tn": pl.Int64})


def score_nab_files(scores: Mapping[str, np.ndarray], corpus: NabCorpus, *,
                    thresholds: Mapping[str, float]) -> pl.DataFrame:
    """Per-file raw scores at fixed thresholds (NAB's ``<detector>_<profile>_scores.csv`` rows).

    Returns one row per (profile, file): ``profile``, ``file``, ``threshold``, ``raw_score``,
    ``tp``, ``fp``, ``fn``, ``tn``. The raw scores of a profile sum to its corpus raw score.
    """
    frames = []
    paths = pl.DataFrame({"file": np.arange(len(corpus.files), dtype=np.int64),
                          "path": [f.path for f in corpus.files]})
    for name, profile in corpus.profiles.items():
        theta = float(thresholds[name])
        rows = _prepare(scores, corpus, profile).with_columns(detected=pl.col("score") >= theta)
        fp = rows.group_by("file").agg(
            fp_score=pl.when(pl.col("detected") & (pl.col("window") < 0)).then(pl.col("weight")).sum(),
            tp=(pl.col("detected") & (pl.col("window") >= 0)).sum(),
            fp=(pl.col("detected") & (pl.col("window") < 0)).sum(),
            fn=(~pl.col("detected") & (pl.col("window") >= 0)).sum(),
            tn=(~pl.col("detected") & (pl.col("window") < 0)).sum(),
        )
        windows = (rows.filter(pl.col("window") >= 0)
                   .group_by("file", "window")
                   .agg(hit=pl.when(pl.col("detected")).then(pl.col("weight")).max())
                   .group_by("file")
                   .agg(window_score=pl.col("hit").fill_null(-profile.fn_weight).sum()))
        frames.append(
            fp.join(windows, on="file", how="left")
            .with_columns(raw_score=pl.col("fp_score") + pl.col("window_score").fill_null(0.0),
                          profile=pl.lit(name), threshold=pl.lit(theta))
        )
    result = (pl.concat(frames).sort("profile", "file")
              .join(paths, on="file", how="left").with_columns(file=pl.col("path")))
    return result.select("profile", "file", "threshold", "raw_score",
                         *(pl.col(c).cast(pl.Int64) for c in ("tp", "fp", "fn", "tn")))


def nab_summary(table: pl.DataFrame) -> dict[str, float | None]:
    """``{profile: normalised score}`` from :func:`score_nab`'s table, in profile order."""
    return dict(zip(table["profile"].to_list(), table["score"].to_list(), strict=True))


# --- replaying alertsim rules over the corpus ----------------------------------------------------

def corpus_metrics(data_file: NabFile, *, metric: str = "value") -> pl.DataFrame:
    """One corpus file as a Metrics frame (``timestamp`` as UTC, metric ``value``).

    NAB timestamps carry no zone and are taken as UTC. A repeated timestamp (8 files have them,
    none inside a window) keeps its last row, as a time series database would.
    """
    frame = pl.DataFrame({"timestamp": data_file.timestamps, "value": data_file.values.astype(float)})
    return (frame.with_columns(pl.col("timestamp").dt.replace_time_zone("UTC"), metric=pl.lit(metric))
            .with_row_index("__row").sort("timestamp", "__row")
            .unique(subset="timestamp", keep="last", maintain_order=True)
            .select("timestamp", "metric", "value"))


def detections(fired_at: Sequence[object] | pl.Series, data_file: NabFile) -> np.ndarray:
    """Binary NAB scores for one file: 1 at the row at which each alert fired, else 0.

    The row at which an alert fires is the newest sample at or before ``fired_at`` (the sample the
    rule evaluation saw), and with repeated timestamps the first row carrying it. Firings before
    the first sample are dropped.
    """
    scores = np.zeros(data_file.rows)
    instants = pl.Series("fired_at", list(fired_at), dtype=pl.Datetime("us", "UTC"))
    if instants.is_empty():
        return scores
    order = np.argsort(data_file.timestamps, kind="stable")
    ordered = data_file.timestamps[order]
    fired = instants.dt.replace_time_zone(None).to_numpy().astype("datetime64[us]")
    position = np.searchsorted(ordered, fired, side="right") - 1
    seen = position >= 0
    newest = ordered[position[seen]]
    first_row = np.searchsorted(ordered, newest, side="left")
    scores[order[first_row]] = 1.0
    return scores


def run_nab(rules: Sequence[object], corpus: NabCorpus, *, eval_interval: str = "1m",
            by_rule: bool = False) -> pl.DataFrame:
    """Replay alertsim rules over every corpus file (metric name ``value``) and score the alerts.

    A detection is the row at which an alert fires (see :func:`detections`); the threshold is
    fixed at 1 (every firing counts), so a rule set that alarms too much scores below 0 rather
    than being switched off by NAB's threshold sweep.

    Parameters
    ----------
    rules
        From ``alertsim.load_rules``.
    corpus
        From :func:`read_nab_corpus`.
    eval_interval
        Rule evaluation interval; default "1m".
    by_rule
        Also score each rule on its own; default False (the rule set is one detector).

    Returns
    -------
    polars.DataFrame
        ``detector`` (``"all rules"`` or a rule name), ``alerts``, then :func:`score_nab`'s columns.
    """
    names = [str(getattr(r, "name", r)) for r in rules]
    fired: dict[str, dict[str, list[object]]] = {path: {} for path in (f.path for f in corpus.files)}
    counts: dict[str, int] = dict.fromkeys(["all rules", *names], 0)
    for data_file in corpus.files:
        alerts = replay(corpus_metrics(data_file), list(rules), eval_interval=eval_interval).alerts  # type: ignore[arg-type]
        for (rule,), part in alerts.group_by("rule"):
            fired[data_file.path][str(rule)] = part["fired_at"].to_list()
            counts[str(rule)] = counts.get(str(rule), 0) + part.height
            counts["all rules"] += part.height
        log.debug("%s: %d alerts", data_file.path, alerts.height)
    fixed = dict.fromkeys(corpus.profiles, 1.0)
    detectors = ["all rules", *(names if by_rule else [])]
    tables = []
    for detector in detectors:
        scores = {}
        for data_file in corpus.files:
            per_rule = fired[data_file.path]
            instants = ([t for ts in per_rule.values() for t in ts] if detector == "all rules"
                        else per_rule.get(detector, []))
            scores[data_file.path] = detections(instants, data_file)
        tables.append(score_nab(scores, corpus, thresholds=fixed)
                      .with_columns(detector=pl.lit(detector), alerts=pl.lit(counts.get(detector, 0))))
    return pl.concat(tables).select("detector", "alerts", pl.exclude("detector", "alerts"))


# --- detectors: a continuous score per row, as NAB runs a detector ---------------------------------

PACK = "pack"
"""The name of a detector pack's combined score (the maximum of its rules' scores)."""


def score_detector(rules: Sequence[object], corpus: NabCorpus, *, eval_interval: str = "1m",
                   candidates: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """Every corpus row's anomaly score under a detector pack: the rules' scores, each mapped to
    ``[0, 1]`` with 0.5 at its threshold (:func:`alertsim.rules.anomaly.anomaly_score`), combined by
    their maximum.

    A row's score is the score at the first evaluation instant at or after its timestamp (the
    evaluation that first sees the row), so every score is causal. Rules are evaluated on a grid of
    ``eval_interval`` from the file's first timestamp to its last.

    Parameters
    ----------
    rules
        From ``alertsim.load_rules`` (metric ``value``).
    corpus
        From :func:`read_nab_corpus`.
    eval_interval
        Evaluation interval; default "1m".
    candidates
        Also return each rule's own scores, under its name; default False (only :data:`PACK`).

    Returns
    -------
    dict
        Detector name (:data:`PACK`, and the rule names with ``candidates``) → data path → scores.
    """
    rule_list = list(rules)
    if not rule_list:
        raise ConfigError("the detector has no rules", field="detector")
    step = to_microseconds(eval_interval, field="eval_interval")
    if step <= 0:
        raise ConfigError("must be longer than 0s", field="eval_interval")
    names = [str(getattr(r, "name", r)) for r in rule_list]
    out: dict[str, dict[str, np.ndarray]] = {PACK: {}}
    if candidates:
        out.update({name: {} for name in names})
    sem = Semantics()
    for data_file in corpus.files:
        prepared = prepare(corpus_metrics(data_file))
        times = data_file.timestamps.astype("datetime64[us]").astype(np.int64)
        grid = Grid.covering(int(times.min()), int(times.max()), step)
        row_at = np.clip(-(-(times - grid.t0) // step), 0, max(grid.size - 1, 0))
        combined = np.zeros(data_file.rows)
        for name, rule in zip(names, rule_list, strict=True):
            _, score = anomaly_score(rule, prepared, grid, sem)  # type: ignore[arg-type]
            per_row = score[0, row_at] if score.shape[0] else np.zeros(data_file.rows)
            if candidates:
                out[name][data_file.path] = per_row
            np.maximum(combined, per_row, out=combined)
        out[PACK][data_file.path] = combined
    return out


def write_nab_results(out_dir: str | os.PathLike[str], detector: str, scores: Mapping[str, np.ndarray],
                      corpus: NabCorpus) -> Path:
    """Write a NAB results directory: ``<out_dir>/<detector>/<folder>/<detector>_<name>.csv`` with
    ``timestamp,value,anomaly_score,label`` (label 1 inside a window), one row per data row — what
    NAB's scorer and :func:`read_nab_results` read. Returns the detector directory."""
    base = Path(out_dir) / detector
    for data_file in corpus.files:
        folder, name = os.path.split(data_file.path)
        target = base / folder / f"{detector}_{name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        label = np.zeros(data_file.rows, dtype=np.int64)
        for left, right in data_file.windows:
            label[left:right + 1] = 1
        pl.DataFrame({
            "timestamp": pl.Series(data_file.timestamps.astype("datetime64[us]")).dt.strftime("%Y-%m-%d %H:%M:%S"),
            "value": data_file.values.astype(float),
            "anomaly_score": np.round(np.asarray(scores[data_file.path], dtype=float), 12),
            "label": label,
        }).write_csv(target)
    return base


def categories(corpus: NabCorpus) -> list[str]:
    """The corpus folders (NAB's seven categories), in order."""
    return sorted({f.path.split("/", 1)[0] for f in corpus.files})


def _subset(corpus: NabCorpus, folders: Sequence[str], keep: bool) -> NabCorpus:
    files = tuple(f for f in corpus.files if (f.path.split("/", 1)[0] in folders) == keep)
    return NabCorpus(root=corpus.root, files=files, profiles=corpus.profiles)


def scoreboard(detectors: Mapping[str, Mapping[str, np.ndarray]], corpus: NabCorpus) -> pl.DataFrame:
    """One row per detector with its normalised score and threshold per profile (NAB's optimiser),
    in NAB's scoreboard form: ``detector``, ``standard``, ``reward_low_FP_rate``,
    ``reward_low_FN_rate``, and ``threshold_<profile>``."""
    rows = []
    for name, scores in detectors.items():
        table = score_nab(scores, corpus)
        row: dict[str, object] = {"detector": name}
        row.update(dict(zip(table["profile"].to_list(), table["score"].to_list(), strict=True)))
        row.update({f"threshold_{p}": t for p, t in zip(table["profile"], table["threshold"], strict=True)})
        rows.append(row)
    return pl.DataFrame(rows)


def cross_validate(detectors: Mapping[str, Mapping[str, np.ndarray]], corpus: NabCorpus) -> pl.DataFrame:
    """Leave-one-category-out cross-validation of choosing a detector and its threshold.

    For each of the corpus' folders in turn, the detector (among ``detectors``) and threshold with
    the best score on the *other* folders are chosen per profile, then scored on the held-out folder.
    The held-out raw scores of all folds add up to a corpus raw score, normalised as NAB does.

    Returns one row per profile: ``profile``, ``score`` (cross-validated, normalised), and
    ``chosen`` (the detector chosen in each fold, by folder).
    """
    folders = categories(corpus)
    out = []
    for profile_name, profile in corpus.profiles.items():
        raw_total = 0.0
        chosen = []
        for folder in folders:
            train = _subset(corpus, [folder], keep=False)
            test = _subset(corpus, [folder], keep=True)
            best: tuple[float, str, float] | None = None
            for name, scores in detectors.items():
                train_scores = {f.path: scores[f.path] for f in train.files}
                table = sweep_thresholds(train_scores, train, profile)
                top = table.filter(pl.col("raw_score") == pl.col("raw_score").max()).head(1)
                candidate = (float(top["raw_score"][0]), name, float(top["threshold"][0]))
                if best is None or candidate[0] > best[0]:
                    best = candidate
            assert best is not None
            _, name, theta = best
            test_scores = {f.path: detectors[name][f.path] for f in test.files}
            table = sweep_thresholds(test_scores, test, profile)
            held = table.filter(pl.col("threshold") >= theta).tail(1)
            raw = float(held["raw_score"][0])
            # Folders without windows score only their false positives.
            raw_total += raw
            chosen.append(f"{folder}: {name} @ {theta:.4g}")
        null_score = -profile.fn_weight * corpus.windows
        perfect = profile.tp_weight * corpus.windows
        out.append({"profile": profile_name, "score": 100.0 * (raw_total - null_score) / (perfect - null_score),
                    "chosen": "; ".join(chosen)})
    return pl.DataFrame(out)
