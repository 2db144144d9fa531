"""Ray Tune's OptunaSearch, recording scheduler-stopped trials truthfully in the Optuna study."""

from __future__ import annotations

from typing import Any

import optuna
from ray.tune.search.optuna import OptunaSearch as _RayOptunaSearch

from tune_extras._validation import check_int

TRAINING_ITERATION = "training_iteration"


class OptunaSearch(_RayOptunaSearch):
    """``ray.tune.search.optuna.OptunaSearch`` that records early-stopped trials as PRUNED.

    Ray's searcher tells Optuna that a trial a scheduler stopped early (ASHA, Hyperband, tune-extras'
    schedulers) is COMPLETE, with the value of its last, partial result: samplers such as TPE then
    learn from partial values as if they were final, and the analyzer counts them as finished runs.
    This subclass marks such a trial PRUNED, and records every result as an intermediate value (Ray
    passes a trial's last result to ``on_trial_complete`` only, so its own searcher drops it), so
    samplers and :func:`tune_extras.analyze` see the truth.

    A trial counts as stopped early when its last result has ``training_iteration`` below
    ``max_resource`` (when given), or when Ray did not mark that result ``done``.

    Args:
        max_resource: Number of iterations a full trial runs, or ``None`` to rely on Ray's ``done``.
        *args, **kwargs: As for Ray's ``OptunaSearch`` (``space``, ``metric``, ``mode``,
            ``sampler``, ``study_name``, ``storage``, ...).
    """

    def __init__(self, *args: Any, max_resource: int | None = None, **kwargs: Any) -> None:
        if max_resource is not None:
            check_int("max_resource", max_resource, low=1)
        super().__init__(*args, **kwargs)
        self._max_resource = max_resource
        self._reported_steps: dict[str, set[int]] = {}

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        super().on_trial_result(trial_id, result)
        if not isinstance(self.metric, list) and TRAINING_ITERATION in result:
            self._reported_steps.setdefault(trial_id, set()).add(int(result[TRAINING_ITERATION]))

    def _stopped_early(self, result: dict[str, Any]) -> bool:
        step = result.get(TRAINING_ITERATION)
        if self._max_resource is not None and step is not None:
            return int(step) < self._max_resource
        return not result.get("done", False)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        recordable = (
            not error
            and bool(result)
            and not isinstance(self.metric, list)
            and trial_id not in self._completed_trials
            and self.metric in (result or {})
        )
        if not recordable:
            super().on_trial_complete(trial_id, result, error)
            return
        assert result is not None and self._ot_study is not None
        ot_trial = self._ot_trials[trial_id]
        # Ray hands the last result to on_trial_complete only: keep it as an intermediate value.
        step = result.get(TRAINING_ITERATION)
        if step is not None and int(step) not in self._reported_steps.pop(trial_id, set()):
            ot_trial.report(float(result[self.metric]), int(step))
        if not self._stopped_early(result):
            super().on_trial_complete(trial_id, result, error)
            return
        self._ot_study.tell(ot_trial, state=optuna.trial.TrialState.PRUNED)
        self._completed_trials.add(trial_id)
