"""A real Ray Tune experiment read back into the analyzer, from the ResultGrid and from disk."""

from __future__ import annotations

from pathlib import Path

import pytest

import tune_extras

pytestmark = pytest.mark.ray


def _trainable(config: dict) -> None:
    from ray import tune

    loss = (config["lr"] - 0.3) ** 2 + 0.5 * (config["opt"]["momentum"] - 0.5) ** 2
    for _ in range(2):
        tune.report({"loss": loss})


def test_experiment_to_report(ray_local: object, tmp_path: Path) -> None:
    from ray import tune

    from tune_extras.ray import load_experiment

    tuner = tune.Tuner(
        _trainable,
        param_space={"lr": tune.uniform(0, 1), "opt": {"momentum": tune.uniform(0, 1)}},
        tune_config=tune.TuneConfig(num_samples=20, metric="loss", mode="min"),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="exp", verbose=0),
    )
    grid = tuner.fit()
    from_grid = load_experiment(grid, "loss", "min")
    from_disk = load_experiment(tmp_path / "exp", "loss", "min")
    assert len(from_grid) == len(from_disk) == 20
    assert set(from_grid["state"]) == {"COMPLETE"}
    assert {"params_lr", "params_opt/momentum"} <= set(from_disk.columns)
    assert sorted(from_grid["value"]) == pytest.approx(sorted(from_disk["value"]))
    report = tune_extras.analyze(from_disk, importance=False)
    assert report.direction == "minimize"
    assert report.trial_counts["used"] == 20
    assert report.best_observed == pytest.approx(from_grid["value"].min())
    with pytest.raises(ValueError, match="no trial reported the metric"):
        load_experiment(grid, "accuracy", "max")
    with pytest.raises(ValueError, match="no Ray Tune experiment folder"):
        load_experiment(tmp_path / "missing", "loss", "min")
