"""Rung arithmetic and the decision of asynchronous successive halving (ASHA), framework-free.

ASHA (Li et al., "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020) places rungs at
``r_k = min_resource * eta^(s + k)`` (``s``: minimum early-stopping rate). In its *stopping* variant a
trial that reaches rung ``k`` continues only if its value there is among the best
``max(1, floor(n / eta))`` of the ``n`` values recorded at that rung so far (its own included), the
rule of Optuna's ``SuccessiveHalvingPruner`` and Ray's ``ASHAScheduler``.

Here a trial's value *at* a rung is its value at the first reported step at or beyond the rung, a
pure function of the reported curves. So the same reports always give the same decisions, whatever
the order in which processes read them, and no per-rung state has to be written anywhere: Optuna
adapters recompute it from the storage, Ray adapters from their saved reports.

A trial is judged at a rung once, at the report that first reaches it (the rungs it passed before
are not judged again when later trials change them): ASHA's rule, and Optuna's built-in, which
records each trial's rung values as it passes them. NaN and infinite values are the worst: a trial
reporting one at a rung is stopped, and, as in Optuna's built-in (which never records a NaN at a
rung), such values do not count among the values recorded at the rung.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from tune_extras._validation import check_int, check_real, loss_sign, parse_direction

Report = tuple[float, float]  # (step, value)
TrialKey = TypeVar("TrialKey", bound=Hashable)


@dataclass(frozen=True)
class Rungs:
    """Rung positions ``min_resource * reduction_factor^(min_early_stopping_rate + k)``.

    Args:
        min_resource: Resource at the first rung, ``> 0`` (steps, epochs or seconds).
        reduction_factor: ``eta >= 2``: the share ``1/eta`` of trials continues at each rung.
        min_early_stopping_rate: ``s >= 0``: skip the first ``s`` rungs.
        max_resource: Resource at which trials end (no rung at or beyond it), or ``None`` if unknown.
    """

    min_resource: float
    reduction_factor: int = 3
    min_early_stopping_rate: int = 0
    max_resource: float | None = None

    def __post_init__(self) -> None:
        check_real("min_resource", self.min_resource, low=0, low_open=True)
        check_int("reduction_factor", self.reduction_factor, low=2)
        check_int("min_early_stopping_rate", self.min_early_stopping_rate, low=0)
        if self.max_resource is not None:
            check_real("max_resource", self.max_resource, low=0, low_open=True)

    def step(self, rung: int) -> float:
        """Resource at rung ``rung`` (0-based)."""
        return float(
            self.min_resource * self.reduction_factor ** (self.min_early_stopping_rate + rung)
        )

    def reached(self, step: float) -> int:
        """Number of rungs at or below ``step`` (rungs at or beyond ``max_resource`` excluded)."""
        count = 0
        while self.step(count) <= step and (
            self.max_resource is None or self.step(count) < self.max_resource
        ):
            count += 1
        return count

    def between(self, previous: float, last: float) -> list[float]:
        """The rungs in ``(previous, last]``: those a report at ``last`` reaches first."""
        return [at for k in range(self.reached(last)) if (at := self.step(k)) > previous]

    def in_bracket(self, bracket: int) -> Rungs:
        """The rungs of Hyperband bracket ``bracket``: its first ``bracket`` rungs skipped."""
        return Rungs(
            self.min_resource,
            self.reduction_factor,
            self.min_early_stopping_rate + bracket,
            self.max_resource,
        )

    def all_steps(self) -> list[float]:
        """Every rung below ``max_resource`` (requires a known ``max_resource``)."""
        if self.max_resource is None:
            raise ValueError("all_steps needs a known max_resource")
        return [self.step(k) for k in range(self.reached(self.max_resource))]


def value_at(reports: Sequence[Report], step: float) -> float | None:
    """The value at the first reported step ``>= step``, or ``None`` if not reached yet."""
    best_step, found = math.inf, None
    for at, value in reports:
        if step <= at < best_step:
            best_step, found = at, value
    return found


def latest_steps(steps: Iterable[float]) -> tuple[float, float]:
    """The largest reported step and the one before it (``-inf`` if there is none)."""
    distinct = sorted(set(steps))
    return distinct[-1], distinct[-2] if len(distinct) > 1 else -math.inf


def is_promotable(
    value: float, competing: Iterable[float], reduction_factor: int, direction: str
) -> bool:
    """ASHA's stopping rule: is ``value`` among the best ``max(1, n // eta)`` of ``competing``?

    ``competing`` holds the values recorded at the rung, ``value`` included; non-finite ones are
    left out (they are never recorded). Ties go to the trial. A non-finite ``value`` is not.
    """
    sign = loss_sign(direction)
    if not math.isfinite(value):
        return False
    losses = sorted(sign * v for v in competing if math.isfinite(v))
    if not losses:
        return True
    keep = max(1, len(losses) // reduction_factor)
    return sign * value <= losses[keep - 1]


def should_stop(
    rungs: Rungs,
    reports: Mapping[TrialKey, Sequence[Report]],
    trial: TrialKey,
    direction: str,
    bootstrap_count: int = 0,
) -> bool:
    """Whether ``trial`` must stop at its latest report, given every trial's reports (its own included).

    The trial is judged at the rungs its latest report reaches first (those above its previous
    report's step and at or below the latest one), from the lowest, with its latest value: it
    stops at the first such rung where it is not promotable. Rungs it passed at earlier reports
    are not judged again. ``bootstrap_count``: a rung decides only once more than this many trials
    have finite values there (before that, the trial continues).
    """
    parse_direction(direction)
    own = reports[trial]
    if not own:
        return False
    last, previous = latest_steps(step for step, _ in own)
    value = next(v for s, v in reversed(own) if s == last)
    for at in rungs.between(previous, last):  # rungs passed before were judged then
        if not math.isfinite(value):
            return True
        competing = [
            v
            for other in reports.values()
            if (v := value_at(other, at)) is not None and math.isfinite(v)
        ]
        if len(competing) <= bootstrap_count:
            return False
        if not is_promotable(value, competing, rungs.reduction_factor, direction):
            return True
    return False


def auto_min_resource(
    max_resource: float, reduction_factor: int, rungs_below_max: int = 3
) -> float:
    """``max(1, floor(max_resource / eta^rungs_below_max))``: ``rungs_below_max`` rungs under the max.

    Optuna's ``min_resource="auto"`` takes 1/100 of the longest finished trial, which gives rungs at 1
    or 2 steps, where curves say little; three rungs per the reduction factor keep the first
    decision at a fraction ``1/eta^3`` of training (1/27 for eta = 3), as in Hyperband's default
    bracket (Li et al. 2018).
    """
    check_real("max_resource", max_resource, low=1)
    check_int("reduction_factor", reduction_factor, low=2)
    return float(max(1, math.floor(max_resource / reduction_factor**rungs_below_max)))


def promotion_candidate(
    rungs: Rungs,
    reports: Mapping[TrialKey, Sequence[Report]],
    paused: Mapping[TrialKey, int],
    direction: str,
    finishing: bool = False,
) -> TrialKey | None:
    """ASHA's *promotion* rule (Li et al. 2020, Algorithm 2): which paused trial to resume, if any.

    ``paused`` maps each paused trial to the rung where it waits. From the top rung down, a trial
    waiting at rung ``k`` is promotable when its value there is among the best ``n_k // eta`` of the
    ``n_k`` finite values recorded at rung ``k``; the best such trial of the highest rung is returned.
    ``None`` means: start a new configuration instead.

    ``finishing=True`` is for a finite search that will start no new configuration: the rule relaxes
    to the best ``max(1, n_k // eta)``, so that the top rungs, which few trials reach, still promote
    their best trial (as the stopping variant does) instead of starving.
    """
    sign = loss_sign(direction)
    for rung in sorted(set(paused.values()), reverse=True):
        at = rungs.step(rung)
        recorded = [
            (sign * v, key)
            for key, curve in reports.items()
            if (v := value_at(curve, at)) is not None and math.isfinite(v)
        ]
        keep = len(recorded) // rungs.reduction_factor
        if finishing:
            keep = max(1, keep)
        if keep == 0:
            continue
        recorded.sort(key=lambda pair: pair[0])
        threshold = recorded[keep - 1][0]
        waiting = [
            (loss, key) for loss, key in recorded if paused.get(key) == rung and loss <= threshold
        ]
        if waiting:
            return waiting[0][1]
    return None
