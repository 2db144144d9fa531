"""Optuna studies run as Ray tasks: GPUs per trial, pruning, storages and a worker that dies.

More faults (SIGKILL, out of memory, Ctrl-C, resources no node has) are in test_ray_faults.py.
"""

from __future__ import annotations

import os
import time
from functools import partial
from pathlib import Path

import optuna
import pytest

from tests.ray_faults import assert_consistent
from tune_extras.optuna import LearningCurvePruner, SuccessiveHalvingPruner
from tune_extras.ray import ATTEMPT_ATTR, FAIL_REASON_ATTR, RETRY_OF_ATTR

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
    assert assert_consistent(study) == {"FAIL": 3, "COMPLETE": 3}
    # With one trial at a time each death is followed by its re-run: FAIL, COMPLETE, ...
    for failed, rerun in zip(study.trials[::2], study.trials[1::2], strict=True):
        assert failed.state == optuna.trial.TrialState.FAIL
        assert "its Ray worker was lost (" in failed.user_attrs[FAIL_REASON_ATTR]
        assert rerun.params == failed.params and rerun.value == failed.params["x"]
        assert rerun.user_attrs[RETRY_OF_ATTR] == failed.number
        assert rerun.user_attrs[ATTEMPT_ATTR] == 2


def test_half_gpus_put_two_trials_on_a_device(ray_local: object, tmp_path: Path) -> None:
    from tune_extras.ray import optimize

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    resources = {"cpu": 0.5, "gpu": 0.5}
    optimize(study, _gpu_objective, n_trials=8, resources_per_trial=resources)
    trials = study.trials
    assert assert_consistent(study) == {"COMPLETE": 8}
    assert {t.user_attrs["gpus"] for t in trials} <= {"0", "1"}
    for trial in trials:  # never more than two trials on one device at once
        start = trial.user_attrs["span"][0]
        sharing = [
            t
            for t in trials
            if t.user_attrs["gpus"] == trial.user_attrs["gpus"]
            and t.user_attrs["span"][0] <= start < t.user_attrs["span"][1]
        ]
        assert len(sharing) <= 2


def _two_objectives(trial: object) -> object:
    x = trial.suggest_float("x", 0.0, 1.0)  # type: ignore[attr-defined]
    return x if trial.number == 0 else (x, 1.0 - x)  # type: ignore[attr-defined]


def test_a_multi_objective_study(ray_local: object) -> None:
    from tune_extras.ray import optimize

    study = optuna.create_study(directions=["minimize", "maximize"])
    optimize(study, _two_objectives, n_trials=3, max_concurrent=1)
    assert assert_consistent(study) == {"FAIL": 1, "COMPLETE": 2}
    assert (
        study.trials[0]
        .user_attrs[FAIL_REASON_ATTR]
        .startswith("the objective returned 1 value(s) for a study of 2 objective(s)")
    )
    assert all(t.values == [t.params["x"], 1.0 - t.params["x"]] for t in study.trials[1:])
