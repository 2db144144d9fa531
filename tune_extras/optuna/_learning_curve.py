"""Optuna pruner that extrapolates each trial's learning curve (core: :mod:`tune_extras.curves`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import optuna
from optuna.pruners import BasePruner
from optuna.trial import TrialState

from tune_extras.curves import DEFAULT_SCALE, Curve, Decision, ExtrapolationRule

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial


class LearningCurvePruner(BasePruner):
    """Prune a trial when its extrapolated final value is unlikely to beat the best finished trial.

    At each report, the trial's curve so far (its intermediate values) gives a calibrated predictive
    distribution of its value at the target step (:func:`tune_extras.curves.extrapolate`: a Bayesian
    average of the parametric families of Domhan, Springenberg & Hutter, IJCAI 2015, in closed form,
    about half a millisecond per decision). The trial is pruned when ``P(value at target step beats
    the reference)`` is small; the reference is the ``rank``-th best *final intermediate value* of
    the study's COMPLETE trials (the same quantity the model predicts). The predictive spread is
    calibrated by split-conformal prediction on the study's own finished curves once 19 trials
    have completed (``calibration="study"``; the central ``1 - threshold`` interval, whose lower
    end is what the decision uses), before that by a fixed scale measured on recorded curves,
    widened by any finished curve it would have missed. A second estimate, from the completed
    trials' line between value-now and final value, decides before a curve has 4 points; the
    trial is pruned when either estimate is below ``threshold / 2`` (``threshold`` while only one
    exists; see
    :class:`tune_extras.curves.ExtrapolationRule`). docs/learning_curves.md has the coverage and
    the benchmark.

    Everything is recomputed from the storage at each decision (nothing is written to the study),
    so ``n_jobs > 1`` and processes sharing an RDB or journal storage take consistent decisions.
    A NaN or infinite intermediate value prunes the trial. Steps may start at 0 or 1.

    Args:
        threshold: Prune when the probability of beating the reference is below this (default
            0.05, Domhan et al.'s choice).
        n_startup_trials: Do not prune until this many trials have completed.
        n_warmup_steps: Do not prune before this step (a curve needs at least 4 reports anyway).
        max_resource: The step at which trials end: an int, ``"auto"`` (the largest last step of
            the completed trials), or a callable ``(FrozenTrial) -> int`` for trials whose length
            is a hyperparameter (e.g. ``lambda t: t.params["epochs"]``).
        rank: Compare with the ``rank``-th best completed trial instead of the best (``rank=3``
            keeps every trial that may end among the top three).
        calibration: ``"study"`` (conformal, from the study's finished curves) or ``"fixed"``.
        default_scale: Spread multiplier before (or without) study calibration.

    Example:
        >>> import optuna
        >>> from tune_extras.optuna import LearningCurvePruner
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> def objective(trial):
        ...     x = trial.suggest_float("x", 0, 1)
        ...     for step in range(1, 41):
        ...         loss = x + step**-0.5
        ...         trial.report(loss, step)
        ...         if trial.should_prune():
        ...             raise optuna.TrialPruned()
        ...     return loss
        >>> pruner = LearningCurvePruner(max_resource=40)
        >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), pruner=pruner)
        >>> study.optimize(objective, n_trials=30)
        >>> pruned = study.get_trials(states=[optuna.trial.TrialState.PRUNED])
        >>> len(pruned) > 10, study.best_params["x"] < 0.1
        (True, True)
    """

    def __init__(
        self,
        threshold: float = 0.05,
        n_startup_trials: int = 3,
        n_warmup_steps: int = 0,
        max_resource: int | str | Callable[[FrozenTrial], int] = "auto",
        rank: int = 1,
        calibration: str = "study",
        default_scale: float = DEFAULT_SCALE,
    ) -> None:
        if not (callable(max_resource) or max_resource == "auto"):
            if isinstance(max_resource, bool) or not isinstance(max_resource, int):
                raise ValueError(
                    f"max_resource must be 'auto', an int >= 1 or a callable, got {max_resource!r}"
                )
            if max_resource < 1:
                raise ValueError(f"max_resource must be >= 1, got {max_resource!r}")
        if isinstance(n_startup_trials, bool) or not isinstance(n_startup_trials, int):
            raise ValueError(f"n_startup_trials must be an int >= 1, got {n_startup_trials!r}")
        if n_startup_trials < 1:
            raise ValueError(f"n_startup_trials must be an int >= 1, got {n_startup_trials!r}")
        if isinstance(n_warmup_steps, bool) or not isinstance(n_warmup_steps, int):
            raise ValueError(f"n_warmup_steps must be an int >= 0, got {n_warmup_steps!r}")
        if n_warmup_steps < 0:
            raise ValueError(f"n_warmup_steps must be an int >= 0, got {n_warmup_steps!r}")
        options: dict[str, Any] = {
            "threshold": threshold,
            "rank": rank,
            "min_finished": n_startup_trials,
            "min_step": n_warmup_steps,
            "calibration": calibration,
            "default_scale": default_scale,
        }
        self._rules = {d: ExtrapolationRule(d, **options) for d in ("minimize", "maximize")}
        self._max_resource = max_resource

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        return self.decide(study, trial).stop

    def decide(self, study: Study, trial: FrozenTrial) -> Decision:
        """The decision behind :meth:`prune`, with its probability and the calibrated prediction."""
        if len(study.directions) > 1:
            raise ValueError("LearningCurvePruner supports single-objective studies only")
        maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
        rule = self._rules["maximize" if maximize else "minimize"]
        if not trial.intermediate_values:
            return Decision(False, "no values reported yet")
        finished = [
            Curve(
                (study.study_name, t.number),
                list(t.intermediate_values),
                list(t.intermediate_values.values()),
            )
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.intermediate_values
        ]
        target = self._target_step(trial, finished)
        if target is None:
            return Decision(False, "no completed trial tells the target step yet")
        running = Curve(
            (study.study_name, trial.number),
            list(trial.intermediate_values),
            list(trial.intermediate_values.values()),
        )
        return rule.decide(running, target, finished)

    def _target_step(self, trial: FrozenTrial, finished: list[Curve]) -> float | None:
        if callable(self._max_resource):
            return float(self._max_resource(trial))
        if self._max_resource == "auto":
            return max((float(max(c.steps)) for c in finished), default=None)
        return float(self._max_resource)
