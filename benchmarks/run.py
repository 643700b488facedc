"""``make bench``: run every ``benchmarks/bench_*.py`` module, print one table, write results.json.

Each module exposes ``run() -> list[dict]``; a dict has ``area``, ``case``, ``value`` and ``unit``, and
optionally ``peer``, ``peer_value``, ``ratio``, ``target``, ``ok`` and ``note`` (context printed under
the table). Rows measured on both kinds of data carry the realistic figures beside the aligned ones
(``value``, ``peer_value``, ``ratio``): ``realistic``, ``realistic_peer_value`` and ``realistic_ratio``.
A module whose ``run`` accepts a ``quick`` keyword gets ``quick=True`` under ``--quick`` (small sizes,
for a smoke run). A module that
fails to import or run, or returns malformed rows, is reported in the table and in results.json; the
others still run, and the exit status is 1. Missed targets are reported (``ok`` false), not fatal.

results.json keeps the latest result of every module: ``--only`` replaces only the modules it ran.

    python benchmarks/run.py                 # everything
    python benchmarks/run.py --quick         # small sizes
    python benchmarks/run.py --only replay   # bench_replay.py only (repeatable)
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import math
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
REQUIRED = ("area", "case", "value", "unit")
OPTIONAL = ("peer", "peer_value", "ratio", "target", "ok", "note", "realistic", "realistic_peer_value",
            "realistic_ratio")


def discover(only: list[str] | None = None) -> list[Path]:
    """The bench modules, sorted by name; ``only`` keeps those named ``NAME`` or ``bench_NAME``."""
    found = sorted(HERE.glob("bench_*.py"))
    if not only:
        return found
    wanted = {name.removesuffix(".py").removeprefix("bench_") for name in only}
    return [p for p in found if p.stem.removeprefix("bench_") in wanted]


def load(path: Path) -> Any:
    """Import a bench module from its file (the repository root and benchmarks/ on sys.path)."""
    for entry in (str(HERE.parent), str(HERE)):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def check_rows(rows: Any) -> list[dict[str, Any]]:
    """The rows if they are a list of dicts with the required keys and no unknown ones; else ValueError."""
    if not isinstance(rows, list):
        raise ValueError(f"run() must return a list of dicts, got {type(rows).__name__}")
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise ValueError(f"row {number} is a {type(row).__name__}, not a dict")
        missing = [k for k in REQUIRED if k not in row]
        unknown = sorted(set(row) - set(REQUIRED) - set(OPTIONAL))
        if missing or unknown:
            raise ValueError(f"row {number} ({row.get('case')!r}): missing {missing}, unknown {unknown}; "
                             f"allowed keys are {[*REQUIRED, *OPTIONAL]}")
    return rows


def run_module(path: Path, *, quick: bool) -> dict[str, Any]:
    """Run one module; never raises. Returns its rows, the seconds it took and any error."""
    started = time.perf_counter()
    try:
        module = load(path)
        run = getattr(module, "run", None)
        if not callable(run):
            raise AttributeError(f"{path.name} has no run() function")
        accepts_quick = "quick" in inspect.signature(run).parameters
        rows = check_rows(run(quick=quick) if accepts_quick else run())
        error = None
    except Exception as exc:  # a failing module is reported, the others still run
        rows = []
        error = "".join(traceback.format_exception_only(exc)).strip()
        traceback.print_exc()
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 1), "error": error,
            "quick": quick, "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()}


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def _ratio(value: Any) -> str:
    return f"{_number(value)}×" if value is not None else ""


def table(results: dict[str, dict[str, Any]]) -> Table:
    """One Rich table of every row of ``results`` (module name → run_module output); rows measured on
    aligned and realistic data show both side by side."""
    out = Table(title="alertsim benchmarks", show_lines=False)
    columns = ("area", "case", "value", "realistic", "unit", "peer", "peer value", "realistic peer", "ratio",
               "realistic ratio", "target", "ok")
    numeric = {"value", "realistic", "peer value", "realistic peer", "ratio", "realistic ratio"}
    for column in columns:
        out.add_column(column, justify="right" if column in numeric else "left")
    for name, result in results.items():
        if result["error"]:
            out.add_row(name.removeprefix("bench_"), "[red]failed (error below)[/red]",
                        *[""] * (len(columns) - 3), "[red]✗[/red]")
        for row in result["rows"]:
            ok = row.get("ok")
            mark = "" if ok is None else ("[green]✓[/green]" if ok else "[red]✗[/red]")
            out.add_row(str(row["area"]), str(row["case"]), _number(row["value"]), _number(row.get("realistic")),
                        str(row["unit"]), str(row.get("peer") or ""), _number(row.get("peer_value")),
                        _number(row.get("realistic_peer_value")), _ratio(row.get("ratio")),
                        _ratio(row.get("realistic_ratio")), str(row.get("target") or ""), mark)
    return out


def _clean(value: Any) -> Any:
    """JSON has no NaN/Infinity: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def write_results(path: Path, results: dict[str, dict[str, Any]]) -> None:
    """Merge ``results`` into the JSON file at ``path`` (modules not run this time are kept)."""
    previous: dict[str, Any] = {}
    if path.exists():
        try:
            previous = json.loads(path.read_text()).get("modules", {})
        except (ValueError, AttributeError):
            previous = {}
    payload = {"machine": machine(), "modules": {**previous, **results}}
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(_clean(payload), indent=2, default=str) + "\n")
    temporary.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not a measurement")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only bench_NAME.py (repeatable)")
    parser.add_argument("--out", type=Path, default=HERE / "results.json", help="results file")
    args = parser.parse_args(argv)
    console = Console()
    if not console.is_terminal:  # piped or logged: do not squeeze the table into 80 columns
        console = Console(width=200)
    paths = discover(args.only)
    if not paths:
        console.print(f"[red]no benchmark modules match {args.only}[/red]")
        return 2
    results: dict[str, dict[str, Any]] = {}
    for path in paths:
        console.print(f"[bold]{path.stem}[/bold] …")
        results[path.stem] = run_module(path, quick=args.quick)
        status = "[red]failed[/red]" if results[path.stem]["error"] else "done"
        console.print(f"  {status} in {results[path.stem]['seconds']:.0f}s")
    console.print(table(results))
    for name, result in results.items():
        if result["error"]:
            console.print(f"[red]{name} failed: {result['error']}[/red]")
        for row in result["rows"]:
            if row.get("note"):
                console.print(f"[dim]{row['case']}: {row['note']}[/dim]")
    write_results(args.out, results)
    console.print(f"results written to {args.out}")
    return 1 if any(r["error"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
