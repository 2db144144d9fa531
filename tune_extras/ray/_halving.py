"""Ray Tune schedulers for asynchronous successive halving and Hyperband, on the shared core.

The decisions are those of :mod:`tune_extras.halving` (and so of
:class:`tune_extras.optuna.SuccessiveHalvingPruner` on the same reports); the scheduler's state is
the reported curves, which ``save``/``restore`` keep, so a restored experiment decides as before.
"""

from __future__ import annotations

import math
from typing import Any

from ray.tune import Callback
from ray.tune.schedulers import TrialScheduler

from tune_extras.halving import Rungs, auto_min_resource, promotion_candidate, should_stop
from tune_extras.ray._scheduler import MetricScheduler


class SuccessiveHalvingScheduler(MetricScheduler):
    """ASHA for Ray Tune, with the rule and rungs of the Optuna pruner.

    Two variants (Li et al., MLSys 2020):

    * ``variant="stopping"`` (default, like Ray's ``ASHAScheduler``): at each rung a trial continues
      only if it is among the best ``max(1, n // eta)`` there so far, else it stops.
    * ``variant="promotion"`` (ASHA's Algorithm 2, which Ray's ASHA does not offer): a trial *pauses*
      at each rung; whenever a slot frees up, the best paused trial of the highest rung that is among
      the best ``n // eta`` of its rung resumes from its checkpoint, else a new configuration starts.
      No trial is judged against an early, small rung and stopped for good. Trainables must save and
      restore checkpoints (``tune.report(..., checkpoint=...)`` / ``tune.get_checkpoint()``). Once
      the search has no new configuration and nothing runs, the best paused trial of each rung is
      promoted (so a finite search still finishes its best configuration) and the rest are
      stopped. Ray counts paused trials in ``max_concurrent_trials``: leave it unset (resources
      bound the running trials) or set it well above the number of slots.

    Args:
        time_attr: Result key that measures resource (``"training_iteration"``, epochs, seconds).
        metric, mode: The metric and ``"min"``/``"max"``; may come from ``TuneConfig`` instead.
        max_t: Resource at which trials end (no rung at or beyond it), ``>= 1``.
        min_resource: First rung, ``>= 1`` or ``"auto"`` (``floor(max_t / eta^3)``, at least 1).
        reduction_factor: ``eta``, an int ``>= 2``.
        min_early_stopping_rate: Skip the first ``s`` rungs (``>= 0``).
        bootstrap_count: A rung decides only when more than this many trials reached it.
        variant: ``"stopping"`` or ``"promotion"`` (see above).
    """

    def __init__(
        self,
        time_attr: str = "training_iteration",
        metric: str | None = None,
        mode: str | None = None,
        max_t: float = 100,
        min_resource: float | str = "auto",
        reduction_factor: int = 3,
        min_early_stopping_rate: int = 0,
        bootstrap_count: int = 0,
        variant: str = "stopping",
    ) -> None:
        super().__init__(metric, mode)
        if variant not in ("stopping", "promotion"):
            raise ValueError(f"variant must be 'stopping' or 'promotion', got {variant!r}")
        self._variant = variant
        self._paused: dict[str, int] = {}  # trial -> rung where it waits (promotion variant)
        self._allowed: dict[str, int] = {}  # trial -> rung index where it will pause next
        if not max_t >= 1:
            raise ValueError(f"max_t must be >= 1, got {max_t}")
        if min_resource != "auto" and not (
            isinstance(min_resource, int | float) and 1 <= min_resource < max_t
        ):
            raise ValueError(f"min_resource must be 'auto' or in [1, max_t), got {min_resource!r}")
        if not isinstance(bootstrap_count, int) or bootstrap_count < 0:
            raise ValueError(f"bootstrap_count must be an int >= 0, got {bootstrap_count!r}")
        first = (
            auto_min_resource(max_t, reduction_factor)
            if min_resource == "auto"
            else float(min_resource)
        )
        self._rungs = Rungs(first, reduction_factor, min_early_stopping_rate, float(max_t))
        self._time_attr = time_attr
        self._bootstrap_count = bootstrap_count
        self._reports: dict[str, list[tuple[float, float]]] = {}
        self._num_stopped = 0

    # --------------------------------------------------------------------------------- Ray API
    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        super().on_trial_add(tune_controller, trial)
        self._reports.setdefault(trial.trial_id, [])

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        if self._time_attr not in result or self._metric not in result:
            return TrialScheduler.CONTINUE
        step = float(result[self._time_attr])
        value = float(result[self._metric])
        self._reports.setdefault(trial.trial_id, []).append((step, value))
        if step >= (self._rungs.max_resource or math.inf):
            return TrialScheduler.STOP  # reached max_t: done, as Ray's ASHA does
        if self._variant == "promotion":
            if not math.isfinite(value):
                self._num_stopped += 1
                return TrialScheduler.STOP
            limit = self._allowed.get(trial.trial_id, 0)
            if self._rungs.reached(step) > limit:
                self._paused[trial.trial_id] = limit
                return TrialScheduler.PAUSE
            return TrialScheduler.CONTINUE
        if self._decide(trial.trial_id):
            self._num_stopped += 1
            return TrialScheduler.STOP
        return TrialScheduler.CONTINUE

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> None:
        if result and self._time_attr in result and self._metric in result:
            point = (float(result[self._time_attr]), float(result[self._metric]))
            curve = self._reports.setdefault(trial.trial_id, [])
            if not curve or curve[-1] != point:
                curve.append(point)

    def on_trial_remove(self, tune_controller: Any, trial: Any) -> None:
        # A stopped trial's curve stays: it is part of the rungs other trials compete in.
        pass

    def choose_trial_to_run(self, tune_controller: Any) -> Any:
        if self._variant == "stopping":
            return super().choose_trial_to_run(tune_controller)
        trials = tune_controller.get_trials()
        paused = {t.trial_id: t for t in trials if t.status == "PAUSED"}
        waiting = {k: rung for k, rung in self._paused.items() if k in paused}
        chosen = promotion_candidate(self._rungs, self._reports, waiting, self._direction())
        if chosen is not None:
            self._allowed[chosen] = self._paused.pop(chosen) + 1
            return paused[chosen]
        for trial in trials:
            if trial.status == "PENDING":
                return trial
        search = getattr(tune_controller, "_search_alg", None)
        search_over = search is None or search.is_finished()
        if search_over and not any(t.status == "RUNNING" for t in trials):
            # No new configuration will come: promote the best of each rung, then stop the rest.
            chosen = promotion_candidate(
                self._rungs, self._reports, waiting, self._direction(), finishing=True
            )
            if chosen is not None:
                self._allowed[chosen] = self._paused.pop(chosen) + 1
                return paused[chosen]
            for key in waiting:
                self._paused.pop(key, None)
                self._num_stopped += 1
                tune_controller.stop_trial(paused[key])
        return None

    def debug_string(self) -> str:
        return (
            f"{type(self).__name__}: rungs at {self._rung_steps()}, "
            f"{len(self._reports)} trials seen, {self._num_stopped} stopped"
        )

    # ----------------------------------------------------------------------------- our API
    def state_dict(self) -> dict[str, Any]:
        return {
            "reports": self._reports,
            "num_stopped": self._num_stopped,
            "paused": self._paused,
            "allowed": self._allowed,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._paused = dict(state.get("paused", {}))
        self._allowed = dict(state.get("allowed", {}))
        self._reports = {
            k: [(float(s), float(v)) for s, v in c] for k, c in state["reports"].items()
        }
        self._num_stopped = int(state["num_stopped"])

    def _rung_steps(self) -> list[float]:
        return self._rungs.all_steps()

    def _decide(self, trial_id: str) -> bool:
        return should_stop(
            self._rungs, self._reports, trial_id, self._direction(), self._bootstrap_count
        )


class HyperbandScheduler(SuccessiveHalvingScheduler):
    """Hyperband over ASHA for Ray Tune: trials split among brackets in order of arrival.

    Bracket ``b`` (of ``floor(log_eta(max_t / min_resource)) + 1``) skips its first ``b`` rungs; a
    trial competes only with trials of its bracket. Arguments as for
    :class:`SuccessiveHalvingScheduler`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("variant", "stopping") != "stopping":
            raise ValueError("HyperbandScheduler supports variant='stopping' only")
        super().__init__(*args, **kwargs)
        self._brackets = self._rungs.bracket_count()
        self._bracket_of: dict[str, int] = {}

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        super().on_trial_add(tune_controller, trial)
        self._bracket_of.setdefault(trial.trial_id, len(self._bracket_of) % self._brackets)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "bracket_of": self._bracket_of}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._bracket_of = dict(state["bracket_of"])

    def _decide(self, trial_id: str) -> bool:
        bracket = self._bracket_of.get(trial_id, 0)
        same = {k: v for k, v in self._reports.items() if self._bracket_of.get(k, 0) == bracket}
        return should_stop(
            self._rungs.in_bracket(bracket),
            same,
            trial_id,
            self._direction(),
            self._bootstrap_count,
        )


class SchedulerStateCallback(Callback):
    """Keeps a tune-extras scheduler's state (halving or learning-curve) across ``Tuner.restore``.

    Ray saves the searcher's and the callbacks' state with each experiment checkpoint, not the
    scheduler's, so a restored ASHA starts with empty rungs. Pass this callback beside the scheduler
    (``RunConfig(callbacks=[SchedulerStateCallback(scheduler)])``): Ray saves the scheduler's
    reports through it and, on restore, loads them back into the restored scheduler.
    """

    def __init__(self, scheduler: MetricScheduler) -> None:
        if not isinstance(scheduler, MetricScheduler):
            raise TypeError(
                "expected a tune-extras scheduler (SuccessiveHalvingScheduler, HyperbandScheduler, "
                f"LearningCurveScheduler), got {type(scheduler).__name__}"
            )
        self.scheduler = scheduler

    def get_state(self) -> dict[str, Any] | None:
        state: dict[str, Any] = self.scheduler.state_dict()
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(state)
