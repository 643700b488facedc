"""Every command's and subcommand's ``--help`` shows runnable examples: each names only the options its
command has, parses with the command's own parser, and every path it gives under ``data/`` exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from alertsim.cli import COMMANDS, app, set_format

REPO = Path(__file__).resolve().parents[1]


def _walk(command: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found += _walk(sub, (*path, name))
    return found


def _all() -> list[tuple[tuple[str, ...], Any]]:
    root = typer.main.get_group(app)
    return [(("alertsim",), root)] + [
        ((("alertsim", *p)), c) for name in COMMANDS for p, c in _walk(root.get_command(None, name), (name,))]


ALL = _all()


def examples(help_text: str) -> list[str]:
    """The commands of a help text's Examples section (backslash-continued lines joined)."""
    if "Examples:" not in help_text:
        return []
    section = help_text.split("Examples:", 1)[1]
    joined = re.sub(r"\\\s*\n\s*", " ", section)
    return [line.strip() for line in joined.splitlines() if line.strip().startswith("alertsim ")]


@pytest.mark.parametrize(("path", "command"), ALL, ids=[" ".join(p) for p, _ in ALL])
def test_help_shows_examples_that_parse(path: tuple[str, ...], command: Any) -> None:
    shown = CliRunner().invoke(app, [*path[1:], "--help"], terminal_width=150)
    assert shown.exit_code == 0 and "Examples:" in shown.output, shown.output
    found = examples(command.help or "")
    assert 1 <= len(found) <= 3, found
    for example in found:
        words = shlex.split(example)[1:]
        target, name = typer.main.get_group(app), "alertsim"
        while words and hasattr(target, "list_commands") and not words[0].startswith("-"):
            name = words.pop(0)
            target = target.get_command(None, name)
            assert target is not None, example
        assert not hasattr(target, "list_commands"), f"{example}: names a group, not a command"
        options = {o for p in target.params for o in (*p.opts, *p.secondary_opts)}
        named = {w.split("=")[0] for w in words if w.startswith("-") and not re.fullmatch(r"-\d.*", w)}
        assert named <= options, (example, named - options)
        try:
            target.make_context(name, list(words))  # the command's own parser accepts it
        finally:
            set_format("table")  # parsing ran the --format callback
        for word in words:
            if word.startswith("data/"):
                assert (REPO / word).exists(), (example, word)
