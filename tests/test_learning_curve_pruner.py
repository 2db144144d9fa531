"""LearningCurvePruner on real Optuna studies, and identical decisions from the Ray scheduler."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import optuna
import pytest

from tune_extras.optuna import LearningCurvePruner

optuna.logging.set_verbosity(optuna.logging.WARNING)
STEPS = 30


def _curve(x: float, y: float) -> np.ndarray:
    """Loss curves whose final value is ordered by x; y sets the speed (curves cross)."""
    t = np.arange(1, STEPS + 1)
    return 0.1 + x + (0.3 + y) * t ** -(0.3 + 1.2 * y)


def _objective(trial: optuna.Trial) -> float:
    x, y = trial.suggest_float("x", 0, 1), trial.suggest_float("y", 0, 1)
    curve = _curve(x, y)
    for step, value in enumerate(curve, start=1):
        trial.report(float(value), step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return float(curve[-1])


@pytest.mark.parametrize("backend", ["sqlite", "journal"])
def test_pruner_on_shared_storage_with_threads(tmp_path: Path, backend: str) -> None:
    if backend == "sqlite":
        storage: str | optuna.storages.BaseStorage = f"sqlite:///{tmp_path / 'lc.db'}"
    else:
        from optuna.storages.journal import JournalFileBackend

        storage = optuna.storages.JournalStorage(JournalFileBackend(str(tmp_path / "lc.log")))
    study = optuna.create_study(
        storage=storage,
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=LearningCurvePruner(max_resource=STEPS),
    )
    study.optimize(_objective, n_trials=40, n_jobs=2)
    pruned = study.get_trials(states=[optuna.trial.TrialState.PRUNED])
    complete = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    assert len(pruned) >= 15
    spent = sum(len(t.intermediate_values) for t in study.trials) / (40 * STEPS)
    assert spent < 0.6
    # No trial that would have ended better than the best complete one was pruned.
    best = min(t.value for t in complete)
    truth = {t.number: float(_curve(t.params["x"], t.params["y"])[-1]) for t in pruned}
    assert all(v > best - 1e-9 for v in truth.values())
    # Nothing written to the study beyond the trials' own reports.
    assert all(not t.user_attrs and not t.system_attrs for t in study.trials)


def test_pruner_reads_each_trials_length_from_a_callable() -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        epochs = trial.suggest_int("epochs", 10, 40)
        for step in range(1, epochs + 1):
            trial.report(x + step**-0.5, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return x + epochs**-0.5

    pruner = LearningCurvePruner(max_resource=lambda t: t.params["epochs"])
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1), pruner=pruner)
    study.optimize(objective, n_trials=30)
    assert len(study.get_trials(states=[optuna.trial.TrialState.PRUNED])) >= 8
    complete = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    decision = pruner.decide(study, complete[-1])
    assert not decision.stop and "target step" in decision.reason
    pruned = study.get_trials(states=[optuna.trial.TrialState.PRUNED])[-1]
    assert max(pruned.intermediate_values) < pruned.params["epochs"]
    assert pruner.decide(study, pruned).stop


def test_long_run_still_climbing_is_kept_when_shorter_runs_finished() -> None:
    """Regression: with ``max_resource=lambda t: t.params["epochs"]`` the finished 10-epoch runs
    were paired with a 100-epoch run at epoch 20 as (final, final): P = 0, pruned, although its
    own curve gave P = 0.92."""
    study = optuna.create_study(
        direction="maximize",
        pruner=LearningCurvePruner(max_resource=lambda t: t.params["epochs"]),
    )
    for j in range(8):
        trial = study.ask({"epochs": optuna.distributions.IntDistribution(10, 10)})
        for step in range(1, 11):
            trial.report(0.8 + 0.01 * j - 0.5 * math.exp(-step / 3), step)
        study.tell(trial, 0.8 + 0.01 * j - 0.5 * math.exp(-10 / 3))
    long = study.ask({"epochs": optuna.distributions.IntDistribution(100, 100)})
    for step in range(1, 21):
        long.report(0.9 - 0.5 * math.exp(-step / 30), step)
        assert not long.should_prune(), step
    decision = study.pruner.decide(study, study._storage.get_trial(long._trial_id))
    assert decision.population_probability is not None and decision.population_probability > 0.5


def test_nan_report_prunes_and_maximize_direction() -> None:
    study = optuna.create_study(direction="maximize", pruner=LearningCurvePruner(max_resource=20))
    for _ in range(3):
        trial = study.ask()
        for step in range(1, 21):
            trial.report(1 - step**-0.5, step)
        study.tell(trial, 1 - 20**-0.5)
    trial = study.ask()
    trial.report(0.1, 1)
    trial.report(math.nan, 2)
    assert trial.should_prune()
    worse = study.ask()
    for step in range(1, 8):
        worse.report(0.5 - step**-0.5, step)
    assert worse.should_prune()
    better = study.ask()
    for step in range(1, 8):
        better.report(1.2 - step**-0.5, step)
    assert not better.should_prune()


def test_multi_objective_study_is_rejected() -> None:
    study = optuna.create_study(directions=["minimize", "minimize"])
    trial = study.ask()
    frozen = study._storage.get_trial(trial._trial_id)
    with pytest.raises(ValueError, match="single-objective"):
        LearningCurvePruner().prune(study, frozen)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_resource": 0}, "max_resource"),
        ({"max_resource": "max"}, "max_resource"),
        ({"n_startup_trials": 0}, "n_startup_trials"),
        ({"n_warmup_steps": -1}, "n_warmup_steps"),
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": "0.05"}, "threshold must be a finite number"),
        ({"n_startup_trials": True}, "n_startup_trials"),
        ({"n_warmup_steps": 1.5}, "n_warmup_steps"),
        ({"rank": 0}, "rank"),
        ({"default_scale": -1}, "default_scale"),
        ({"calibration": "none"}, "calibration"),
    ],
)
def test_pruner_validates_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LearningCurvePruner(**kwargs)


class _Trial:
    def __init__(self, trial_id: str, config: dict | None = None) -> None:
        self.trial_id = trial_id
        self.config = config or {}


def test_optuna_and_ray_adapters_take_identical_decisions() -> None:
    pytest.importorskip("ray")
    from ray.tune.schedulers import TrialScheduler

    from tune_extras.ray import LearningCurveScheduler

    rng = np.random.default_rng(0)
    configs = [(float(x), float(y)) for x, y in rng.random((30, 2))]
    study = optuna.create_study(pruner=LearningCurvePruner(max_resource=STEPS))
    scheduler = LearningCurveScheduler(metric="loss", mode="min", max_t=STEPS)
    optuna_decisions, ray_decisions = [], []
    for number, (x, y) in enumerate(configs):
        curve = _curve(x, y) + 0.003 * rng.standard_normal(STEPS)
        trial = study.ask()
        ray_trial = _Trial(str(number))
        scheduler.on_trial_add(None, ray_trial)
        stopped = False
        for step, value in enumerate(curve, start=1):
            trial.report(float(value), step)
            prune = trial.should_prune()
            action = scheduler.on_trial_result(
                None, ray_trial, {"training_iteration": step, "loss": float(value)}
            )
            optuna_decisions.append(prune)
            ray_decisions.append(action == TrialScheduler.STOP and step < STEPS)
            if prune:
                stopped = True
                break
        if stopped:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            # Ray's controller reports a trial its scheduler stopped as complete, last result too.
            scheduler.on_trial_complete(
                None, ray_trial, {"training_iteration": step, "loss": float(value)}
            )
        else:
            study.tell(trial, float(curve[-1]))
            scheduler.on_trial_complete(
                None, ray_trial, {"training_iteration": STEPS, "loss": float(curve[-1])}
            )
    assert optuna_decisions == ray_decisions
    assert 5 <= sum(optuna_decisions) < len(configs)


def test_pruner_pickles_with_its_cache() -> None:
    """Ray and multiprocessing pickle pruners; the rule's lock is rebuilt, its cache kept."""
    import pickle

    study = optuna.create_study(pruner=LearningCurvePruner(max_resource=STEPS))
    study.optimize(_objective, n_trials=8)
    copy = pickle.loads(pickle.dumps(study.pruner))
    last = study.trials[-1]
    assert copy.decide(study, last).reason == study.pruner.decide(study, last).reason
