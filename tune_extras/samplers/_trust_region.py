"""The trust region of a local search: a box that grows after successes and shrinks after failures.

Rules of TuRBO (Eriksson et al., "Scalable Global Optimization via Local Bayesian Optimization",
NeurIPS 2019, section 2): the region is a box of side ``length`` (unit-box coordinates) centred on the
incumbent. After ``success_tolerance`` consecutive successes (a step that improves the best value by
more than ``1e-3 |best|``) the side doubles, up to ``max_length``; after ``failure_tolerance``
consecutive failures it halves; below ``min_length`` the region *restarts* at ``initial_length``.

The state is a pure function of the sequence of outcomes, so an adapter can rebuild it by replaying
the finished trials in order (:func:`replay`) rather than storing it anywhere.

numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class TrustRegionRules:
    """Constants of the trust region.

    Args:
        initial_length: Side at the start and after a restart, in ``(0, max_length]`` (default 0.4).
        min_length: Side below which the region restarts, in ``(0, initial_length)`` (default 2^-7).
        max_length: Largest side, ``>= initial_length`` (default 1.0: the whole unit box).
        success_tolerance: Consecutive successes that double the side, ``>= 1`` (TuRBO: 3).
        failure_tolerance: Consecutive failures that halve the side, ``>= 1`` (TuRBO: ``max(4, d)``
            for one point a step).
    """

    initial_length: float = 0.4
    min_length: float = 2.0**-7
    max_length: float = 1.0
    success_tolerance: int = 3
    failure_tolerance: int = 4

    def __post_init__(self) -> None:
        if not (0.0 < self.max_length and math.isfinite(self.max_length)):
            raise ValueError(f"max_length must be finite and > 0, got {self.max_length}")
        if not 0.0 < self.initial_length <= self.max_length:
            raise ValueError(
                f"initial_length must be in (0, max_length={self.max_length}], got {self.initial_length}"
            )
        if not 0.0 < self.min_length < self.initial_length:
            raise ValueError(
                f"min_length must be in (0, initial_length={self.initial_length}), got {self.min_length}"
            )
        if self.success_tolerance < 1:
            raise ValueError(f"success_tolerance must be >= 1, got {self.success_tolerance}")
        if self.failure_tolerance < 1:
            raise ValueError(f"failure_tolerance must be >= 1, got {self.failure_tolerance}")


@dataclass(frozen=True)
class TrustRegion:
    """State: side ``length``, consecutive ``successes``/``failures``, ``restarts`` so far."""

    length: float
    successes: int = 0
    failures: int = 0
    restarts: int = 0

    def update(self, success: bool, rules: TrustRegionRules) -> TrustRegion:
        """The state after one step that succeeded or failed (TuRBO's rules, see the module)."""
        if success:
            successes, failures = self.successes + 1, 0
        else:
            successes, failures = 0, self.failures + 1
        length = self.length
        if successes >= rules.success_tolerance:
            length, successes = min(2.0 * length, rules.max_length), 0
        elif failures >= rules.failure_tolerance:
            length, failures = 0.5 * length, 0
        if length < rules.min_length:
            return TrustRegion(rules.initial_length, 0, 0, self.restarts + 1)
        return replace(self, length=length, successes=successes, failures=failures)


def is_success(value: float, best: float) -> bool:
    """Whether ``value`` improves ``best`` (a loss) by more than ``1e-3 |best|`` (TuRBO's margin)."""
    if not math.isfinite(best):
        return math.isfinite(value)
    return value < best - 1e-3 * abs(best)


def replay(values: Iterable[float], is_local: Iterable[bool], rules: TrustRegionRules) -> TrustRegion:
    """The trust region after the finished steps ``values`` (losses, in order).

    Every value updates the running best; only the steps flagged ``is_local`` (proposed from the trust
    region) count as successes or failures. Non-finite values are failures and never the best.
    Equal to folding :meth:`TrustRegion.update` over the local steps, in plain floats (a study of
    1,000 trials replays in about a millisecond).
    """
    length, successes, failures, restarts = rules.initial_length, 0, 0, 0
    best = math.inf
    for value, local in zip(values, is_local, strict=True):
        finite = math.isfinite(value)
        if local:
            if finite and is_success(value, best):
                successes, failures = successes + 1, 0
            else:
                successes, failures = 0, failures + 1
            if successes >= rules.success_tolerance:
                length, successes = min(2.0 * length, rules.max_length), 0
            elif failures >= rules.failure_tolerance:
                length, failures = 0.5 * length, 0
            if length < rules.min_length:
                length, successes, failures, restarts = rules.initial_length, 0, 0, restarts + 1
        if finite and value < best:
            best = value
    return TrustRegion(length, successes, failures, restarts)


__all__ = ["TrustRegion", "TrustRegionRules", "is_success", "replay"]
