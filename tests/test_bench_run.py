"""The ``make bench`` driver: every bench module's rows in one table and results.json; a failing module
is reported and the others still run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

# benchmarks/ is not a package: load its driver from the file.
_spec = importlib.util.spec_from_file_location(
    "alertsim_bench_run", Path(__file__).resolve().parents[1] / "benchmarks" / "run.py")
assert _spec is not None and _spec.loader is not None
bench_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_run)

GOOD = '''
def run(quick=False):
    return [{"area": "demo", "case": "quick" if quick else "full", "value": 2.0, "unit": "x",
             "peer": "baseline", "peer_value": 1.0, "ratio": 2.0, "target": ">= 1x", "ok": True}]
'''
NO_QUICK = 'def run():\n    return [{"area": "demo", "case": "plain", "value": 1, "unit": "s"}]\n'
BROKEN = 'def run():\n    raise RuntimeError("the server did not start")\n'


@pytest.fixture
def bench_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_run, "HERE", tmp_path)
    (tmp_path / "bench_good.py").write_text(GOOD)
    (tmp_path / "bench_plain.py").write_text(NO_QUICK)
    (tmp_path / "bench_broken.py").write_text(BROKEN)
    return tmp_path


@pytest.mark.parametrize(("only", "found"), [
    (None, ["bench_broken", "bench_good", "bench_plain"]),
    (["good"], ["bench_good"]),
    (["bench_plain.py", "broken"], ["bench_broken", "bench_plain"]),
    (["nothing"], []),
])
def test_modules_are_found_by_name_with_or_without_prefix(bench_dir, only, found) -> None:
    assert [p.stem for p in bench_run.discover(only)] == found


def test_a_failing_module_is_reported_and_the_others_still_run(bench_dir, capsys) -> None:
    out = bench_dir / "results.json"
    assert bench_run.main(["--out", str(out)]) == 1
    modules = json.loads(out.read_text())["modules"]
    assert modules["bench_broken"]["error"] == "RuntimeError: the server did not start"
    assert modules["bench_broken"]["rows"] == []
    assert modules["bench_good"]["rows"][0]["case"] == "full"
    assert modules["bench_plain"]["rows"][0]["value"] == 1
    printed = capsys.readouterr().out
    assert "bench_broken failed: RuntimeError: the server did not start" in printed
    assert "2×" in printed                                           # the ratio column


def test_quick_reaches_modules_that_take_it_and_only_replaces_what_ran(bench_dir) -> None:
    out = bench_dir / "results.json"
    bench_run.main(["--out", str(out)])
    assert bench_run.main(["--quick", "--only", "good", "--out", str(out)]) == 0
    modules = json.loads(out.read_text())["modules"]
    assert modules["bench_good"]["rows"][0]["case"] == "quick"
    assert modules["bench_good"]["quick"] is True
    assert set(modules) == {"bench_broken", "bench_good", "bench_plain"}    # earlier results kept


@pytest.mark.parametrize(("rows", "message"), [
    ({"area": "a"}, "must return a list"),
    (["text"], "row 1 is a str"),
    ([{"area": "a", "case": "c", "value": 1}], r"missing \['unit'\]"),
    ([{"area": "a", "case": "c", "value": 1, "unit": "s", "speed": 2}], r"unknown \['speed'\]"),
])
def test_malformed_rows_are_errors_naming_the_row(rows, message) -> None:
    with pytest.raises(ValueError, match=message):
        bench_run.check_rows(rows)


def test_non_finite_values_are_written_as_null(bench_dir) -> None:
    out = bench_dir / "results.json"
    bench_run.write_results(out, {"bench_x": {"rows": [{"value": float("nan")}], "error": None}})
    assert json.loads(out.read_text())["modules"]["bench_x"]["rows"][0]["value"] is None
