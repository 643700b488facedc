"""Escalation policies (PagerDuty semantics, with explicit switches).

A page notifies every target of the first :class:`Level` at once; if nobody has acknowledged after the
level's ``delay``, the next level is notified, and so on; after the last level the policy repeats
``loops`` more times. Then the page stays with whoever was notified.

- A level whose targets are all off call (coverage gap) is skipped at once, without waiting its delay.
  If every level is empty the page is *unrouted* (PagerDuty creates no incident).
- An escalation *adds* responders: the page is acknowledged by whoever acks first among everyone
  notified so far. With ``reassign=True`` an escalation cancels the earlier responders.
- Low-urgency pages notify the first level with someone on call and never escalate or loop.
- ``ack_timeout``: an acknowledged page still unresolved that long after its (latest) ack re-triggers:
  the previous acknowledger is notified again and the policy restarts from the first level, at most
  ``retriggers`` times per page.

Targets are ``"schedule:<name>"`` (whoever is on call there at notification time) or ``"user:<name>"``.

>>> policy = EscalationPolicy(levels=(Level(targets=("schedule:primary",), delay=timedelta(minutes=5)),
...                                   Level(targets=("user:lead",), delay=timedelta(minutes=10))))
>>> policy.steps, policy.width
(2, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from alertsim.errors import ConfigError
from alertsim.oncall._config import Section

TARGET_KINDS = ("schedule", "user")


@dataclass(frozen=True, kw_only=True)
class Level:
    """One escalation rule: every target is notified at once; escalate after ``delay`` without ack."""

    targets: tuple[str, ...]
    delay: timedelta = timedelta(minutes=30)

    def __post_init__(self) -> None:
        if not 1 <= len(self.targets) <= 10:
            raise ConfigError(f"a level needs 1 to 10 targets, got {len(self.targets)}", field="targets")
        for target in self.targets:
            kind, _, name = str(target).partition(":")
            if kind not in TARGET_KINDS or not name:
                raise ConfigError(f"target {target!r}; use 'schedule:<name>' or 'user:<name>'",
                                  field="targets")
        if self.delay < timedelta(0):
            raise ConfigError(f"delay must not be negative, got {self.delay}", field="delay")


@dataclass(frozen=True, kw_only=True)
class EscalationPolicy:
    """Levels, loops and the switches described in the module docstring.

    Parameters
    ----------
    levels : at least one :class:`Level` (PagerDuty allows up to 20).
    loops : how many times the policy repeats after its last level (default 0; PagerDuty allows 9).
    ack_timeout : re-trigger an acknowledged, unresolved page after this long (default None: off).
    retriggers : at most this many re-triggers per page (default 3).
    reassign : an escalation cancels earlier responders (default False: it adds responders).
    """

    levels: tuple[Level, ...]
    loops: int = 0
    ack_timeout: timedelta | None = None
    retriggers: int = 3
    reassign: bool = False

    def __post_init__(self) -> None:
        if not 1 <= len(self.levels) <= 20:
            raise ConfigError(f"a policy needs 1 to 20 levels, got {len(self.levels)}", field="levels")
        if not 0 <= self.loops <= 9:
            raise ConfigError(f"loops must be 0-9, got {self.loops}", field="loops")
        if self.ack_timeout is not None and self.ack_timeout <= timedelta(0):
            raise ConfigError(f"ack_timeout must be positive, got {self.ack_timeout}", field="ack_timeout")
        if not 0 <= self.retriggers <= 10:
            raise ConfigError(f"retriggers must be 0-10, got {self.retriggers}", field="retriggers")

    @property
    def steps(self) -> int:
        """Levels × passes: the number of escalation steps in one run of the policy."""
        return len(self.levels) * (self.loops + 1)

    @property
    def width(self) -> int:
        """The most targets on one level."""
        return max(len(level.targets) for level in self.levels)

    @property
    def cycles(self) -> int:
        """Runs of the policy a page can see: 1 plus the re-triggers when an ack timeout is set."""
        return 1 + (self.retriggers if self.ack_timeout is not None else 0)

    def level(self, step: int) -> Level:
        return self.levels[step % len(self.levels)]

    @property
    def schedules(self) -> tuple[str, ...]:
        """Schedule names the policy targets, in order."""
        names = [t.partition(":")[2] for lv in self.levels for t in lv.targets if t.startswith("schedule:")]
        return tuple(dict.fromkeys(names))

    @property
    def users(self) -> tuple[str, ...]:
        """User names the policy targets directly, in order."""
        names = [t.partition(":")[2] for lv in self.levels for t in lv.targets if t.startswith("user:")]
        return tuple(dict.fromkeys(names))


def parse_escalation(raw: object, *, file: str | None = None, path: str = "escalation") -> EscalationPolicy:
    """An :class:`EscalationPolicy` from a design file's ``escalation`` mapping.

    >>> parse_escalation({"levels": [{"targets": ["user:ana"], "delay": "5m"}], "loops": 1}).steps
    2
    """
    s = Section(raw, path=path, file=file,
                allowed={"levels", "loops", "ack_timeout", "retriggers", "reassign"})
    levels = []
    for i, item in enumerate(s.items("levels", required=True)):
        lv = Section(item, path=f"{s.where('levels')}[{i}]", file=file, allowed={"targets", "delay"})
        try:
            levels.append(Level(targets=lv.strings("targets", required=True),
                                delay=lv.duration("delay", timedelta(minutes=30))))  # type: ignore[arg-type]
        except ConfigError as exc:
            if exc.file:
                raise
            raise lv.error(exc.field, str(exc).split(": ", 1)[-1]) from None
    try:
        return EscalationPolicy(levels=tuple(levels), loops=s.integer("loops", 0),  # type: ignore[arg-type]
                                ack_timeout=s.duration("ack_timeout"),
                                retriggers=s.integer("retriggers", 3),  # type: ignore[arg-type]
                                reassign=s.flag("reassign", False))
    except ConfigError as exc:
        if exc.file:
            raise
        raise s.error(exc.field, str(exc).split(": ", 1)[-1]) from None


__all__ = ["EscalationPolicy", "Level", "parse_escalation"]
