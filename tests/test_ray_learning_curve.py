"""LearningCurveScheduler inside a real local Ray Tune run, and its saved state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.ray


def _trainable(config: dict) -> None:
    from ray import tune

    for step in range(1, 31):
        tune.report({"loss": 0.1 + config["x"] + step**-0.5})


def test_tuner_with_learning_curve_scheduler(ray_local: object, tmp_path: Path) -> None:
    from ray import tune

    from tune_extras.ray import LearningCurveScheduler, SchedulerStateCallback

    scheduler = LearningCurveScheduler(max_t=30)
    tuner = tune.Tuner(
        tune.with_resources(_trainable, {"cpu": 1, "gpu": 1}),
        param_space={"x": tune.grid_search([i / 10 for i in range(12)])},
        tune_config=tune.TuneConfig(
            metric="loss", mode="min", scheduler=scheduler, max_concurrent_trials=2
        ),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path),
            name="lc",
            verbose=0,
            callbacks=[SchedulerStateCallback(scheduler)],
        ),
    )
    results = tuner.fit()
    assert not results.errors
    iterations = {r.config["x"]: r.metrics["training_iteration"] for r in results}
    assert sum(i < 30 for i in iterations.values()) >= 5  # extrapolated and stopped
    assert iterations[0.0] == 30
    assert results.get_best_result().config["x"] == 0.0


class _Trial:
    def __init__(self, trial_id: str, config: dict | None = None) -> None:
        self.trial_id = trial_id
        self.config = config or {}


def test_state_round_trip_keeps_decisions(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    from ray.tune.schedulers import TrialScheduler

    from tune_extras.ray import LearningCurveScheduler

    scheduler = LearningCurveScheduler(metric="acc", mode="max", max_t=lambda c: c["epochs"])
    t = np.arange(1, 21)
    finished = 0
    for i in range(6):
        trial = _Trial(f"done{i}", {"epochs": 20})
        scheduler.on_trial_add(None, trial)
        for step, value in zip(t, 0.9 - 0.03 * i - 0.5 * t**-0.5, strict=True):
            result = {"training_iteration": step, "acc": value}
            action = scheduler.on_trial_result(None, trial, result)
            if action == TrialScheduler.STOP:
                break
        finished += step == 20
        # Ray reports every stopped trial as complete; only those that reached max_t count.
        scheduler.on_trial_complete(None, trial, result)
    assert 3 <= finished < 6  # the later, worse trials were stopped early
    running = _Trial("run", {"epochs": 20})
    scheduler.on_trial_add(None, running)
    for step in range(1, 6):
        scheduler.on_trial_result(None, running, {"training_iteration": step, "acc": 0.2})
    path = tmp_path / "scheduler.json"
    scheduler.save(str(path))
    restored = LearningCurveScheduler(metric="acc", mode="max", max_t=lambda c: c["epochs"])
    restored.restore(str(path))
    before, after = scheduler.decide("run"), restored.decide("run")
    assert (after.stop, after.probability, after.reason) == (
        before.stop,
        before.probability,
        before.reason,
    )
    result = {"training_iteration": 6, "acc": 0.2}
    assert restored.on_trial_result(None, running, result) == TrialScheduler.STOP
    assert f"{finished} finished" in restored.debug_string()


def test_scheduler_needs_metric_and_mode_and_validates() -> None:
    pytest.importorskip("ray")
    from tune_extras.ray import LearningCurveScheduler

    with pytest.raises(ValueError, match="metric and mode"):
        LearningCurveScheduler().on_trial_add(None, _Trial("a"))
    with pytest.raises(ValueError, match="max_t"):
        LearningCurveScheduler(max_t=0)
    with pytest.raises(ValueError, match="mode"):
        LearningCurveScheduler(mode="up")
    with pytest.raises(ValueError, match="threshold"):
        LearningCurveScheduler(threshold=2)
