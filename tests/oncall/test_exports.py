"""The on-call names are exported from ``alertsim.oncall`` and ``alertsim``."""

from __future__ import annotations


def test_public_api_is_exported() -> None:
    import alertsim
    import alertsim.oncall as oncall

    assert all(hasattr(oncall, name) for name in oncall.__all__)
    for name in ("simulate", "load_design", "shifts", "on_call", "fit_responders"):
        assert name in alertsim.__all__ and getattr(alertsim, name) is getattr(oncall, name)
