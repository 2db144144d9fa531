"""A pruner wrapper that lets the random draws of ``RandomShareSampler`` run to the end."""

from __future__ import annotations

from typing import TYPE_CHECKING

from optuna.pruners import BasePruner

from tune_extras._attrs import RANDOM_DRAW_ATTR

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial


class SpareRandomDraws(BasePruner):
    """Prune as ``pruner`` does, except the trials marked as random draws, which always finish.

    A pruned study is a poor random-search sample: pruners stop trials on their partial curves,
    and aggressive ones (successive halving with a small budget) stop trials that would have ended
    among the best, which biases every estimate of the best possible value (docs/analyzer.md,
    "Pruned studies"). Combined with :class:`tune_extras.optuna.RandomShareSampler`, whose random
    draws carry the user attribute ``tune_extras.random_draw``, this wrapper keeps those draws
    unpruned, so that :func:`tune_extras.analyze` gets a complete i.i.d. sample at the cost of
    training that share of trials in full. The wrapped pruner still sees every report (its
    ``prune`` is called for spared trials too, so rung statistics include them); only its answer
    is overridden.

    Args:
        pruner: Any Optuna pruner.

    Example:
        >>> import optuna
        >>> from tune_extras.optuna import RandomShareSampler, SpareRandomDraws
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study(
        ...     sampler=RandomShareSampler(optuna.samplers.TPESampler(seed=0), share=0.2, seed=0),
        ...     pruner=SpareRandomDraws(optuna.pruners.SuccessiveHalvingPruner()),
        ... )
    """

    def __init__(self, pruner: BasePruner) -> None:
        if not isinstance(pruner, BasePruner):
            raise ValueError(f"pruner must be an optuna BasePruner, got {pruner!r}")
        self._pruner = pruner

    @property
    def pruner(self) -> BasePruner:
        """The wrapped pruner."""
        return self._pruner

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        decision = self._pruner.prune(study, trial)
        if not decision:
            return False
        # The mark is written to the storage when the trial starts; the trial object Optuna hands
        # to pruners is a copy taken before that, so read the storage.
        marks = study._storage.get_trial(trial._trial_id).user_attrs
        return marks.get(RANDOM_DRAW_ATTR) is not True
