"""Pruner benchmark: the built-in pruners of Optuna and Ray Tune's ASHA on replayed curves.

For each seed, ``budget`` configurations are drawn at random from a curve problem and trained one
after another (sequential random search); every method sees the same configurations in the same
order. A trial reports its curve one unit of resource at a time and stops when the method says so.

Metrics per (problem, method, seed):
* ``resource``: units consumed, as a share of training every configuration to its end;
* ``regret``: final value of the best configuration among those sampled minus that of the one chosen
  (the best among trials that ran to their end), signed so that larger is worse;
* ``best_stopped``: 1 if the sampled configuration with the best final value was stopped early;
* ``regret_at_25pct`` / ``regret_at_50pct``: anytime regret, of the best configuration completed
  once 25% / 50% of the no-pruning resource is spent (inf when none has completed by then);
* ``ms_per_decision``: wall time of the method's decisions per reported value.

Methods: tune-extras' SuccessiveHalvingPruner (max_resource given, and all "auto"),
HyperbandPruner and LearningCurvePruner (and its Ray twin, LearningCurveScheduler, driven like
Ray's schedulers: the same decisions, so the same numbers); no pruning, Optuna's MedianPruner,
SuccessiveHalvingPruner, HyperbandPruner and WilcoxonPruner (defaults except where stated), and
Ray Tune's ASHAScheduler and MedianStoppingRule driven directly as the Python objects Ray's
controller calls (no Ray runtime needed; same decisions). Ray's synchronous HyperBandScheduler
pauses trials and needs the real controller: not included. Other pruners plug in by adding an
entry to ``_optuna_pruners`` or ``_ray_schedulers``.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import optuna

from benchmarks.problems import CurveProblem, get_curve_problem
from tune_extras.optuna import HyperbandPruner, LearningCurvePruner, SuccessiveHalvingPruner

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
warnings.filterwarnings("ignore", message="WilcoxonPruner finds steps")

METRICS = (
    "resource",
    "regret",
    "best_stopped",
    "regret_at_25pct",
    "regret_at_50pct",
    "ms_per_decision",
)
QUICK_PROBLEMS = ("deberta-v3-base", "synthetic-pow3")
FULL_PROBLEMS = (
    "deberta-v3-base",
    "deberta-base",
    "alexnet",
    "torch-mlp-digits",
    "torch-mlp-tabular",
    "synthetic-pow3",
)


def _optuna_pruners(max_resource: int) -> dict[str, Callable[[], optuna.pruners.BasePruner]]:
    return {
        "none": optuna.pruners.NopPruner,
        "optuna-median": lambda: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
        "optuna-sha": optuna.pruners.SuccessiveHalvingPruner,
        "optuna-hyperband": lambda: optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=max_resource
        ),
        "optuna-wilcoxon": lambda: optuna.pruners.WilcoxonPruner(p_threshold=0.1),
        "ours-sha": lambda: SuccessiveHalvingPruner(max_resource=max_resource),
        "ours-sha-auto": SuccessiveHalvingPruner,
        "ours-hyperband": lambda: HyperbandPruner(max_resource=max_resource),
        "ours-lc": lambda: LearningCurvePruner(max_resource=_known_length),
        "ours-lc-0.1": lambda: LearningCurvePruner(max_resource=_known_length, threshold=0.1),
        "ours-lc-auto": LearningCurvePruner,
    }


def _known_length(trial: optuna.trial.FrozenTrial) -> int:
    """The trial's own last step (a hyperparameter such as the number of epochs in real studies)."""
    return int(trial.user_attrs["max_step"])


def run_optuna(
    problem: CurveProblem, configs: list[dict[str, Any]], pruner: optuna.pruners.BasePruner
) -> tuple[list[int], list[float], float, int]:
    """Sequential study with ``pruner``: per-trial units used, final values (NaN if stopped)."""
    study = optuna.create_study(direction=problem.direction, pruner=pruner)
    used: list[int] = []
    finals: list[float] = []
    decision_time = 0.0
    decisions = 0
    for config in configs:
        curve = problem.curve(config)
        trial = study.ask()
        trial.set_user_attr("max_step", len(curve))
        steps = 0
        stopped = False
        for step, value in enumerate(curve, start=1):
            steps = step
            if math.isnan(value):
                break  # diverged: the trial fails at this step
            trial.report(float(value), step)
            start = time.perf_counter()
            prune = trial.should_prune()
            decision_time += time.perf_counter() - start
            decisions += 1
            if prune and step < len(curve):
                stopped = True
                break
        used.append(steps)
        final = float(curve[-1])
        if stopped:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            finals.append(math.nan)
        elif math.isnan(final):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            finals.append(math.nan)
        else:
            study.tell(trial, final)
            finals.append(final)
    return used, finals, decision_time, decisions


class _FakeTrial:
    """The attributes Ray's schedulers read from a trial in these calls."""

    def __init__(self, trial_id: str, config: dict[str, Any]) -> None:
        self.trial_id = trial_id
        self.config = config


class _FakeController:
    """Stands in for Ray's TuneController: a sequential search has no other live trial."""

    def get_live_trials(self) -> list[Any]:
        return []


def _ray_schedulers(problem: CurveProblem) -> dict[str, Callable[[], Any]]:
    from ray.tune.schedulers import ASHAScheduler, MedianStoppingRule

    from tune_extras.ray import LearningCurveScheduler

    mode = "min" if problem.direction == "minimize" else "max"
    return {
        "ray-asha": lambda: ASHAScheduler(
            time_attr="training_iteration",
            metric="value",
            mode=mode,
            max_t=problem.max_resource,
            grace_period=1,
            reduction_factor=4,
        ),
        "ray-median": lambda: MedianStoppingRule(
            time_attr="training_iteration", metric="value", mode=mode, grace_period=1
        ),
        "ours-lc-ray": lambda: LearningCurveScheduler(
            metric="value", mode=mode, max_t=lambda config: len(problem.curve(config))
        ),
    }


def run_ray(
    problem: CurveProblem, configs: list[dict[str, Any]], scheduler: Any, seed: int
) -> tuple[list[int], list[float], float, int]:
    """Drive a Ray Tune scheduler object directly, as Ray's controller calls it, trial by trial."""
    from ray.tune.schedulers import TrialScheduler

    np.random.seed(seed)  # noqa: NPY002  (ASHA draws its bracket from numpy's global generator)
    controller = _FakeController()
    used: list[int] = []
    finals: list[float] = []
    decision_time = 0.0
    decisions = 0
    for number, config in enumerate(configs):
        trial = _FakeTrial(str(number), config)
        scheduler.on_trial_add(controller, trial)
        curve = problem.curve(config)
        steps, stopped = 0, False
        for step, value in enumerate(curve, start=1):
            steps = step
            if math.isnan(value):
                break
            start = time.perf_counter()
            action = scheduler.on_trial_result(
                controller, trial, {"training_iteration": step, "value": float(value)}
            )
            decision_time += time.perf_counter() - start
            decisions += 1
            if action == TrialScheduler.STOP and step < len(curve):
                stopped = True
                break
        used.append(steps)
        # Ray's controller reports a trial its scheduler stopped as complete too, last result and all.
        result = {"training_iteration": steps, "value": float(curve[steps - 1])}
        scheduler.on_trial_complete(controller, trial, result)
        finals.append(math.nan if stopped else float(curve[-1]))
    return used, finals, decision_time, decisions


def _score(
    problem: CurveProblem, configs: list[dict[str, Any]], used: list[int], finals: list[float]
) -> dict[str, float]:
    curves = [problem.curve(config) for config in configs]
    total = sum(len(c) for c in curves)
    truth = np.array([c[-1] for c in curves])
    sign = 1.0 if problem.direction == "minimize" else -1.0
    losses = np.where(np.isnan(truth), np.inf, sign * truth)
    best = float(losses.min())
    chosen = np.where(np.isnan(finals), np.inf, sign * np.array(finals))
    # Anytime regret: the incumbent (best completed trial) against the cumulative resource spent.
    spent = np.cumsum(used) / total
    incumbent = np.minimum.accumulate(chosen) - best

    def regret_at(share: float) -> float:
        reached = np.flatnonzero(spent <= share)
        return float(incumbent[reached[-1]]) if reached.size else math.inf

    return {
        "resource": float(spent[-1]),
        "regret": float(incumbent[-1]),
        "best_stopped": float(math.isnan(finals[int(np.argmin(losses))])),
        "regret_at_25pct": regret_at(0.25),
        "regret_at_50pct": regret_at(0.5),
    }


def run(
    seeds: int = 5, budget: int = 100, quick: bool = False, problems: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    names = problems or (QUICK_PROBLEMS if quick else FULL_PROBLEMS)
    rows = []
    for name in names:
        problem = get_curve_problem(name)
        for seed in range(seeds):
            configs = problem.sample_configs(budget, seed)
            runners: dict[str, Callable[[], tuple[list[int], list[float], float, int]]] = {
                label: partial(run_optuna, problem, configs, factory())
                for label, factory in _optuna_pruners(problem.max_resource).items()
            }
            for label, factory in _ray_schedulers(problem).items():
                runners[label] = partial(run_ray, problem, configs, factory(), seed)
            for method, runner in runners.items():
                used, finals, seconds, decisions = runner()
                rows.append(
                    {
                        "problem": name,
                        "method": method,
                        "seed": seed,
                        **_score(problem, configs, used, finals),
                        "ms_per_decision": 1e3 * seconds / max(decisions, 1),
                    }
                )
    return rows
