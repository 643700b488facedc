"""CLI command groups; each module defines ``register(app)`` and is listed in ``alertsim.cli``."""
