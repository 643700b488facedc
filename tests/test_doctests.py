"""The runnable examples in the docstrings of every module under ``alertsim/`` are executed, so they stay true.

Examples that need something a test run does not have (a shared corpus, a run directory, a dataset
on disk) are marked ``# doctest: +SKIP`` where they are written. Every module must run at least one
example, unless it is listed in ``ONLY_SKIPPED`` or ``WITHOUT_EXAMPLES`` with the reason.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import alertsim

CLI = ("alertsim.cli", "alertsim.commands")
"""Command-line modules print and exit; their behaviour is shown and tested through the CLI."""

ONLY_SKIPPED = {
    "alertsim.scale": "the example needs a partitioned dataset on disk and a Dask cluster",
}

WITHOUT_EXAMPLES = {
    "alertsim.io": "package docstring only",
    "alertsim.quality": "package docstring only",
    "alertsim.report": "package docstring only",
    "alertsim.rules": "package that re-exports the rule kinds, alertsim.rules.config and alertsim.rules.formats",
    "alertsim.series": "package that re-exports alertsim.series.vectors, .prepared and .grid",
    "alertsim.io._tabular": "private parsing helpers, shown through the readers' examples",
    "alertsim.oncall._plan": "private array layout of the simulator, shown through its examples",
    "alertsim.promql.ast": "syntax tree records, shown through the parser's examples",
    "alertsim.rules.slo": "the burn-rate rule kind and its evaluation kernel, run by alertsim.replay",
    "alertsim.demo": "runs the whole pipeline into a directory; tested in tests/test_demo.py",
    "alertsim.io.ingest": "writes a partitioned store on disk; tested in tests/test_scale.py",
    "alertsim.report.postmortem": "writes a report directory from a run; tested in tests/report",
    "alertsim.quality.timeline": "reads a run directory; tested in tests/quality/test_timeline.py",
}

MODULES = ["alertsim", *sorted(m.name for m in pkgutil.walk_packages(alertsim.__path__, "alertsim."))]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    if not name.startswith(CLI) and name not in ONLY_SKIPPED and name not in WITHOUT_EXAMPLES:
        assert result.attempted > 0, f"{name} has no runnable docstring example"


@pytest.mark.parametrize(("listed", "found"), [(ONLY_SKIPPED, True), (WITHOUT_EXAMPLES, False)],
                         ids=["only skipped examples", "no examples"])
def test_the_listed_modules_are_as_listed(listed: dict[str, str], found: bool) -> None:
    finder = doctest.DocTestFinder()
    for name in listed:
        examples = [e for t in finder.find(importlib.import_module(name)) for e in t.examples]
        assert bool(examples) is found, name
        assert all(e.options.get(doctest.SKIP) for e in examples), name
