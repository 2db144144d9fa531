"""Multi-fidelity sampler benchmark: samplers under a Hyperband pruner at equal resource.

``python -m benchmarks run multi_fidelity [--seeds N] [--budget B] [--quick]``, or with options
``python -m benchmarks.suite_multi_fidelity [--seeds N] [--budget B] [--quick] [options]``; options:
``--methods a,b`` (default: all of :data:`METHODS`), ``--problems a,b`` (default: all of
:data:`PROBLEMS`), ``--cache PATH``, ``--report-only`` (tables from the cache, no new runs).

Every (problem, method, seed) run is one sequential Optuna study (``study.ask()/tell()``): the
sampler proposes a configuration, its learning curve is revealed one unit of resource (one step) at
a time through ``trial.report``, and the pruner may stop it after any step. A run ends when it has
used ``budget * max_resource`` units, the resource of ``budget`` full-length trainings of the longest
configuration (every method gets the same resource; a pruned trial costs the steps it reported).

Methods (the sampler + the pruner):

* ``tpe+hyperband``: Optuna 5's default ``TPESampler()`` with Optuna's ``HyperbandPruner``
  (``min_resource=1``, ``max_resource`` the problem's, reduction factor 3): the combination Optuna
  recommends, where TPE sees only the trials of the bracket it samples for;
* ``multi-fidelity+hyperband``: ``tune_extras.optuna.MultiFidelitySampler`` with the same Optuna
  pruner (so the comparison isolates the sampler);
* ``multi-fidelity+ours``: ``MultiFidelitySampler`` with ``tune_extras.optuna.HyperbandPruner``
  (``max_resource`` given; the BOHB combination);
* ``random+hyperband``: ``RandomSampler`` with Optuna's pruner (Hyperband itself, Li et al. 2018);
* ``tpe``: ``TPESampler()`` without pruning (the same resource spent on full trainings).

Metric: the *incumbent* is the completed trial with the best final value; its regret is its
noiseless final value minus the problem's optimum (signed so that larger is worse), recorded when
25%, 50% and 100% of the resource is spent. Problems (see :data:`PROBLEMS`): mf-branin and
mf-hartmann6 (:mod:`benchmarks.problems`, fidelity rising with resource, known optima); the
replayed opda searches (DeBERTaV3 and AlexNet: a configuration replays the recorded curve of its
nearest recorded configuration in the unit-box encoding; optimum the best recorded final value);
real torch training (MLP on digits and on breast-cancer, 20 epochs, validation log-loss; the
optimum is unknown, so the "regret" reported is the incumbent's log-loss itself, the regret against
the bound 0). The final value of the synthetic problems is noiseless (mf-hartmann6's noise vanishes
at full fidelity); a torch trial's is its own training run's.

Runs are cached as JSON lines in ``benchmarks/results/multi_fidelity/runs.jsonl`` (keyed by
problem, method, seed, budget), so interrupted or repeated commands only compute what is missing.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from scipy import stats

from benchmarks.problems import CurveProblem, OpdaReplay, get_curve_problem
from benchmarks.suite_samplers import RunCache, limit_threads, median_iqr

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / "results" / "multi_fidelity" / "runs.jsonl"
CACHE_VERSION = 1
#: Shares of the resource budget at which the incumbent's regret is recorded.
MARKS = (0.25, 0.5, 1.0)
PROBLEMS = (
    "mf-branin",
    "mf-hartmann6",
    "opda-deberta-v3-base",
    "opda-alexnet",
    "torch-mlp-digits",
    "torch-mlp-tabular",
)
METHODS = (
    "tpe+hyperband",
    "multi-fidelity+hyperband",
    "multi-fidelity+ours",
    "random+hyperband",
    "tpe",
)
#: Optima of the final values. The replays use their best recorded final value (``optimum``); the
#: torch problems' is unknown, so their "regret" is the validation log-loss itself (its bound 0).
OPTIMA = {
    "mf-branin": 5.0 / (4.0 * math.pi),
    "mf-hartmann6": -3.3223680114,
    "torch-mlp-digits": 0.0,
    "torch-mlp-tabular": 0.0,
}


def _marks(budget: int) -> list[str]:
    return [f"{m:g}" for m in MARKS]


# ------------------------------------------------------------------------------------ problems
@dataclass
class NearestReplay(CurveProblem):
    """An opda search replayed over a search space: a configuration gets the recorded curve of the
    nearest recorded configuration (Euclidean distance in the unit-box encoding of the space).

    DeBERTa(V3): ``num_train_epochs`` 1-4, ``train_batch_size`` 16-64, ``learning_rate`` log
    [1e-6, 1e-3], ``warmup_proportion`` [0, 0.6] (warm-up steps over the steps of one epoch),
    ``cls_drop_out`` [0, 0.3]. AlexNet: ``epochs`` 20-100, ``batch_size`` in {128, 256, 512, 1024},
    ``lr`` log [5e-3, 50], ``lr_peak_epoch`` 0-76, ``momentum`` [0.7, 1], ``weight_decay`` log
    [1e-6, 1e-3], ``label_smoothing`` [0, 0.5]. Diverged runs replay as NaN (a failed trial).
    """

    search: str = "deberta-v3-base"
    direction: str = "maximize"

    def __post_init__(self) -> None:
        self.name = f"opda-{self.search}"

    @cached_property
    def replay(self) -> OpdaReplay:
        return OpdaReplay(self.search)

    @property
    def max_resource(self) -> int:  # type: ignore[override]
        return self.replay.max_resource

    def search_space(self) -> dict[str, optuna.distributions.BaseDistribution]:
        dist = optuna.distributions
        if self.search == "alexnet":
            return {
                "epochs": dist.IntDistribution(20, 100),
                "batch_size": dist.CategoricalDistribution([128, 256, 512, 1024]),
                "lr": dist.FloatDistribution(5e-3, 50.0, log=True),
                "lr_peak_epoch": dist.IntDistribution(0, 76),
                "momentum": dist.FloatDistribution(0.7, 1.0),
                "weight_decay": dist.FloatDistribution(1e-6, 1e-3, log=True),
                "label_smoothing": dist.FloatDistribution(0.0, 0.5),
            }
        return {
            "num_train_epochs": dist.IntDistribution(1, 4),
            "train_batch_size": dist.IntDistribution(16, 64),
            "learning_rate": dist.FloatDistribution(1e-6, 1e-3, log=True),
            "warmup_proportion": dist.FloatDistribution(0.0, 0.6),
            "cls_drop_out": dist.FloatDistribution(0.0, 0.3),
        }

    def _recorded(self, run: Any) -> dict[str, Any]:
        config = dict(run.config)
        if self.search != "alexnet":
            per_epoch = config["total_model_steps"] / config["num_train_epochs"]
            config["warmup_proportion"] = config["warmup_steps"] / per_epoch
        return config

    def _encode(self, configs: list[dict[str, Any]]) -> np.ndarray:
        from tune_extras.optuna._search_space import search_space_from_distributions

        space = search_space_from_distributions(self.search_space())
        rows = []
        for config in configs:
            unit, index = space.encode(config)
            rows.append(np.concatenate([unit, index.astype(float) / 3.0]))
        return np.array(rows)

    @cached_property
    def _points(self) -> np.ndarray:
        return self._encode([self._recorded(run) for run in self.replay.runs])

    def nearest(self, config: dict[str, Any]) -> int:
        distance = np.sum((self._points - self._encode([config])[0]) ** 2, axis=1)
        return int(np.argmin(distance))

    def curve(self, config: dict[str, Any], seed: int = 0) -> np.ndarray:
        return self.replay.curves[self.nearest(config)]

    @cached_property
    def optimum(self) -> float:
        return self.replay.best_final()


@cache
def get_problem(name: str) -> CurveProblem:
    """A problem of :data:`PROBLEMS` by name (cached per process)."""
    if name not in PROBLEMS:
        raise ValueError(f"problem must be one of {PROBLEMS}, got {name!r}")
    if name.startswith("opda-"):
        return NearestReplay(search=name.removeprefix("opda-"))
    return get_curve_problem(name)


# ------------------------------------------------------------------------------------- methods
def make_method(
    name: str, seed: int, max_resource: int
) -> tuple[optuna.samplers.BaseSampler, optuna.pruners.BasePruner]:
    """The sampler and pruner of method ``name`` (see the module docstring)."""
    from tune_extras.optuna import HyperbandPruner, MultiFidelitySampler

    def optuna_hyperband() -> optuna.pruners.BasePruner:
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_resource)

    factories: dict[str, Callable[[], tuple[Any, Any]]] = {
        "tpe+hyperband": lambda: (optuna.samplers.TPESampler(seed=seed), optuna_hyperband()),
        "multi-fidelity+hyperband": lambda: (MultiFidelitySampler(seed=seed), optuna_hyperband()),
        "multi-fidelity+ours": lambda: (
            MultiFidelitySampler(seed=seed),
            HyperbandPruner(max_resource=max_resource),
        ),
        "random+hyperband": lambda: (optuna.samplers.RandomSampler(seed=seed), optuna_hyperband()),
        "tpe": lambda: (optuna.samplers.TPESampler(seed=seed), optuna.pruners.NopPruner()),
    }
    if name not in factories:
        raise ValueError(f"method must be one of {METHODS}, got {name!r}")
    return factories[name]()


def run_one(problem_name: str, method: str, seed: int, budget: int) -> dict[str, Any]:
    """One study until ``budget * max_resource`` units are spent; the cached record."""
    limit_threads()
    problem = get_problem(problem_name)
    total = budget * problem.max_resource
    sampler, pruner = make_method(method, seed, problem.max_resource)
    study = optuna.create_study(
        study_name=f"mf-{problem_name}-{seed}",
        direction=problem.direction,
        sampler=sampler,
        pruner=pruner,
    )
    space = problem.search_space()
    sign = 1.0 if problem.direction == "minimize" else -1.0
    optimum = OPTIMA[problem_name] if problem_name in OPTIMA else problem.optimum  # type: ignore[attr-defined]
    marks = iter(zip(_marks(budget), [m * total for m in MARKS], strict=True))
    mark, limit = next(marks)
    used, best, incumbent = 0, math.inf, math.nan
    regret: dict[str, float] = {}
    counts = {"complete": 0, "pruned": 0, "failed": 0}
    start = time.perf_counter()
    while used < total:
        trial = study.ask(space)
        curve = problem.curve(trial.params, seed=seed)
        state, final = "complete", float(curve[-1]) if len(curve) else math.nan
        for step, value in enumerate(curve, start=1):
            if used >= total:
                state = "pruned"  # the budget ran out mid-training: the trial never finished
                break
            used += 1
            if math.isnan(value):
                state = "failed"
                break
            trial.report(float(value), step)
            if step < len(curve) and trial.should_prune():
                state = "pruned"
                break
        if state == "complete" and math.isnan(final):
            state = "failed"
        counts[state] += 1
        if state == "complete":
            study.tell(trial, final)
            if sign * final < best:
                best = sign * final
                incumbent = final
        else:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED if state == "pruned"
                       else optuna.trial.TrialState.FAIL)
        while used >= limit:
            regret[mark] = sign * (incumbent - optimum) if math.isfinite(incumbent) else math.inf
            nxt = next(marks, None)
            if nxt is None:
                limit = math.inf
                break
            mark, limit = nxt
    return {
        "version": CACHE_VERSION,
        "problem": problem_name,
        "sampler": method,
        "seed": seed,
        "budget": budget,
        "regret": regret,
        "incumbent": incumbent,
        "resource": used,
        "trials": counts,
        "seconds": time.perf_counter() - start,
    }


# ------------------------------------------------------------------------------------ analysis
def report(records: list[dict[str, Any]], methods: list[str], problems: list[str]) -> str:
    """Median regret [IQR] per problem, method and resource share; Wilcoxon vs tpe+hyperband."""
    lines = ["| problem | method | " + " | ".join(f"regret at {m:.0%}" for m in MARKS)
             + " | trials (complete / pruned / failed) |", "| --- " * (3 + len(MARKS)) + "|"]
    for problem in problems:
        rows = [r for r in records if r["problem"] == problem]
        for method in methods:
            mine = [r for r in rows if r["sampler"] == method]
            if not mine:
                continue
            cells = [median_iqr([r["regret"][k] for r in mine]) for k in _marks(0)]
            counts = np.median([[r["trials"][k] for k in ("complete", "pruned", "failed")]
                                for r in mine], axis=0)
            lines.append(f"| {problem} | {method} | " + " | ".join(cells)
                         + " | " + " / ".join(f"{c:.0f}" for c in counts) + " |")
    reference = "tpe+hyperband"
    lines += ["", f"Wilcoxon signed-rank tests against {reference} on the regret at 100% of the "
              "resource, paired by seed (two-sided):", "",
              "| problem | method | seeds | p | verdict |", "| --- | --- | --- | --- | --- |"]
    for problem in problems:
        base = {r["seed"]: r["regret"]["1"] for r in records
                if r["problem"] == problem and r["sampler"] == reference}
        for method in methods:
            if method == reference:
                continue
            pairs = [(r["regret"]["1"], base[r["seed"]]) for r in records
                     if r["problem"] == problem and r["sampler"] == method and r["seed"] in base]
            diffs = np.array([a - b for a, b in pairs if math.isfinite(a) and math.isfinite(b)])
            nonzero = diffs[diffs != 0]
            if nonzero.size < 6:
                lines.append(f"| {problem} | {method} | {len(pairs)} | - | too few differing pairs |")
                continue
            p = float(stats.wilcoxon(nonzero).pvalue)
            ranks = stats.rankdata(np.abs(nonzero))
            lower = ranks[nonzero < 0].sum() > ranks[nonzero > 0].sum()
            verdict = "no significant difference" if p >= 0.05 else (
                "significantly lower regret" if lower else "significantly higher regret")
            lines.append(f"| {problem} | {method} | {len(pairs)} | {p:.3g} | {verdict} |")
    return "\n".join(lines)


_STATE: dict[str, Any] = {}


def _parse(options: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks run multi_fidelity")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--report-only", action="store_true")
    return parser.parse_args(options or [])


def run(
    seeds: int = 20,
    budget: int = 30,
    quick: bool = False,
    options: list[str] | None = None,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Compute what the cache lacks; every record of the request (see the module docstring)."""
    args = _parse(options)
    methods = [m for m in args.methods.split(",") if m]
    problems = [p for p in args.problems.split(",") if p]
    for name in problems:
        get_problem(name)  # validates the name
    for name in methods:
        if name not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {name!r}")
    if quick:
        problems, budget, seeds = ["mf-branin"], min(budget, 6), min(seeds, 2)
    cache_ = RunCache(args.cache, marks=_marks, version=CACHE_VERSION, exact_budget=True)
    records = []
    start = time.perf_counter()
    for problem in problems:
        for method in methods:
            for seed in range(seeds):
                hit = cache_.get(problem, method, seed, budget)
                if hit is None and not args.report_only:
                    hit = run_one(problem, method, seed, budget)
                    cache_.add(hit)
                if hit is not None:
                    records.append(hit)
        log(f"  {problem}: done ({time.perf_counter() - start:.0f} s)")
    _STATE.update(methods=methods, problems=problems)
    return records


def print_tables(rows: list[dict[str, Any]]) -> None:
    print(report(rows, _STATE.get("methods", list(METHODS)), _STATE.get("problems", list(PROBLEMS))))


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.suite_multi_fidelity [--seeds N] [--budget B] [suite options]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.suite_multi_fidelity")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--quick", action="store_true")
    args, extra = parser.parse_known_args(argv)
    rows = run(args.seeds, args.budget, args.quick, options=extra)
    print_tables(rows)


if __name__ == "__main__":
    main()
