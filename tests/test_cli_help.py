"""``alertsim --help`` lists every command without importing any of them; each command is imported when
it runs or shows its own help."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from alertsim.cli import COMMANDS, app

HEAVY = ("polars", "numpy", "matplotlib", "duckdb", "dask", "statsmodels", "scipy", "jinja2", "pandas")


def _imported_after(argv: list[str]) -> list[str]:
    code = ("import json, sys\nfrom alertsim.cli import main\nsys.argv = ['alertsim', *json.loads(sys.argv[1])]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code, json.dumps(argv)], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stderr.strip().splitlines()[-1])


def test_the_root_help_imports_no_command_dependency():
    assert _imported_after(["--help"]) == []


def test_the_root_help_lists_every_command():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert all(name in result.output for name in COMMANDS)


def _registered() -> dict[str, str]:
    """Every command as its modules register it, with its own help (first paragraph, one line)."""
    full = typer.Typer()
    for module in sorted({m for modules, _ in COMMANDS.values() for m in modules}):
        importlib.import_module(module).register(full)
    group = typer.main.get_group(full)
    return {name: " ".join((command.help or "").split("\n\n")[0].split())
            for name, command in group.commands.items()}


def test_the_listed_help_is_each_commands_own():
    assert {name: help for name, (_, help) in COMMANDS.items()} == _registered()


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_shows_its_help(name):
    result = CliRunner().invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: alertsim " + name in " ".join(result.output.split())


def test_the_package_exports_what_it_lists():
    import alertsim

    assert sorted([*alertsim._EXPORTS, "__version__"]) == sorted(alertsim.__all__)
    assert callable(alertsim.replay) and callable(alertsim.notify)  # not the submodules of the same name


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_shows_no_type_noise(name):
    output = CliRunner().invoke(app, [name, "--help"], terminal_width=150).output
    assert not re.search(r"<(path|text|int|float|bool|list\[[^\]]*\])>|\{[a-z_]+\}", output), output


def test_the_root_help_shows_no_type_noise():
    output = CliRunner().invoke(app, ["--help"]).output
    assert "<bool>" not in output
