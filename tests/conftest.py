"""Shared fixtures. Tests that need a system binary call :func:`require_binary`: it skips with a
reason on a developer's machine without the binary, and fails under ``CI=true``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
REPO = Path(__file__).resolve().parents[1]


def require_binary(name: str, *, package: str) -> str:
    """Path of ``name`` on PATH (or /usr/bin); skip, or fail under CI=true, when absent."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
    if path:
        return path
    message = f"{name} not found: install Debian's {package!r} package (make test does this as root)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)


def require_shared(*parts: str) -> Path:
    """A path under ../shared (reference data); skip cleanly when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture
def promtool() -> str:
    return require_binary("promtool", package="prometheus")


@pytest.fixture
def prometheus_bin() -> str:
    return require_binary("prometheus", package="prometheus")
