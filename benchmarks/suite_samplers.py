"""Sampler benchmark: Optuna's samplers on problems with a known (or estimated) optimum.

For each problem, seed and sampler, ``budget`` trials are run in an in-memory study; the regret of
the incumbent (the trial with the best *observed* value; regret = its noiseless value's distance to
the optimum, larger is worse) is recorded after 25%, 50% and 100% of the trials, with wall time.

Problems: the quadratic surface (6 hyperparameters, 2 effective, noise 0.01; optimum 0), Branin
(0.397887) and Hartmann-6 (-3.32237) at full fidelity, and the surrogate of the DeBERTaV3 search
(optimum estimated as the best surrogate mean over 20,000 random configurations).
Samplers: Random, QMC (Sobol), TPE, and GP (Optuna's GPSampler); CMA-ES when ``cmaes`` is installed.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna

from benchmarks.problems import (
    FullFidelity,
    MultiFidelityBranin,
    MultiFidelityHartmann6,
    QuadraticSurface,
    Surrogate,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

METRICS = ("regret", "regret_at_50pct", "regret_at_25pct", "seconds")


def samplers(seed: int) -> dict[str, Callable[[], optuna.samplers.BaseSampler]]:
    found: dict[str, Callable[[], optuna.samplers.BaseSampler]] = {
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
        "qmc-sobol": lambda: optuna.samplers.QMCSampler(seed=seed, scramble=True),
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "gp": lambda: optuna.samplers.GPSampler(seed=seed),
    }
    try:
        import cmaes  # noqa: F401

        found["cmaes"] = lambda: optuna.samplers.CmaEsSampler(seed=seed)
    except ImportError:
        pass
    return found


def _optimum(problem: Any) -> float:
    if isinstance(problem, QuadraticSurface):
        return 0.0
    if isinstance(problem, FullFidelity):
        return 0.397887 if problem.name == "mf-branin" else -3.32237
    # Surrogate: best mean over a large random sample of the space.
    forest, _ = problem.model
    rng = np.random.default_rng(0)
    n = 20_000
    features = np.column_stack(
        [
            rng.integers(1, 5, n),
            rng.integers(16, 65, n),
            rng.uniform(-6, -3, n),
            rng.uniform(0, 0.6, n),
            rng.uniform(0, 0.3, n),
        ]
    )
    return float(forest.predict(features).max())


def problems(quick: bool) -> list[Any]:
    chosen: list[Any] = [QuadraticSurface(), FullFidelity(MultiFidelityBranin())]
    if not quick:
        chosen += [FullFidelity(MultiFidelityHartmann6()), Surrogate("deberta-v3-base")]
    return chosen


def run(seeds: int = 5, budget: int = 60, quick: bool = False) -> list[dict[str, Any]]:
    rows = []
    for problem in problems(quick):
        optimum = _optimum(problem)
        sign = 1.0 if problem.direction == "minimize" else -1.0
        space = problem.search_space()
        for seed in range(seeds):
            for name, factory in samplers(seed).items():
                study = optuna.create_study(direction=problem.direction, sampler=factory())
                best, regret = np.inf, np.inf
                curve = []
                start = time.perf_counter()
                for number in range(budget):
                    trial = study.ask(space)
                    value = problem.evaluate(trial.params, seed=seed * 100_000 + number)
                    study.tell(trial, value)
                    if sign * value < best:
                        best = sign * value
                        regret = sign * (problem.true_value(trial.params) - optimum)
                    curve.append(regret)
                rows.append(
                    {
                        "problem": problem.name,
                        "method": name,
                        "seed": seed,
                        "regret": curve[-1],
                        "regret_at_50pct": curve[budget // 2 - 1],
                        "regret_at_25pct": curve[budget // 4 - 1],
                        "seconds": time.perf_counter() - start,
                    }
                )
    return rows
