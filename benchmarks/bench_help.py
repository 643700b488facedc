"""Whole-process wall time of ``alertsim --help`` and of one command's ``--help``, next to a Python
process that only starts (the floor any command line pays). The root help imports no command module
and none of their dependencies (polars, matplotlib, DuckDB, Dask, statsmodels)."""

from __future__ import annotations

import compileall
import subprocess
import sys
import time
from pathlib import Path

TARGET_SECONDS = 0.35
ALERTSIM = [sys.executable, "-c", "from alertsim.cli import main; main()"]
ROOT = Path(__file__).resolve().parents[1]


def _best(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - started)
    return min(times)


def run(quick: bool = False) -> list[dict]:
    # As installed: alertsim's modules byte-compiled (this machine sets PYTHONDONTWRITEBYTECODE, so a
    # checkout would otherwise compile them from source in every process).
    compileall.compile_dir(ROOT / "alertsim", quiet=1)
    repeat = 3 if quick else 7
    floor = _best([sys.executable, "-c", "pass"], repeat)
    rows = []
    for case, args, target in (("alertsim --help", ["--help"], TARGET_SECONDS),
                               ("alertsim replay --help", ["replay", "--help"], None)):
        wall = _best([*ALERTSIM, *args], repeat)
        row = {"area": "cli", "case": f"{case} (whole process, wall)", "value": round(wall, 3), "unit": "s",
               "peer": "python -c pass", "peer_value": round(floor, 3), "ratio": round(wall / floor, 1)}
        if target is not None:
            row |= {"target": f"<= {target} s", "ok": wall <= target}
        rows.append(row)
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
