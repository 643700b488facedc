"""The on-call names are exported from ``alertsim.oncall``; a notebook's two are also in ``alertsim``."""

from __future__ import annotations

import alertsim
import alertsim.oncall as oncall


def test_public_api_is_exported() -> None:
    assert all(hasattr(oncall, name) for name in oncall.__all__)
    for name in ("simulate", "load_design", "shifts", "on_call", "fit_responders"):
        assert name in oncall.__all__
    for name in ("simulate", "load_design"):
        assert name in alertsim.__all__ and getattr(alertsim, name) is getattr(oncall, name)
