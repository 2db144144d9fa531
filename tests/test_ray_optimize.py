"""Optuna studies run as Ray tasks: GPUs per trial, pruning, storages and a worker that dies."""

from __future__ import annotations

import os
import time
from functools import partial
from pathlib import Path

import optuna
import pytest

from tune_extras.optuna import LearningCurvePruner, SuccessiveHalvingPruner

pytestmark = pytest.mark.ray
optuna.logging.set_verbosity(optuna.logging.WARNING)


def _gpu_objective(trial: object) -> float:
    x = trial.suggest_float("x", -1.0, 1.0)  # type: ignore[attr-defined]
    start = time.time()
    time.sleep(0.3)
    trial.set_user_attr("gpus", os.environ.get("CUDA_VISIBLE_DEVICES", ""))  # type: ignore[attr-defined]
    trial.set_user_attr("span", [start, time.time()])  # type: ignore[attr-defined]
    return x**2


def test_trials_get_their_own_gpu(ray_local: object, tmp_path: Path) -> None:
    from tune_extras.ray import optimize

    study = optuna.create_study(
        storage=f"sqlite:///{tmp_path}/gpu.db", sampler=optuna.samplers.RandomSampler(seed=0)
    )
    optimize(study, _gpu_objective, n_trials=6, resources_per_trial={"cpu": 0.5, "gpu": 1})
    trials = study.trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 6
    assert all(t.value == pytest.approx(t.params["x"] ** 2) for t in trials)
    assert {t.user_attrs["gpus"] for t in trials} <= {"0", "1"}
    for a in trials:
        for b in trials:
            if a.number < b.number:
                overlap = a.user_attrs["span"][0] < b.user_attrs["span"][1] and (
                    b.user_attrs["span"][0] < a.user_attrs["span"][1]
                )
                if overlap:
                    assert a.user_attrs["gpus"] != b.user_attrs["gpus"]


def _curve_objective(trial: object) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)  # type: ignore[attr-defined]
    for step in range(1, 28):
        trial.report(x + 1.0 / step, step)  # type: ignore[attr-defined]
        if trial.should_prune():  # type: ignore[attr-defined]
            raise optuna.TrialPruned()
    return x


@pytest.mark.parametrize(
    "pruner",
    [SuccessiveHalvingPruner(max_resource=27), LearningCurvePruner(max_resource=27)],
    ids=["halving", "learning-curve"],
)
def test_pruning_reaches_the_pruner(ray_local: object, pruner: optuna.pruners.BasePruner) -> None:
    from tune_extras.ray import optimize

    study = optuna.create_study(
        pruner=pruner,
        sampler=optuna.samplers.RandomSampler(seed=1),
    )
    optimize(study, _curve_objective, n_trials=16, max_concurrent=2)
    states = [t.state for t in study.trials]
    assert len(states) == 16
    assert states.count(optuna.trial.TrialState.PRUNED) >= 5
    assert all(len(t.intermediate_values) >= 1 for t in study.trials)


def _dies_once(trial: object, folder: str) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)  # type: ignore[attr-defined]
    marker = Path(folder) / f"{x:.12f}"
    if not marker.exists():
        marker.touch()
        os._exit(1)  # the worker process dies mid-trial
    return x


def test_dead_worker_is_recorded_and_retried(ray_local: object, tmp_path: Path) -> None:
    from tune_extras.ray import optimize

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2))
    optimize(study, partial(_dies_once, folder=str(tmp_path)), n_trials=3, max_concurrent=1)
    failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 3 and len(failed) == 3
    assert sorted(t.params["x"] for t in failed) == sorted(t.params["x"] for t in complete)
    assert all(t.state != optuna.trial.TrialState.RUNNING for t in study.trials)


def test_ctrl_c_leaves_no_trial_running(
    ray_local: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import ray

    from tune_extras.ray import _optimize, optimize

    calls = {"n": 0}
    real_wait = ray.wait

    def wait_then_interrupt(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 30:  # while trials are running
            raise KeyboardInterrupt
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(_optimize.ray, "wait", wait_then_interrupt)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    with pytest.raises(KeyboardInterrupt):
        optimize(study, _gpu_objective, n_trials=6, max_concurrent=2, show_progress_bar=True)
    states = [t.state for t in study.trials]
    assert optuna.trial.TrialState.RUNNING not in states
    assert optuna.trial.TrialState.FAIL in states  # the interrupted trials
    assert "trials" in capsys.readouterr().err  # the progress bar was shown
