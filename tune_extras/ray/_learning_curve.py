"""Ray Tune scheduler that extrapolates each trial's learning curve (core: :mod:`tune_extras.curves`).

Same decisions as :class:`tune_extras.optuna.LearningCurvePruner` on the same curves: both call
:class:`tune_extras.curves.ExtrapolationRule`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ray.tune.schedulers import TrialScheduler

from tune_extras._validation import check_real
from tune_extras.curves import DEFAULT_SETTINGS, Curve, Decision, rules_by_direction
from tune_extras.ray._scheduler import MetricScheduler


class LearningCurveScheduler(MetricScheduler):
    """Stop a trial when its extrapolated final result is unlikely to beat the best finished trial.

    At each result the trial's curve (``metric`` against ``time_attr``) gives a calibrated
    predictive distribution of its value at ``max_t``; the trial stops when it is unlikely to beat
    the ``rank``-th best finished trial's last value, with the rule, levels and calibration of
    :class:`tune_extras.optuna.LearningCurvePruner` (both call
    :class:`tune_extras.curves.ExtrapolationRule`). Trials that this scheduler stopped, or that
    failed, are not finished trials (Ray reports stopped ones as complete all the same): their
    curves calibrate the prediction at their own lengths. A NaN or infinite result stops the
    trial. A trial that reaches a given ``max_t`` is stopped, as Ray's ASHA does. Keep its state
    across ``Tuner.restore`` with :class:`~tune_extras.ray.SchedulerStateCallback`; one scheduler
    object serves one experiment, as Ray's own schedulers do.

    Args:
        time_attr: Result key that measures resource (``"training_iteration"``, epochs, ...).
        metric, mode: The metric and ``"min"``/``"max"``; may come from ``TuneConfig`` instead.
        max_t: Resource at which trials end: a number, ``"auto"`` (the last ``time_attr`` of the
            first finished trial), or a callable ``(config) -> number`` for trials whose length
            is a hyperparameter.
        grace_period: Do not stop a trial before this much resource.
        threshold: Stop when the probability of beating the reference is below this.
        rank: Compare with the ``rank``-th best finished trial.
        min_finished: Do not stop until this many trials have finished.
        calibration: ``"study"`` (conformal from finished curves) or ``"fixed"``.
        default_scale: Spread multiplier before (or without) study calibration.
    """

    def __init__(
        self,
        time_attr: str = "training_iteration",
        metric: str | None = None,
        mode: str | None = None,
        max_t: float | str | Callable[[dict[str, Any]], float] = "auto",
        grace_period: float = 0,
        threshold: float = 0.05,
        rank: int = 1,
        min_finished: int = 3,
        calibration: str = "study",
        default_scale: float = DEFAULT_SETTINGS.default_scale,
    ) -> None:
        super().__init__(metric, mode)
        if not (callable(max_t) or (isinstance(max_t, str) and max_t == "auto")):
            try:
                check_real("max_t", max_t, low=0, low_open=True)
            except ValueError:
                raise ValueError(
                    f"max_t must be 'auto', a number > 0 or a callable, got {max_t!r}"
                ) from None
        self._rules = rules_by_direction(
            threshold=threshold,
            rank=rank,
            min_finished=min_finished,
            min_step=check_real("grace_period", grace_period, low=0),
            calibration=calibration,
            default_scale=default_scale,
        )
        self._time_attr = time_attr
        self._max_t = max_t
        self._running: dict[str, list[tuple[float, float]]] = {}
        self._finished: dict[str, list[tuple[float, float]]] = {}
        self._ended_early: dict[str, list[tuple[float, float]]] = {}
        self._targets: dict[str, float] = {}
        self._stopped: set[str] = set()
        self._num_stopped = 0

    # --------------------------------------------------------------------------------- Ray API
    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        super().on_trial_add(tune_controller, trial)
        self._running.setdefault(trial.trial_id, [])
        if callable(self._max_t):
            self._targets[trial.trial_id] = float(self._max_t(trial.config))

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        if self._time_attr not in result or self._metric not in result:
            return TrialScheduler.CONTINUE
        step = float(result[self._time_attr])
        self._running.setdefault(trial.trial_id, []).append((step, float(result[self._metric])))
        target = self._target(trial.trial_id)
        if self._max_t != "auto" and target is not None and step >= target:
            return TrialScheduler.STOP  # reached max_t: done
        if self.decide(trial.trial_id).stop:
            self._num_stopped += 1
            self._stopped.add(trial.trial_id)
            return TrialScheduler.STOP
        return TrialScheduler.CONTINUE

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> None:
        # Ray reports a trial this scheduler stopped as complete too: it has no final value.
        if trial.trial_id in self._stopped:
            self._end_early(trial.trial_id)
            return
        curve = self._running.pop(trial.trial_id, [])
        if result and self._time_attr in result and self._metric in result:
            point = (float(result[self._time_attr]), float(result[self._metric]))
            if not curve or curve[-1] != point:
                curve.append(point)
        if curve:
            self._finished[trial.trial_id] = curve

    def on_trial_remove(self, tune_controller: Any, trial: Any) -> None:
        # Stopped by us (or by the user): not a finished trial, no final value to compare with.
        self._end_early(trial.trial_id)

    def on_trial_error(self, tune_controller: Any, trial: Any) -> None:
        self._end_early(trial.trial_id)

    def _end_early(self, trial_id: str) -> None:
        curve = self._running.pop(trial_id, None)
        if curve:
            self._ended_early[trial_id] = curve

    def debug_string(self) -> str:
        return (
            f"{type(self).__name__}: {len(self._finished)} finished, "
            f"{len(self._running)} running, {self._num_stopped} stopped"
        )

    # ----------------------------------------------------------------------------- our API
    def decide(self, trial_id: str) -> Decision:
        """The decision for a running trial's curve so far (with its probability and prediction)."""
        rule = self._rules[self._direction()]
        target = self._target(trial_id)
        if target is None:
            return Decision(False, "no finished trial tells max_t yet")
        finished = [_curve(key, points) for key, points in self._finished.items()]
        stopped = [_curve(key, points) for key, points in self._ended_early.items()]
        running = _curve(trial_id, self._running.get(trial_id, []))
        return rule.decide(running, target, finished, stopped)

    def state_dict(self) -> dict[str, Any]:
        return {
            "running": self._running,
            "finished": self._finished,
            "ended_early": self._ended_early,
            "targets": self._targets,
            "stopped": sorted(self._stopped),
            "num_stopped": self._num_stopped,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        def points(curves: dict[str, Any]) -> dict[str, list[tuple[float, float]]]:
            return {k: [(float(s), float(v)) for s, v in c] for k, c in curves.items()}

        self._running = points(state["running"])
        self._finished = points(state["finished"])
        self._ended_early = points(state.get("ended_early", {}))
        self._targets = {k: float(v) for k, v in state.get("targets", {}).items()}
        self._stopped = set(state.get("stopped", []))
        self._num_stopped = int(state["num_stopped"])

    def _target(self, trial_id: str) -> float | None:
        if callable(self._max_t):
            return self._targets.get(trial_id)
        if self._max_t == "auto":  # the first finished trial's last step (dicts keep their order)
            return next((c[-1][0] for c in self._finished.values() if c), None)
        return float(self._max_t)


def _curve(key: str, points: list[tuple[float, float]]) -> Curve:
    return Curve(key, [s for s, _ in points], [v for _, v in points])
