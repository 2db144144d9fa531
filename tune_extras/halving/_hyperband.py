"""Hyperband over asynchronous successive halving: the one object both adapters decide with.

Hyperband (Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, "Hyperband: A Novel Bandit-Based
Approach to Hyperparameter Optimization", JMLR 2018) runs successive halving in ``B`` brackets;
bracket ``b`` skips its first ``b`` rungs (early-stopping rate ``s + b``), so bracket 0 is the most
aggressive and the last one prunes least. Li et al.'s Algorithm 1 gives bracket ``b`` (with
``t = B - 1 - b`` halvings) ``n_b = ceil(B * eta^t / (t + 1))`` configurations, so that every
bracket spends about the same resource; the asynchronous version (ASHA, Li et al., MLSys 2020;
Optuna's ``HyperbandPruner``) keeps these counts as the *weights* with which trials are shared
among brackets. Here trial number ``n`` goes to bracket ``sequence[n mod W]`` (``W = sum n_b``),
where ``sequence`` is the smooth weighted round robin of the weights: every run of ``W``
consecutive trials holds exactly ``n_b`` trials of bracket ``b``, spread evenly, and the
assignment is a function of the trial number alone (same in every process and every run; Optuna
draws it from a hash of the study name, so its resource use varies between runs).

With one bracket (``brackets=1``) this is asynchronous successive halving itself.

Resources: ``min_resource`` and ``max_resource`` may be ``"auto"``. A learned ``max_resource`` is
given to each call by the adapter (tune-extras' adapters take the last step of the *first*
completed trial, so it never changes once known: rungs and brackets stay put for the whole study;
see :func:`first_completed`); ``min_resource="auto"`` is
:func:`~tune_extras.halving.auto_min_resource` of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from tune_extras._validation import check_int, check_int_or_auto, check_real
from tune_extras.halving._rungs import Report, Rungs, TrialKey, auto_min_resource, should_stop

Auto = Literal["auto"]


@lru_cache(maxsize=32)
def _round_robin(weights: tuple[int, ...]) -> tuple[int, ...]:
    """Smooth weighted round robin: one period of ``sum(weights)`` picks, ``weights[b]`` of ``b``.

    At each pick every bracket's credit grows by its weight and the bracket with the most credit
    (the lowest index on ties) is picked and pays the total weight back.
    """
    total = sum(weights)
    credit = [0] * len(weights)
    picks = []
    for _ in range(total):
        for b, w in enumerate(weights):
            credit[b] += w
        chosen = max(range(len(weights)), key=lambda b: (credit[b], -b))
        credit[chosen] -= total
        picks.append(chosen)
    return tuple(picks)


@dataclass(frozen=True)
class Hyperband:
    """Successive halving in one bracket, or Hyperband's budget-weighted brackets.

    Args:
        min_resource: Resource of the first rung: a number ``> 0``, or ``"auto"``
            (:func:`~tune_extras.halving.auto_min_resource` of the maximum resource: three rungs
            below it).
        max_resource: Resource at which trials end (no rung at or beyond it): a number ``> 0``, or
            ``"auto"`` (learned by the adapter and passed to each call).
        reduction_factor: ``eta``, an int ``>= 2``: the best ``1/eta`` continue at each rung.
        min_early_stopping_rate: ``s``, an int ``>= 0``: bracket 0 skips its first ``s`` rungs.
        bootstrap_count: A rung decides only once more than this many trials have values there.
        brackets: ``1`` (successive halving), ``"auto"`` (Hyperband's
            ``floor(log_eta(max_resource / min_resource)) + 1 - s`` brackets, at least 1) or an
            int ``k``: at most ``k`` of them.

    Example:
        >>> from tune_extras.halving import Hyperband
        >>> hb = Hyperband(min_resource=1, max_resource=81, brackets="auto")
        >>> hb.bracket_weights()  # Li et al.'s n_b for B = 5 brackets, eta = 3
        (81, 34, 15, 8, 5)
        >>> [hb.bracket(n) for n in range(8)]
        [0, 1, 0, 2, 0, 1, 0, 0]
        >>> hb.rungs_of(3).all_steps()  # bracket 2: its first two rungs skipped
        [9.0, 27.0]
    """

    min_resource: float | Auto = "auto"
    max_resource: float | Auto = "auto"
    reduction_factor: int = 3
    min_early_stopping_rate: int = 0
    bootstrap_count: int = 0
    brackets: int | Auto = 1

    def __post_init__(self) -> None:
        for name in ("min_resource", "max_resource"):
            value = getattr(self, name)
            if value != "auto" or not isinstance(value, str):
                try:
                    check_real(name, value, low=0, low_open=True)
                except ValueError:
                    raise ValueError(
                        f"{name} must be 'auto' or a number > 0, got {value!r}"
                    ) from None
        check_int("reduction_factor", self.reduction_factor, low=2)
        check_int("min_early_stopping_rate", self.min_early_stopping_rate, low=0)
        check_int("bootstrap_count", self.bootstrap_count, low=0)
        check_int_or_auto("brackets", self.brackets, low=1)
        if self.min_resource != "auto" and self.max_resource != "auto":
            if not float(self.min_resource) < float(self.max_resource):
                raise ValueError(
                    f"min_resource ({self.min_resource}) must be < max_resource "
                    f"({self.max_resource})"
                )

    # ------------------------------------------------------------------------------ resources
    def resolved_max(self, learned: float | None = None) -> float | None:
        """The maximum resource: the given one, else ``learned`` (``None`` while unknown)."""
        if self.max_resource != "auto":
            return float(self.max_resource)
        return None if learned is None or not learned > 0 else float(learned)

    def base_rungs(self, learned_max: float | None = None) -> Rungs | None:
        """Rungs of bracket 0, or ``None`` while the resources are unknown (or leave no rung)."""
        max_resource = self.resolved_max(learned_max)
        if max_resource is None:
            return None
        if self.min_resource == "auto":
            if max_resource < 1:
                return None
            min_resource = auto_min_resource(max_resource, self.reduction_factor)
        else:
            min_resource = float(self.min_resource)
        if not min_resource < max_resource:
            return None
        return Rungs(
            min_resource, self.reduction_factor, self.min_early_stopping_rate, max_resource
        )

    # ------------------------------------------------------------------------------- brackets
    def bracket_count(self, learned_max: float | None = None) -> int:
        """``B``: 1 for successive halving; ``floor(log_eta(max / min)) + 1 - s`` for Hyperband."""
        rungs = self.base_rungs(learned_max)
        if self.brackets == 1 or rungs is None:
            return 1
        assert rungs.max_resource is not None
        ratio = rungs.max_resource / rungs.min_resource
        levels = math.floor(math.log(ratio, self.reduction_factor) + 1e-9) + 1
        count = max(1, levels - self.min_early_stopping_rate)
        return count if self.brackets == "auto" else min(count, int(self.brackets))

    def bracket_weights(self, learned_max: float | None = None) -> tuple[int, ...]:
        """Li et al.'s ``n_b = ceil(B * eta^t / (t + 1))``, ``t = B - 1 - b``, for each bracket."""
        count = self.bracket_count(learned_max)
        eta = self.reduction_factor
        return tuple(math.ceil(count * eta ** (count - 1 - b) / (count - b)) for b in range(count))

    def bracket(self, number: int, learned_max: float | None = None) -> int:
        """The bracket of trial number ``number`` (``>= 0``): a fixed budget-weighted sequence."""
        check_int("number", number, low=0)
        sequence = _round_robin(self.bracket_weights(learned_max))
        return sequence[number % len(sequence)]

    def rungs_of(self, number: int, learned_max: float | None = None) -> Rungs | None:
        """The rungs of trial number ``number``'s bracket (``None`` while resources are unknown)."""
        rungs = self.base_rungs(learned_max)
        if rungs is None:
            return None
        return rungs.in_bracket(self.bracket(number, learned_max))

    # ------------------------------------------------------------------------------- decision
    def should_stop(
        self,
        reports: Mapping[TrialKey, Sequence[Report]],
        trial: TrialKey,
        direction: str,
        *,
        numbers: Mapping[TrialKey, int] | None = None,
        learned_max: float | None = None,
    ) -> bool:
        """Whether ``trial`` stops at its latest report (:func:`~tune_extras.halving.should_stop`).

        ``reports`` holds every trial's ``(step, value)`` reports, whatever its state (finished,
        stopped, failed or running). With several brackets a trial competes only with the trials
        of its own bracket; ``numbers`` maps each key to its trial number (default: the keys are
        the numbers).
        """
        number_of = numbers if numbers is not None else _identity(reports)
        rungs = self.rungs_of(number_of[trial], learned_max)
        if rungs is None:
            return False
        if self.bracket_count(learned_max) > 1:
            mine = self.bracket(number_of[trial], learned_max)
            reports = {
                key: curve
                for key, curve in reports.items()
                if key in number_of and self.bracket(number_of[key], learned_max) == mine
            }
        return should_stop(rungs, reports, trial, direction, self.bootstrap_count)


def _identity(reports: Mapping[TrialKey, Sequence[Report]]) -> Mapping[TrialKey, int]:
    numbers: dict[TrialKey, int] = {}
    for key in reports:
        if not isinstance(key, int) or isinstance(key, bool):
            raise ValueError("numbers is needed when the report keys are not trial numbers")
        numbers[key] = key
    return numbers


def first_completed(completed: Iterable[tuple[Any, float]]) -> float | None:
    """The last step of the first completed trial: ``completed`` holds ``(order, last_step)``.

    ``order`` sorts completions (e.g. ``(datetime_complete, number)``). Once a trial has completed
    the answer never changes, so a learned ``max_resource`` keeps rungs and brackets in place for
    the whole study, and a later trial reporting an outlier step (``10**12``) cannot move them.
    """
    first = min(completed, key=lambda pair: pair[0], default=None)
    return None if first is None else float(first[1])
