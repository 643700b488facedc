"""The curated public API: every name in ``__all__`` exists, in the package and in each subpackage."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import alertsim

PACKAGES = ["alertsim"] + [f"alertsim.{m.name}" for m in pkgutil.iter_modules(alertsim.__path__) if m.ispkg]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_exists(name):
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", [])
    assert [n for n in exported if not hasattr(module, n)] == []


def test_the_stages_are_one_import_away():
    for name in ("load_sample", "read_metrics", "read_incidents", "load_rules", "replay", "score", "notify",
                 "fatigue", "mtta", "mttr", "tune", "simulate", "open_dataset", "diff", "lint"):
        assert callable(getattr(alertsim, name)), name


def test_the_package_exports_what_a_notebook_needs_and_no_more():
    """About 25 names: the workflow functions and the records they return (ThresholdRule to write a rule
    in a cell); every other name stays in its subpackage."""
    names = set(alertsim.__all__) - {"__version__"}
    assert 20 <= len(names) <= 30
    assert {"ThresholdRule", "Replay", "Tuning", "Sample", "Fatigue"} <= names
    assert sorted(set(dir(alertsim)) & set(alertsim._EXPORTS)) == sorted(names)


def test_no_public_name_comes_from_a_private_module():
    for name, (module, attribute) in alertsim._EXPORTS.items():
        assert not any(part.startswith("_") for part in module.split(".")), name
        assert getattr(importlib.import_module(module), attribute).__module__.split(".")[0] == "alertsim", name


def test_a_name_removed_from_the_top_level_says_where_it_lives():
    import pytest

    with pytest.raises(AttributeError, match=r"import it from alertsim\.io\.pagerduty"):
        alertsim.read_pagerduty  # noqa: B018


def test_every_module_imports_first_without_an_import_cycle() -> None:
    """Each module imported first, in a process where no other alertsim module is loaded yet (as a
    notebook's first ``from alertsim.x import y`` does): a cycle that import order hides fails here."""
    import subprocess
    import sys

    script = """
import importlib, pkgutil, sys
import alertsim
names = sorted(m.name for m in pkgutil.walk_packages(alertsim.__path__, "alertsim."))
failed = []
for name in names:
    for loaded in [m for m in sys.modules if m == "alertsim" or m.startswith("alertsim.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
