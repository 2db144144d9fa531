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
* ``ms_per_decision`` / ``ms_median``: wall time of the method's decisions per reported value,
  mean and median (the mean carries the occasional recalibration of the learning-curve rule).

Methods: tune-extras' SuccessiveHalvingPruner (max_resource given, and all "auto"),
HyperbandPruner (``max_resource`` given, ``min_resource=1`` as Optuna's) and
LearningCurvePruner (and their Ray twins, SuccessiveHalvingScheduler, HyperbandScheduler and
LearningCurveScheduler, driven like Ray's schedulers: the same decisions, so the same numbers); no
pruning, Optuna's MedianPruner, SuccessiveHalvingPruner, HyperbandPruner and WilcoxonPruner
(defaults except where stated), and Ray Tune's ASHAScheduler and MedianStoppingRule driven directly
as the Python objects Ray's controller calls (no Ray runtime needed; same decisions). Ray's
synchronous HyperBandScheduler pauses trials and needs the real controller: not included. Other
pruners plug in by adding an entry to ``_optuna_pruners`` or ``_ray_schedulers``.

Every study is named after its problem and seed, so Optuna's HyperbandPruner, which assigns
brackets by a hash of the study name, gives the same numbers in every run.

Runs are cached, one JSON line per (problem, method, seed, budget), in
``benchmarks/results/pruners/runs.jsonl``, keyed also by a fingerprint of the code the method runs
(tune-extras' sources for our methods, the package version for Optuna's and Ray's), so an
interrupted or repeated command only computes what is missing or what changed (``--quick`` runs
are not cached). Run a part with
``python -m benchmarks.suite_pruners --problems alexnet --methods ours-lc,optuna-hyperband``.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import math
import time
import warnings
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from benchmarks.problems import CurveProblem, get_curve_problem
from tune_extras.optuna import HyperbandPruner, LearningCurvePruner, SuccessiveHalvingPruner

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / "results" / "pruners" / "runs.jsonl"
_SOURCES = {  # what our methods' decisions depend on
    "lc": (
        "tune_extras/_validation.py",
        "tune_extras/curves",
        "tune_extras/optuna/_learning_curve.py",
        "tune_extras/ray/_learning_curve.py",
        "tune_extras/ray/_scheduler.py",
    ),
    "halving": (
        "tune_extras/_validation.py",
        "tune_extras/halving",
        "tune_extras/optuna/_halving.py",
        "tune_extras/ray/_halving.py",
        "tune_extras/ray/_scheduler.py",
    ),
}

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
    "ms_median",
)
QUICK_PROBLEMS = ("deberta-v3-base", "synthetic-pow3")
FULL_PROBLEMS = (
    "deberta-v3-base",
    "deberta-base",
    "alexnet",
    "torch-mlp-digits",
    "torch-cnn-digits",
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
    problem: CurveProblem,
    configs: list[dict[str, Any]],
    pruner: optuna.pruners.BasePruner,
    seed: int,
) -> tuple[list[int], list[float], list[float]]:
    """Sequential study with ``pruner``: units used, final values (NaN if stopped), decision times."""
    study = optuna.create_study(
        study_name=f"pruners-{problem.name}-{seed}", direction=problem.direction, pruner=pruner
    )
    used: list[int] = []
    finals: list[float] = []
    times: list[float] = []
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
            times.append(time.perf_counter() - start)
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
    return used, finals, times


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

    from tune_extras.ray import (
        HyperbandScheduler,
        LearningCurveScheduler,
        SuccessiveHalvingScheduler,
    )

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
        "ours-sha-ray": lambda: SuccessiveHalvingScheduler(
            metric="value", mode=mode, max_t=problem.max_resource
        ),
        "ours-hyperband-ray": lambda: HyperbandScheduler(
            metric="value", mode=mode, max_t=problem.max_resource
        ),
    }


def run_ray(
    problem: CurveProblem, configs: list[dict[str, Any]], scheduler: Any, seed: int
) -> tuple[list[int], list[float], list[float]]:
    """Drive a Ray Tune scheduler object directly, as Ray's controller calls it, trial by trial."""
    from ray.tune.schedulers import TrialScheduler

    np.random.seed(seed)  # noqa: NPY002  (ASHA draws its bracket from numpy's global generator)
    controller = _FakeController()
    used: list[int] = []
    finals: list[float] = []
    times: list[float] = []
    for number, config in enumerate(configs):
        trial = _FakeTrial(str(number), config)
        scheduler.on_trial_add(controller, trial)
        curve = problem.curve(config)
        steps, stopped, diverged = 0, False, False
        for step, value in enumerate(curve, start=1):
            steps = step
            if math.isnan(value):
                diverged = True  # a trainable that raises on a NaN loss: Ray reports an error
                break
            start = time.perf_counter()
            action = scheduler.on_trial_result(
                controller, trial, {"training_iteration": step, "value": float(value)}
            )
            times.append(time.perf_counter() - start)
            if action == TrialScheduler.STOP and step < len(curve):
                stopped = True
                break
        used.append(steps)
        if diverged:  # as the Optuna driver's FAILed trial
            scheduler.on_trial_error(controller, trial)
            finals.append(math.nan)
            continue
        # Ray's controller reports a trial its scheduler stopped as complete too, last result and all.
        result = {"training_iteration": steps, "value": float(curve[steps - 1])}
        scheduler.on_trial_complete(controller, trial, result)
        finals.append(math.nan if stopped else float(curve[-1]))
    return used, finals, times


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


def _code(file: Path) -> bytes:
    """A module's code without its docstrings and comments (editing prose keeps the cache)."""
    tree = ast.parse(file.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                body[0] = ast.Pass()
    return ast.dump(tree).encode()


@cache
def _fingerprint(method: str) -> str:
    """What a cached run depends on: our code for our methods, the package for the others."""
    if method.startswith("ours"):
        digest = hashlib.sha256()
        for name in _SOURCES["lc" if method.startswith("ours-lc") else "halving"]:
            path = ROOT / name
            for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
                digest.update(_code(file))
        return digest.hexdigest()[:16]
    if method.startswith("ray"):
        import ray

        return f"ray-{ray.__version__}"
    return f"optuna-{optuna.__version__}"


def _load_cache(path: Path) -> dict[tuple[str, str, int, int, str], dict[str, Any]]:
    rows: dict[tuple[str, str, int, int, str], dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                key = (row["problem"], row["method"], row["seed"], row["budget"], row["code"])
                rows[key] = row
    return rows


def run(
    seeds: int = 5,
    budget: int = 100,
    quick: bool = False,
    problems: tuple[str, ...] | None = None,
    methods: tuple[str, ...] | None = None,
    cache_path: Path | None = CACHE,
) -> list[dict[str, Any]]:
    """One row per (problem, method, seed); cached runs are read back, missing ones computed."""
    names = problems or (QUICK_PROBLEMS if quick else FULL_PROBLEMS)
    if quick:
        cache_path = None  # smoke runs (the test suite's) leave the cache alone
    cached = _load_cache(cache_path) if cache_path is not None else {}
    rows = []
    for name in names:
        problem = get_curve_problem(name)
        for seed in range(seeds):
            configs: list[dict[str, Any]] | None = None
            factories: dict[str, Callable[[], Any]] = {
                **_optuna_pruners(problem.max_resource),
                **_ray_schedulers(problem),
            }
            for method, factory in factories.items():
                if methods is not None and method not in methods:
                    continue
                key = (name, method, seed, budget, _fingerprint(method))
                if key in cached:
                    rows.append(cached[key])
                    continue
                if configs is None:
                    configs = problem.sample_configs(budget, seed)
                runner: Callable[[], tuple[list[int], list[float], list[float]]]
                if method.startswith("ray") or method.endswith("-ray"):
                    runner = partial(run_ray, problem, configs, factory(), seed)
                else:
                    runner = partial(run_optuna, problem, configs, factory(), seed)
                used, finals, times = runner()
                row = {
                    "problem": name,
                    "method": method,
                    "seed": seed,
                    "budget": budget,
                    "code": key[-1],
                    **_score(problem, configs, used, finals),
                    "ms_per_decision": 1e3 * float(np.mean(times)) if times else 0.0,
                    "ms_median": 1e3 * float(np.median(times)) if times else 0.0,
                }
                rows.append(row)
                if cache_path is not None:
                    cache_path.parent.mkdir(parents=True, exist_ok=True)
                    with cache_path.open("a") as handle:
                        handle.write(json.dumps(row) + "\n")
    return rows


def markdown(rows: list[dict[str, Any]], methods: tuple[str, ...] | None = None) -> str:
    """One table: per problem and method, the numbers docs/halving.md and learning_curves.md use."""
    lines = [
        "| problem | method | resource median [IQR] | regret median (mean) "
        "| best config stopped | ms / decision median |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["problem"], row["method"]), []).append(row)
    order = methods or tuple(dict.fromkeys(row["method"] for row in rows))
    for problem in dict.fromkeys(row["problem"] for row in rows):
        for method in order:
            members = groups.get((problem, method))
            if not members:
                continue
            resource = np.array([m["resource"] for m in members])
            regret = np.array([m["regret"] for m in members])
            q1, med, q3 = np.percentile(resource, [25, 50, 75])
            stopped = int(sum(m["best_stopped"] for m in members))
            lines.append(
                f"| {problem} | {method} | {med:.3f} [{q1:.3f}, {q3:.3f}] "
                f"| {np.median(regret):.3g} ({regret.mean():.3g}) | {stopped} of {len(members)} "
                f"| {np.median([m['ms_median'] for m in members]):.2f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.suite_pruners")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--problems", default=",".join(FULL_PROBLEMS))
    parser.add_argument("--methods", default=None, help="comma-separated (default: all)")
    parser.add_argument("--markdown", action="store_true", help="print the docs' table instead")
    args = parser.parse_args(argv)
    from benchmarks.__main__ import print_summary, summarise

    methods = tuple(args.methods.split(",")) if args.methods else None
    rows = run(args.seeds, args.budget, problems=tuple(args.problems.split(",")), methods=methods)
    if args.markdown:
        print(markdown(rows, methods))
    else:
        print_summary(summarise(rows, METRICS), METRICS)


if __name__ == "__main__":
    main()
