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
                 "fatigue", "mtta", "mttr", "tune", "simulate", "open_dataset", "ingest"):
        assert callable(getattr(alertsim, name)), name
