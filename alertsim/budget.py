"""How much memory a job may use, and a check made before the work starts.

The budget is ``ALERTSIM_MEMORY_BUDGET`` (bytes, or with a unit: ``"8GiB"``, ``"512MB"``) or, by
default, half of the machine's physical memory. Every size a user can make huge (instants × series,
candidates, replicates, margins) is estimated first and refused with a ``ConfigError`` naming the
estimate and the option to change, instead of exhausting memory halfway.

>>> parse_size("1.5GiB")
1610612736
>>> check_size(10 * 2**20, what="a small replay", advice="--eval-interval", budget=2**30)
"""

from __future__ import annotations

import os
import re

from alertsim.errors import ConfigError

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(text: str) -> int:
    """Bytes in ``text`` (``"123"``, ``"8GiB"``, ``"512 MB"``); a ``ConfigError`` otherwise."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
    if not match or match.group(2).lower() not in _UNITS:
        raise ConfigError(f"{text!r} is not a size: use bytes or a number with B, KB, MB, GB, KiB, MiB, GiB",
                          field="ALERTSIM_MEMORY_BUDGET")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def memory_budget() -> int:
    """The memory budget in bytes: ``ALERTSIM_MEMORY_BUDGET``, else half of physical memory."""
    configured = os.environ.get("ALERTSIM_MEMORY_BUDGET")
    if configured:
        return parse_size(configured)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def human(size: float) -> str:
    """``size`` bytes for a person: ``"1.5 GiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(size) < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} EiB"


def check_size(estimate: float, *, what: str, advice: str, field: str | None = None,
               budget: int | None = None) -> None:
    """Refuse ``estimate`` bytes of ``what`` when it exceeds the budget; ``advice`` says what to change."""
    limit = memory_budget() if budget is None else budget
    if estimate > limit:
        raise ConfigError(f"{what} would need about {human(estimate)}, more than the memory budget of "
                          f"{human(limit)}: {advice} (or raise ALERTSIM_MEMORY_BUDGET)", field=field)
