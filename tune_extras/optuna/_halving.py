"""Optuna pruners for asynchronous successive halving and Hyperband, on the framework-free core."""

from __future__ import annotations

from typing import TYPE_CHECKING

import optuna
from optuna.pruners import BasePruner
from optuna.trial import TrialState

from tune_extras.halving import Rungs, auto_min_resource, should_stop

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial

_STATES = (TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED)


def _check_resource(name: str, value: int | str) -> None:
    if value == "auto":
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be 'auto' or an int >= 1, got {value!r}")


def _direction(study: Study) -> str:
    if len(study.directions) > 1:
        raise ValueError("successive halving supports single-objective studies only")
    return "maximize" if study.direction == optuna.study.StudyDirection.MAXIMIZE else "minimize"


def _reports(study: Study, trial: FrozenTrial) -> dict[int, list[tuple[float, float]]]:
    """Every trial's reported curve, read from the storage (so all processes see the same)."""
    reports = {
        t.number: [(float(step), value) for step, value in t.intermediate_values.items()]
        for t in study.get_trials(deepcopy=False, states=_STATES)
        if t.intermediate_values
    }
    reports[trial.number] = [(float(s), v) for s, v in trial.intermediate_values.items()]
    return reports


class SuccessiveHalvingPruner(BasePruner):
    """Asynchronous successive halving (ASHA, stopping variant) whose rungs come from the storage.

    A drop-in for :class:`optuna.pruners.SuccessiveHalvingPruner` (Li et al., "A System for Massively
    Parallel Hyperparameter Tuning", MLSys 2020): rungs at ``min_resource * eta^(s + k)``; at each
    rung a trial continues only if its value there is among the best ``max(1, n // eta)`` of the
    ``n`` trials that reached it. Differences from Optuna's:

    * Rung values are recomputed from every trial's intermediate values in the storage at each
      decision (a trial's value at a rung is its value at the first reported step at or beyond it),
      so processes sharing a journal or RDB storage, and ``n_jobs > 1``, all see the same rungs and
      nothing is written to the study beyond what the trials report.
    * ``min_resource="auto"`` puts three rungs below the longest curve seen so far
      (``max_resource / eta^3``; see :func:`tune_extras.halving.auto_min_resource`) and works from
      the first trial, instead of waiting for a finished trial and then pruning at 1-2 steps.
    * NaN/inf intermediate values are the worst: such a trial stops at its next rung.

    Args:
        min_resource: Resource (step) of the first rung: an int ``>= 1`` or ``"auto"``.
        max_resource: Step at which trials finish: an int ``>= 1`` or ``"auto"`` (the largest step
            any trial has reported). No rung is placed at or beyond it.
        reduction_factor: ``eta``, an int ``>= 2`` (default 3).
        min_early_stopping_rate: ``s >= 0``: skip the first ``s`` rungs.
        bootstrap_count: A rung decides only when more than this many trials reached it (``>= 0``).

    Example:
        >>> import optuna
        >>> from tune_extras.optuna import SuccessiveHalvingPruner
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> def objective(trial):
        ...     x = trial.suggest_float("x", 0, 1)
        ...     for step in range(1, 28):
        ...         trial.report(x + 1 / step, step)
        ...         if trial.should_prune():
        ...             raise optuna.TrialPruned()
        ...     return x
        >>> study = optuna.create_study(pruner=SuccessiveHalvingPruner(max_resource=27))
        >>> study.optimize(objective, n_trials=30)
        >>> pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
        >>> len(pruned) > 10
        True
    """

    def __init__(
        self,
        min_resource: int | str = "auto",
        max_resource: int | str = "auto",
        reduction_factor: int = 3,
        min_early_stopping_rate: int = 0,
        bootstrap_count: int = 0,
    ) -> None:
        _check_resource("min_resource", min_resource)
        _check_resource("max_resource", max_resource)
        if isinstance(reduction_factor, bool) or not isinstance(reduction_factor, int):
            raise ValueError(f"reduction_factor must be an int >= 2, got {reduction_factor!r}")
        if reduction_factor < 2:
            raise ValueError(f"reduction_factor must be an int >= 2, got {reduction_factor!r}")
        if not isinstance(min_early_stopping_rate, int) or min_early_stopping_rate < 0:
            raise ValueError(
                f"min_early_stopping_rate must be an int >= 0, got {min_early_stopping_rate!r}"
            )
        if not isinstance(bootstrap_count, int) or bootstrap_count < 0:
            raise ValueError(f"bootstrap_count must be an int >= 0, got {bootstrap_count!r}")
        if isinstance(min_resource, int) and isinstance(max_resource, int):
            if min_resource >= max_resource:
                raise ValueError(
                    f"min_resource ({min_resource}) must be < max_resource ({max_resource})"
                )
        self._min_resource = min_resource
        self._max_resource = max_resource
        self._reduction_factor = reduction_factor
        self._min_early_stopping_rate = min_early_stopping_rate
        self._bootstrap_count = bootstrap_count

    def _rungs(
        self, reports: dict[int, list[tuple[float, float]]], early_stopping_rate: int
    ) -> Rungs | None:
        if self._max_resource == "auto":
            max_resource = max((step for curve in reports.values() for step, _ in curve), default=0)
        else:
            max_resource = float(self._max_resource)
        if self._min_resource == "auto":
            if max_resource < self._reduction_factor:
                return None  # too short to place a rung yet
            min_resource = auto_min_resource(max_resource, self._reduction_factor)
        else:
            min_resource = float(self._min_resource)
        return Rungs(min_resource, self._reduction_factor, early_stopping_rate, max_resource)

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        if trial.last_step is None:
            return False
        direction = _direction(study)
        reports = _reports(study, trial)
        rungs = self._rungs(reports, self._min_early_stopping_rate)
        if rungs is None:
            return False
        return should_stop(rungs, reports, trial.number, direction, self._bootstrap_count)


class HyperbandPruner(SuccessiveHalvingPruner):
    """Hyperband (Li et al., JMLR 2018) over asynchronous successive halving, storage-driven.

    Trials are split among ``n_brackets = floor(log_eta(max_resource / min_resource)) + 1`` brackets
    by trial number (round robin); bracket ``b`` runs successive halving with early-stopping rate
    ``b``, and a trial competes only with trials of its bracket. Arguments as for
    :class:`SuccessiveHalvingPruner`; ``max_resource`` defaults to ``"auto"``.
    """

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        if trial.last_step is None:
            return False
        direction = _direction(study)
        reports = _reports(study, trial)
        base = self._rungs(reports, 0)
        if base is None:
            return False
        brackets = base.bracket_count()
        bracket = trial.number % brackets
        same = {n: curve for n, curve in reports.items() if n % brackets == bracket}
        return should_stop(
            base.in_bracket(bracket), same, trial.number, direction, self._bootstrap_count
        )
