"""Ray scaling benchmark: slot utilisation of short GPU trials, tune-extras vs Ray Tune vs Optuna.

``budget`` trials (default 200) whose objective sleeps ``1 s`` each, on 4 logical GPUs (one GPU per
trial) of a local Ray started with 4 logical CPUs and GPUs:

* ``tune_extras.ray.optimize`` (Optuna study, driver-owned storage, trials as Ray tasks);
* Ray Tune's ``Tuner`` with ``tune.with_resources(..., {"gpu": 1})``;
* Optuna's own ``study.optimize(n_jobs=4)`` (threads; no Ray, no GPU placement) for reference.

Metrics: wall time, utilisation = busy slot-time / (4 slots x wall time), and scheduling overhead per
trial = (4 x wall - budget x 1 s) / budget. ``--quick``: 20 trials of 0.5 s.
Run: ``python -m benchmarks run ray_scaling --seeds 3`` (each seed is one repetition).
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import optuna

METRICS = ("utilisation", "overhead_ms", "wall_s")
SLOTS = 4


def _sleeper(seconds: float) -> Any:
    def objective(trial: Any) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        time.sleep(seconds)
        return x

    return objective


def _row(method: str, seed: int, n: int, seconds: float, wall: float) -> dict[str, Any]:
    return {
        "problem": f"{n}x{seconds:g}s-on-{SLOTS}-gpus",
        "method": method,
        "seed": seed,
        "wall_s": wall,
        "utilisation": n * seconds / (SLOTS * wall),
        "overhead_ms": 1e3 * (SLOTS * wall - n * seconds) / n,
    }


def run(seeds: int = 3, budget: int = 200, quick: bool = False) -> list[dict[str, Any]]:
    import ray
    from ray import tune

    from tune_extras.ray import optimize

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    n, seconds = (20, 0.5) if quick else (budget, 1.0)
    rows = []
    ray.init(
        address="local",
        num_cpus=SLOTS,
        num_gpus=SLOTS,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    try:
        optimize(
            optuna.create_study(),
            _sleeper(0.0),
            n_trials=SLOTS,
            resources_per_trial={"cpu": 1, "gpu": 1},
        )  # start the workers once
        for seed in range(seeds):
            study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
            start = time.perf_counter()
            optimize(study, _sleeper(seconds), n_trials=n, resources_per_trial={"cpu": 1, "gpu": 1})
            rows.append(_row("tune-extras optimize", seed, n, seconds, time.perf_counter() - start))

            def trainable(config: dict[str, Any]) -> None:
                time.sleep(seconds)
                tune.report({"value": config["x"]})

            with tempfile.TemporaryDirectory() as folder:
                tuner = tune.Tuner(
                    tune.with_resources(trainable, {"cpu": 1, "gpu": 1}),
                    param_space={"x": tune.uniform(0, 1)},
                    tune_config=tune.TuneConfig(num_samples=n, metric="value", mode="min"),
                    run_config=tune.RunConfig(storage_path=folder, name="scaling", verbose=0),
                )
                start = time.perf_counter()
                tuner.fit()
                rows.append(_row("ray-tune Tuner", seed, n, seconds, time.perf_counter() - start))
    finally:
        ray.shutdown()
    for seed in range(seeds):
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        start = time.perf_counter()
        study.optimize(_sleeper(seconds), n_trials=n, n_jobs=SLOTS)
        rows.append(
            _row("optuna n_jobs=4 (threads)", seed, n, seconds, time.perf_counter() - start)
        )
    return rows


if __name__ == "__main__":
    from benchmarks.__main__ import main

    raise SystemExit(main(["run", "ray_scaling", "--seeds", "3"]))
