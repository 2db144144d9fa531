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
        tune.with_resources(_trainable, {"cpu": 1, "gpu": 0}),
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
