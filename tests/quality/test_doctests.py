"""The runnable examples in the quality modules' docstrings are executed, so they stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["alertsim.quality.matching", "alertsim.quality.detection", "alertsim.quality.nab",
           "alertsim.quality.fatigue", "alertsim.quality.fairness", "alertsim.quality.response",
           "alertsim.io.pagerduty", "alertsim.io.opsgenie"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
