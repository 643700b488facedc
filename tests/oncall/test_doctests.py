"""The runnable examples in the on-call modules' docstrings are executed, so they stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["alertsim.oncall", "alertsim.oncall._time", "alertsim.oncall._config",
           "alertsim.oncall.schedule", "alertsim.oncall.escalation", "alertsim.oncall.responders",
           "alertsim.oncall.design", "alertsim.oncall.simulate", "alertsim.oncall.reference",
           "alertsim.oncall.compare", "alertsim.oncall.balance"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_public_api_is_exported() -> None:
    import alertsim
    import alertsim.oncall as oncall

    assert all(hasattr(oncall, name) for name in oncall.__all__)
    for name in ("simulate", "load_design", "shifts", "on_call", "fit_responders"):
        assert name in alertsim.__all__ and getattr(alertsim, name) is getattr(oncall, name)
