"""The import contracts of ``.importlinter`` (run by ``make lint``): they hold for alertsim as it is, a
wrong import breaks them, and every module of alertsim sits in one of the layers."""

from __future__ import annotations

import configparser
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import alertsim

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed (dev extra)")


def _lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the alertsim package found in ``where``."""
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=where, env={"PYTHONPATH": str(where), "PATH": ""},
                          capture_output=True, text=True, timeout=300)


def test_alertsim_keeps_its_import_contracts() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("series/vectors.py", "import alertsim.report", "alertsim.series is not allowed to import alertsim.report"),
    ("rules/base.py", "from alertsim.replay import replay", "alertsim.rules is not allowed to import alertsim.replay"),
    ("errors.py", "import alertsim.frames", "alertsim.errors is not allowed to import alertsim.frames"),
    ("report/figures.py", "from alertsim.notify._engine import notify",
     "alertsim.report.figures -> alertsim.notify._engine"),
    ("report/tables.py", "from alertsim.replay import replay",
     "alertsim.report is not allowed to import alertsim.replay"),
])
def test_a_wrong_import_breaks_a_contract(tmp_path: Path, module: str, line: str, broken: str) -> None:
    """A copy of the package with one wrong import added: ``lint-imports`` fails and names it."""
    shutil.copytree(ROOT / "alertsim", tmp_path / "alertsim", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(CONFIG, tmp_path / ".importlinter")
    with (tmp_path / "alertsim" / module).open("a") as handle:
        handle.write(f"\n{line}  # the wrong import\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    assert broken in result.stdout, result.stdout


def _layered() -> set[str]:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    layers = parser["importlinter:contract:layers"]["layers"].split("\n")
    return {name.strip() for layer in layers for name in layer.replace("|", ":").split(":") if name.strip()}


def test_every_module_is_in_a_layer() -> None:
    """A new module or package joins a layer: one the contract does not name would not be checked."""
    names = set()
    for info in pkgutil.iter_modules(alertsim.__path__):
        if info.name == "io":  # io's modules sit at different heights, each in its layer
            names |= {f"io.{m.name}" for m in pkgutil.iter_modules([str(ROOT / "alertsim" / "io")])}
        else:
            names.add(info.name)
    assert sorted(names - _layered()) == []
