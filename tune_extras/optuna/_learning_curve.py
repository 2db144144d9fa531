"""Optuna pruner that extrapolates each trial's learning curve (core: :mod:`tune_extras.curves`)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING

from optuna.pruners import BasePruner
from optuna.trial import TrialState

from tune_extras._validation import check_int, check_int_or_auto
from tune_extras.curves import DEFAULT_SETTINGS, Curve, Decision, rules_by_direction
from tune_extras.halving import first_completed
from tune_extras.optuna._halving import study_direction

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial

_NEVER = datetime.datetime.max
_ENDED_EARLY = (TrialState.PRUNED, TrialState.FAIL)


class LearningCurvePruner(BasePruner):
    """Prune a trial when its extrapolated final value is unlikely to beat the best finished trial.

    At each report, the trial's curve so far (its intermediate values) gives a calibrated predictive
    distribution of its value at the target step (:func:`tune_extras.curves.extrapolate`: a Bayesian
    average of the parametric families of Domhan, Springenberg & Hutter, IJCAI 2015, in closed form,
    about half a millisecond per decision), and the study's COMPLETE trials give a second estimate,
    the line from their value at the same relative time of their runs to their final value. The
    trial is pruned when one of the two probabilities that it ends better than the reference, the
    ``rank``-th best *final intermediate value* of the COMPLETE trials, is below its level; the
    levels are calibrated so that a trial that would end better than the reference is pruned with
    probability about ``threshold`` over its *whole run*, not at each report
    (:class:`tune_extras.curves.ExtrapolationRule`; docs/learning_curves.md has the coverage and
    the benchmark). PRUNED and FAILed trials' curves calibrate the prediction too, each at its own
    length.

    Everything is recomputed from the storage at each decision (nothing is written to the study),
    so ``n_jobs > 1`` and processes sharing an RDB or journal storage take consistent decisions;
    cached calibration is keyed by the study and trial ids and checked against the curves, so a
    pruner reused for another study (even one with the same name) never mixes the two. A NaN or
    infinite intermediate value prunes the trial. Steps may start at 0 or 1.

    Args:
        threshold: Prune so that a trial that would beat the reference is pruned with probability
            about this, over its run; in (0, 0.5) (default 0.05, Domhan et al.'s value).
        n_startup_trials: Do not prune until this many trials have completed (an int ``>= 1``).
        n_warmup_steps: Do not prune before this step (an int ``>= 0``).
        max_resource: The step at which trials end: an int ``>= 1``, ``"auto"`` (the last step of
            the first completed trial, as for :class:`SuccessiveHalvingPruner`), or a callable
            ``(FrozenTrial) -> int`` for trials whose length is a hyperparameter (e.g.
            ``lambda t: t.params["epochs"]``).
        rank: Compare with the ``rank``-th best completed trial instead of the best (``rank=3``
            keeps every trial that may end among the top three).
        calibration: ``"study"`` (from the study's own curves) or ``"fixed"`` (defaults only).
        default_scale: Spread multiplier before (or without) study calibration (``> 0``).

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
        default_scale: float = DEFAULT_SETTINGS.default_scale,
    ) -> None:
        if not callable(max_resource):
            check_int_or_auto("max_resource", max_resource)
        self._rules = rules_by_direction(
            threshold=threshold,
            rank=rank,
            min_finished=check_int("n_startup_trials", n_startup_trials, low=1),
            min_step=check_int("n_warmup_steps", n_warmup_steps, low=0),
            calibration=calibration,
            default_scale=default_scale,
        )
        self._max_resource = max_resource

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        return self.decide(study, trial).stop

    def decide(self, study: Study, trial: FrozenTrial) -> Decision:
        """The decision behind :meth:`prune`, with its probabilities, levels and prediction."""
        rule = self._rules[study_direction(study, "LearningCurvePruner")]
        if not trial.intermediate_values:
            return Decision(False, "no values reported yet")
        ended = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, *_ENDED_EARLY))
        finished = [_curve(study, t) for t in ended if t.state == TrialState.COMPLETE]
        stopped = [_curve(study, t) for t in ended if t.state in _ENDED_EARLY]
        target = self._target_step(trial, ended)
        if target is None:
            return Decision(False, "no completed trial tells the target step yet")
        running = _curve(study, trial)
        return rule.decide(
            running,
            target,
            [c for c in finished if c.steps],
            [c for c in stopped if c.steps],
        )

    def _target_step(self, trial: FrozenTrial, ended: list[FrozenTrial]) -> float | None:
        if callable(self._max_resource):
            return float(self._max_resource(trial))
        if self._max_resource == "auto":
            return first_completed(
                ((t.datetime_complete or _NEVER, t.number), t.last_step)
                for t in ended
                if t.state == TrialState.COMPLETE and t.last_step is not None
            )
        return float(self._max_resource)


def _curve(study: Study, trial: FrozenTrial) -> Curve:
    """A trial's curve, keyed by storage ids (a study of the same name gets other keys)."""
    values = trial.intermediate_values
    return Curve(
        (study._study_id, study.study_name, trial._trial_id), list(values), list(values.values())
    )
