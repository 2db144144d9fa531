"""Ray Tune schedulers for asynchronous successive halving and Hyperband, on the shared core.

The decisions are those of :mod:`tune_extras.halving` (and so of
:class:`tune_extras.optuna.SuccessiveHalvingPruner` on the same reports); the scheduler's state is
the reported curves, which ``save``/``restore`` keep, so a restored experiment decides as before.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from ray.tune import Callback
from ray.tune.schedulers import TrialScheduler

from tune_extras._validation import check_choice, check_int, check_real
from tune_extras.halving import Hyperband, promotion_candidate
from tune_extras.ray._scheduler import MetricScheduler


class SuccessiveHalvingScheduler(MetricScheduler):
    """ASHA for Ray Tune, with the rule and rungs of the Optuna pruner.

    Two variants (Li et al., MLSys 2020):

    * ``variant="stopping"`` (default, like Ray's ``ASHAScheduler``): when a trial reaches a rung
      it continues only if it is among the best ``max(1, n // eta)`` there so far, else it stops.
      The decisions are those of :class:`tune_extras.halving.Hyperband` with one bracket, the
      object :class:`tune_extras.optuna.SuccessiveHalvingPruner` decides with.
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
        max_t: Resource at which trials end (no rung at or beyond it), a number ``>= 1``.
        min_resource: First rung, in ``[1, max_t)``, or ``"auto"`` (``floor(max_t / eta^3)``,
            at least 1).
        reduction_factor: ``eta``, an int ``>= 2``.
        min_early_stopping_rate: Skip the first ``s`` rungs (an int ``>= 0``).
        bootstrap_count: A rung decides only when more than this many trials reached it.
        variant: ``"stopping"`` or ``"promotion"`` (see above).
    """

    _BRACKETS: int | Literal["auto"] = 1

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
        self._variant = check_choice("variant", variant, ("stopping", "promotion"))
        max_t = check_real("max_t", max_t, low=1)
        if min_resource != "auto":
            check_real("min_resource", min_resource, low=1, high=max_t, high_open=True)
        self._core = Hyperband(
            min_resource="auto" if min_resource == "auto" else float(min_resource),
            max_resource=max_t,
            reduction_factor=check_int("reduction_factor", reduction_factor, low=2),
            min_early_stopping_rate=check_int(
                "min_early_stopping_rate", min_early_stopping_rate, low=0
            ),
            bootstrap_count=check_int("bootstrap_count", bootstrap_count, low=0),
            brackets=self._BRACKETS,
        )
        rungs = self._core.base_rungs()
        assert rungs is not None  # min_resource < max_t
        self._rungs = rungs
        self._time_attr = time_attr
        self._paused: dict[str, int] = {}  # trial -> rung where it waits (promotion variant)
        self._allowed: dict[str, int] = {}  # trial -> rung index where it will pause next
        self._reports: dict[str, list[tuple[float, float]]] = {}
        self._numbers: dict[str, int] = {}  # trial -> order of arrival (Hyperband's bracket)
        self._num_stopped = 0

    @property
    def core(self) -> Hyperband:
        """The framework-free rule this scheduler decides with."""
        return self._core

    # --------------------------------------------------------------------------------- Ray API
    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        super().on_trial_add(tune_controller, trial)
        self._reports.setdefault(trial.trial_id, [])
        self._numbers.setdefault(trial.trial_id, len(self._numbers))

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        if self._time_attr not in result or self._metric not in result:
            return TrialScheduler.CONTINUE
        step = float(result[self._time_attr])
        value = float(result[self._metric])
        self._reports.setdefault(trial.trial_id, []).append((step, value))
        self._numbers.setdefault(trial.trial_id, len(self._numbers))
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
        if self.decide(trial.trial_id):
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
        brackets = self._core.bracket_count()
        where = f"{brackets} brackets, " if brackets > 1 else ""
        return (
            f"{type(self).__name__}: {where}rungs at {self._rungs.all_steps()}, "
            f"{len(self._reports)} trials seen, {self._num_stopped} stopped"
        )

    # ----------------------------------------------------------------------------- our API
    def decide(self, trial_id: str) -> bool:
        """Whether the trial stops at its latest result (the core's decision on the reports)."""
        return self._core.should_stop(
            self._reports, trial_id, self._direction(), numbers=self._numbers
        )

    def state_dict(self) -> dict[str, Any]:
        return {
            "reports": self._reports,
            "numbers": self._numbers,
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
        numbers = state.get("numbers") or {k: i for i, k in enumerate(self._reports)}
        self._numbers = {k: int(n) for k, n in numbers.items()}
        self._num_stopped = int(state["num_stopped"])


class HyperbandScheduler(SuccessiveHalvingScheduler):
    """Hyperband over ASHA for Ray Tune: trials shared among budget-weighted brackets.

    The brackets, their weights (Li et al.'s ``n_b``) and the assignment (a fixed weighted round
    robin of the order in which trials arrive) are those of :class:`tune_extras.halving.Hyperband`,
    as in :class:`tune_extras.optuna.HyperbandPruner`; bracket ``b`` skips its first
    ``s + b`` rungs (``s = min_early_stopping_rate``), and a trial competes only with trials of its
    bracket. Stopping variant only. Arguments as for :class:`SuccessiveHalvingScheduler`, except
    that ``min_resource`` defaults to 1, as in the Optuna pruner (and Ray's ``grace_period``).
    """

    _BRACKETS = "auto"

    def __init__(
        self,
        time_attr: str = "training_iteration",
        metric: str | None = None,
        mode: str | None = None,
        max_t: float = 100,
        min_resource: float | str = 1,
        reduction_factor: int = 3,
        min_early_stopping_rate: int = 0,
        bootstrap_count: int = 0,
    ) -> None:
        super().__init__(
            time_attr,
            metric,
            mode,
            max_t,
            min_resource,
            reduction_factor,
            min_early_stopping_rate,
            bootstrap_count,
            variant="stopping",
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
