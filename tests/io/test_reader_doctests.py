"""The runnable examples in the readers', frames' and durations' docstrings are executed, so they stay
true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["alertsim.io.metrics", "alertsim.io.incidents", "alertsim.frames", "alertsim.durations"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
