"""tune-extras' successive-halving scheduler inside a real local Ray Tune run."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.ray


def _trainable(config: dict) -> None:
    from ray import tune

    for step in range(1, 28):
        tune.report({"loss": config["x"] + 1.0 / step})


def test_tuner_with_successive_halving_scheduler(ray_local: object, tmp_path: Path) -> None:
    from ray import tune

    from tune_extras.ray import SuccessiveHalvingScheduler

    scheduler = SuccessiveHalvingScheduler(max_t=27, min_resource=1)
    tuner = tune.Tuner(
        tune.with_resources(_trainable, {"cpu": 1, "gpu": 1}),
        param_space={"x": tune.grid_search([i / 9 for i in range(9)])},
        tune_config=tune.TuneConfig(
            metric="loss", mode="min", scheduler=scheduler, max_concurrent_trials=2
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="sha", verbose=0),
    )
    results = tuner.fit()
    assert not results.errors
    iterations = [r.metrics["training_iteration"] for r in results]
    assert len(iterations) == 9
    assert sum(i < 27 for i in iterations) >= 3  # trials stopped at a rung
    best = results.get_best_result()
    assert best.config["x"] == 0.0 and best.metrics["training_iteration"] == 27


def test_optuna_search_records_stopped_trials_as_pruned(ray_local: object, tmp_path: Path) -> None:
    import optuna
    from ray import tune

    from tune_extras.ray import OptunaSearch, SuccessiveHalvingScheduler

    study_storage = f"sqlite:///{tmp_path}/ray.db"
    searcher = OptunaSearch(
        space={"x": optuna.distributions.FloatDistribution(0.0, 1.0)},
        metric="loss",
        mode="min",
        sampler=optuna.samplers.RandomSampler(seed=0),
        storage=optuna.storages.RDBStorage(study_storage),
        study_name="ray-study",
        max_resource=27,
    )
    tuner = tune.Tuner(
        _trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=SuccessiveHalvingScheduler(
                metric="loss", mode="min", max_t=27, min_resource=1
            ),
            num_samples=9,
            max_concurrent_trials=2,
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="search", verbose=0),
    )
    results = tuner.fit()
    assert not results.errors
    study = optuna.load_study(study_name="ray-study", storage=study_storage)
    by_state = {
        state: [t for t in study.trials if t.state == state] for state in optuna.trial.TrialState
    }
    pruned = by_state[optuna.trial.TrialState.PRUNED]
    complete = by_state[optuna.trial.TrialState.COMPLETE]
    assert len(pruned) + len(complete) == 9
    assert pruned, "the scheduler stopped trials early; Optuna must see them as PRUNED"
    for trial in pruned:
        last = max(trial.intermediate_values)
        assert last < 27  # stopped at a rung; every reported step kept
        assert sorted(trial.intermediate_values) == list(range(1, last + 1))
    for trial in complete:
        assert max(trial.intermediate_values) == 27
        assert trial.value == pytest.approx(trial.intermediate_values[27])


def _checkpointed(config: dict) -> None:
    """Reports x + 1/step for 27 steps, saving and resuming from checkpoints (so it can pause)."""
    import json
    import os
    import tempfile

    from ray import tune
    from ray.tune import Checkpoint

    start = 1
    checkpoint = tune.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder, open(os.path.join(folder, "s.json")) as handle:
            start = json.load(handle)["step"] + 1
    for step in range(start, 28):
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "s.json"), "w") as handle:
                json.dump({"step": step}, handle)
            tune.report(
                {"loss": config["x"] + 1.0 / step, "step": step},
                checkpoint=Checkpoint.from_directory(folder),
            )


def test_promotion_variant_pauses_and_resumes(ray_local: object, tmp_path: Path) -> None:
    from ray import tune

    from tune_extras.ray import SuccessiveHalvingScheduler

    scheduler = SuccessiveHalvingScheduler(max_t=27, min_resource=1, variant="promotion")
    tuner = tune.Tuner(
        _checkpointed,
        param_space={"x": tune.grid_search([i / 9 for i in range(9)])},
        tune_config=tune.TuneConfig(metric="loss", mode="min", scheduler=scheduler),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="promo", verbose=0),
    )
    results = tuner.fit()
    assert not results.errors
    steps = {r.config["x"]: r.metrics["step"] for r in results}
    assert steps[0.0] == 27  # the best configuration was promoted through every rung
    assert all(s in (1, 3, 9, 27) for s in steps.values())  # others stopped at a rung
    assert sum(steps.values()) < 9 * 27 / 2
    # Resumed trials continued from their checkpoint: no step was trained twice.
    for result in results:
        frame = result.metrics_dataframe
        assert frame["step"].is_unique
