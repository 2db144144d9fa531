"""Optuna pruners for asynchronous successive halving and Hyperband, on the framework-free core."""

from __future__ import annotations

import datetime
import warnings
from typing import TYPE_CHECKING, Literal

from optuna.pruners import BasePruner
from optuna.trial import TrialState

from tune_extras._validation import Direction, check_int, check_int_or_auto, parse_direction
from tune_extras.halving import Hyperband, first_completed, latest_steps

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial

_NEVER = datetime.datetime.max


def study_direction(study: Study, what: str) -> Direction:
    """The direction of a single-objective study (a ValueError naming ``what`` otherwise)."""
    if len(study.directions) > 1:
        raise ValueError(f"{what} supports single-objective studies only")
    return parse_direction(study.direction)


class SuccessiveHalvingPruner(BasePruner):
    """Asynchronous successive halving (ASHA, stopping variant) whose rungs come from the storage.

    A drop-in for :class:`optuna.pruners.SuccessiveHalvingPruner` (Li et al., "A System for Massively
    Parallel Hyperparameter Tuning", MLSys 2020): rungs at ``min_resource * eta^(s + k)``; when a
    trial reaches a rung it continues only if its value there is among the best
    ``max(1, n // eta)`` of the ``n`` trials that reached it. The decisions are those of
    :class:`tune_extras.halving.Hyperband` with one bracket, the object the Ray scheduler
    :class:`tune_extras.ray.SuccessiveHalvingScheduler` decides with. Differences from Optuna's:

    * Rung values are recomputed from every trial's intermediate values in the storage at each
      decision (a trial's value at a rung is its value at the first reported step at or beyond it;
      trials of every state count, FAILed ones included, as in Optuna's built-in), so processes
      sharing a journal or RDB storage, and ``n_jobs > 1``, all see the same rungs, and nothing is
      written to the study beyond what the trials report. A trial is judged at a rung once, at the
      report that reaches it.
    * ``max_resource`` is never a rung (a trial at its last step is not pruned). ``"auto"`` learns
      it as the last step of the first completed trial, after which it never changes; a trial
      reporting beyond it raises a warning once per study. ``min_resource="auto"`` puts three rungs
      below it (``max_resource / eta^3``; see :func:`tune_extras.halving.auto_min_resource`)
      instead of Optuna's ``max_step / 100``, which prunes at 1-2 steps.
    * NaN/inf intermediate values are the worst: such a trial stops at its next rung and its value
      is not recorded there. ``bootstrap_count``: a rung decides once more than this many trials
      reached it, and trials continue until then (Optuna's built-in prunes them).

    Args:
        min_resource: Resource (step) of the first rung: an int ``>= 1`` or ``"auto"``.
        max_resource: Step at which trials finish: an int ``>= 1`` or ``"auto"`` (see above). No
            rung is placed at or beyond it.
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

    _BRACKETS: int | Literal["auto"] = 1

    def __init__(
        self,
        min_resource: int | Literal["auto"] = "auto",
        max_resource: int | Literal["auto"] = "auto",
        reduction_factor: int = 3,
        min_early_stopping_rate: int = 0,
        bootstrap_count: int = 0,
    ) -> None:
        self._core = Hyperband(
            min_resource=check_int_or_auto("min_resource", min_resource),
            max_resource=check_int_or_auto("max_resource", max_resource),
            reduction_factor=check_int("reduction_factor", reduction_factor, low=2),
            min_early_stopping_rate=check_int(
                "min_early_stopping_rate", min_early_stopping_rate, low=0
            ),
            bootstrap_count=check_int("bootstrap_count", bootstrap_count, low=0),
            brackets=self._BRACKETS,
        )
        self._warned: set[str] = set()

    @property
    def core(self) -> Hyperband:
        """The framework-free rule this pruner decides with."""
        return self._core

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        if trial.last_step is None:
            return False
        direction = study_direction(study, type(self).__name__)
        learned = None
        if self._core.max_resource == "auto":
            learned = first_completed(
                ((t.datetime_complete or _NEVER, t.number), t.last_step)
                for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if t.last_step is not None
            )
            if learned is not None and trial.last_step > learned:
                self._warn_beyond(study, trial, learned)
        rungs = self._core.rungs_of(trial.number, learned)
        last, previous = latest_steps(map(float, trial.intermediate_values))
        if rungs is None or not rungs.between(previous, last):
            return False  # no rung reached at this report: nothing to read
        reports = {
            t.number: [(float(step), value) for step, value in t.intermediate_values.items()]
            for t in study.get_trials(deepcopy=False)
            if t.intermediate_values
        }
        reports[trial.number] = [(float(s), v) for s, v in trial.intermediate_values.items()]
        return self._core.should_stop(reports, trial.number, direction, learned_max=learned)

    def _warn_beyond(self, study: Study, trial: FrozenTrial, learned: float) -> None:
        if study.study_name in self._warned:
            return
        self._warned.add(study.study_name)
        warnings.warn(
            f"trial {trial.number} reported step {trial.last_step}, beyond max_resource={learned:g} "
            f"learned from the first completed trial of study {study.study_name!r}; the rungs stay "
            "below it (pass max_resource= to set it)",
            stacklevel=2,
        )


class HyperbandPruner(SuccessiveHalvingPruner):
    """Hyperband (Li et al., JMLR 2018) over asynchronous successive halving, storage-driven.

    Trials are shared among ``B = floor(log_eta(max_resource / min_resource)) + 1 - s`` brackets
    with Li et al.'s budget weights ``n_b = ceil(B eta^t / (t + 1))`` (``t = B - 1 - b``), as
    Optuna's ``HyperbandPruner`` does, but by a fixed weighted round robin of the trial number
    instead of a hash of the study name, so the same study prunes the same way in every run (see
    :class:`tune_extras.halving.Hyperband`). Bracket ``b`` runs successive halving with early-stopping
    rate ``s + b`` (``s = min_early_stopping_rate``), and a trial competes only with trials of its
    bracket. With ``max_resource="auto"`` brackets are assigned once the first trial has
    completed (until then nothing is pruned) and never change. Arguments as for
    :class:`SuccessiveHalvingPruner`, except that ``min_resource`` defaults to 1, as in Optuna's
    ``HyperbandPruner`` and Li et al. (the most aggressive bracket starts at one step).
    """

    _BRACKETS = "auto"

    def __init__(
        self,
        min_resource: int | Literal["auto"] = 1,
        max_resource: int | Literal["auto"] = "auto",
        reduction_factor: int = 3,
        min_early_stopping_rate: int = 0,
        bootstrap_count: int = 0,
    ) -> None:
        super().__init__(
            min_resource, max_resource, reduction_factor, min_early_stopping_rate, bootstrap_count
        )
