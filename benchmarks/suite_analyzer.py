"""Analyzer benchmark: a simulation grid side by side with opda 0.8, real searches, fit speed.

Run pieces (each cached per cell and replicate in ``benchmarks/results/analyzer_*.jsonl``, so a run
can be stopped and resumed, and a rerun only reads the cache)::

    python -m benchmarks.suite_analyzer opda            # opda 0.8 on every grid draw (2-4 s a fit)
    python -m benchmarks.suite_analyzer ours            # our fit, automatic tail (--rule whole: all)
    python -m benchmarks.suite_analyzer real            # the three opda searches + subsamples
    python -m benchmarks.suite_analyzer pruned          # the searches replayed with two pruners
    python -m benchmarks.suite_analyzer speed           # CPU time of analyze() beside opda's fit
    python -m benchmarks.suite_analyzer tables          # markdown tables for docs/analyzer.md

Grid. Every study draws ``n`` values of a loss from NQ(a=0.1, b=0.3, c, sigma) (width 0.2) with
``sigma / (b - a)`` in {0.01, 0.1}, ``c`` in {1, 2, 4, 6}, ``n`` in {100, 300, 1000}; plus noiseless
cells (Q(0.1, 0.3, c), c in {1, 2, 4}, n = 300) and rounded cells (small noise, values rounded to 3
decimals, c in {1, 2}, n = 300). Replicate ``r`` of a cell draws from ``default_rng([crc32(cell), r])``,
so opda and our fit see the same values. opda is fitted on the whole sample with
``constraints={"convex": True}`` (its documented use for a loss), our fit with its automatic tail.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from tune_extras.surface import NoisyQuadraticDistribution, QuadraticDistribution, fit_near_optimum

RESULTS = Path(__file__).resolve().parent / "results"
A, B = 0.1, 0.3
PUBLISHED = {  # (a, b, c, sigma) from ../shared/data/README.md
    "deberta-v3-base": ("minimize", (0.095, 0.141, 1, 1.0e-3)),
    "deberta-base": ("maximize", (0.829, 0.887, 1, 1.9e-3)),
    "alexnet": ("maximize", (0.135, 0.582, 2, 6.2e-3)),
}


def cells() -> list[dict[str, Any]]:
    """The simulation grid, one dict per cell."""
    out: list[dict[str, Any]] = []
    for n in (100, 300, 1000):
        for noise in (0.01, 0.1):
            for c in (1, 2, 4, 6):
                out.append({"cell": f"c{c}-s{noise}-n{n}", "c": c, "noise": noise, "n": n})
    for c in (1, 2, 4):
        out.append({"cell": f"c{c}-noiseless-n300", "c": c, "noise": 0.0, "n": 300})
    for c in (1, 2):
        out.append({"cell": f"c{c}-s0.01-n300-round3", "c": c, "noise": 0.01, "n": 300, "round": 3})
    return out


def draw(cell: dict[str, Any], rep: int) -> np.ndarray:
    """The values of replicate ``rep`` of ``cell`` (a loss, to minimise)."""
    rng = np.random.default_rng([zlib.crc32(cell["cell"].encode()), rep])
    sigma = cell["noise"] * (B - A)
    law = (
        NoisyQuadraticDistribution(A, B, cell["c"], sigma)
        if sigma > 0
        else QuadraticDistribution(A, B, cell["c"])
    )
    values = law.rvs(cell["n"], seed=rng)
    if "round" in cell:
        values = np.round(values, cell["round"])
    return np.asarray(values, dtype=np.float64)


def _cache(name: str) -> dict[tuple[str, int], dict[str, Any]]:
    path = RESULTS / f"analyzer_{name}.jsonl"
    if not path.exists():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {(r["cell"], r["rep"]): r for r in rows}


def _append(name: str, row: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / f"analyzer_{name}.jsonl").open("a") as handle:
        handle.write(json.dumps(row) + "\n")


def _jobs(reps: int, only: str | None) -> Iterator[tuple[dict[str, Any], int]]:
    # Replicate-major order, so a partial run already covers every cell.
    for rep in range(reps):
        for cell in cells():
            if only is None or only in cell["cell"]:
                yield cell, rep


def run_opda(reps: int, only: str | None = None) -> None:
    """opda 0.8 on every grid draw, whole sample, convex; cached in analyzer_opda.jsonl."""
    from opda.parametric import NoisyQuadraticDistribution as Reference

    done = _cache("opda")
    for cell, rep in _jobs(reps, only):
        if (cell["cell"], rep) in done:
            continue
        values = draw(cell, rep)
        start = time.perf_counter()
        with threadpool_limits(limits=1, user_api="blas"):
            fit = Reference.fit(
                values, constraints={"convex": True}, generator=np.random.default_rng(rep)
            )
        row = {"cell": cell["cell"], "rep": rep, "a": float(fit.a), "b": float(fit.b)}
        row |= {"c": float(fit.c), "sigma": float(fit.o), "seconds": time.perf_counter() - start}
        _append("opda", row)
        print(row, flush=True)


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def fit_row(values: np.ndarray, **kwargs: Any) -> dict[str, Any]:
    """Our fit, summarised as a JSON-able row."""
    start = time.perf_counter()
    fit = fit_near_optimum(values, **kwargs)
    return {
        "a": fit.best,
        "a_lo": _finite(fit.best_interval.low),
        "a_hi": _finite(fit.best_interval.high),
        "c": fit.effective_dimension,
        "c_lo": _finite(fit.effective_dimension_interval.low),
        "c_hi": _finite(fit.effective_dimension_interval.high),
        "c_open": fit.effective_dimension_open,
        "sigma": fit.sigma,
        "n_tail": fit.n_tail,
        "noiseless": fit.noiseless,
        "coarse": fit.coarse,
        "rule": fit.threshold_rule,
        "seconds": time.perf_counter() - start,
    }


def run_ours(reps: int, rule: str, only: str | None = None, n_boot: int = 20) -> None:
    """Our fit on every grid draw with ``rule`` ``"auto"`` (the automatic tail) or ``"whole"``
    (every value in the tail, as opda is fitted); cached in analyzer_<rule>.jsonl."""
    if rule not in ("auto", "whole"):
        raise ValueError(f"--rule must be 'auto' or 'whole', got {rule!r}")
    done = _cache(rule)
    for cell, rep in _jobs(reps, only):
        if (cell["cell"], rep) in done:
            continue
        tail: Any = 1.0 if rule == "whole" else rule
        row = {"cell": cell["cell"], "rep": rep}
        row |= fit_row(draw(cell, rep), tail=tail, n_boot=n_boot, seed=rep)
        _append(rule, row)
        print(json.dumps(row), flush=True)


def grid_table(rule: str) -> list[dict[str, Any]]:
    """Per cell: our error, coverage, finite intervals, beside opda's error (same draws)."""
    ours, opda = _cache(rule), _cache("opda")
    table = []
    for cell in cells():
        keys = sorted(k for k in ours if k[0] == cell["cell"])
        if not keys:
            continue
        c = cell["c"]
        rows = [ours[k] for k in keys]
        err = [abs(r["a"] - A) for r in rows]
        ref = [abs(opda[k]["a"] - A) for k in keys if k in opda]
        finite = [r["a_lo"] is not None and r["a_hi"] is not None for r in rows]
        cov_a = [(r["a_lo"] or -math.inf) <= A <= (r["a_hi"] or math.inf) for r in rows]
        cov_c = [(r["c_lo"] or 0.0) <= c <= (r["c_hi"] or math.inf) for r in rows]
        table.append(
            {
                "cell": cell["cell"],
                "reps": len(rows),
                "err": statistics.median(err),
                "opda_err": statistics.median(ref) if ref else math.nan,
                "opda_reps": len(ref),
                "finite": float(np.mean(finite)),
                "cover_a": float(np.mean(cov_a)),
                "cover_c": float(np.mean(cov_c)),
                "tail": statistics.median(r["n_tail"] / cell["n"] for r in rows),
                "noiseless": float(np.mean([r["noiseless"] for r in rows])),
                "seconds": statistics.median(r["seconds"] for r in rows),
            }
        )
    return table


def print_grid(rule: str) -> None:
    print(f"\n### Simulation grid, threshold rule `{rule}`\n")
    print("| cell | reps | median abs error of a (ours) | opda | ratio | finite CI | cover a | cover c "
          "| median tail share | noiseless chosen | s/fit |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    ratios = []
    for r in grid_table(rule):
        ratio = r["err"] / r["opda_err"] if r["opda_err"] > 0 else math.nan
        ratios.append(ratio)
        print(
            f"| {r['cell']} | {r['reps']} | {r['err']:.2e} | {r['opda_err']:.2e} | {ratio:.2f} "
            f"| {r['finite']:.2f} | {r['cover_a']:.2f} | {r['cover_c']:.2f} | {r['tail']:.2f} "
            f"| {r['noiseless']:.2f} | {r['seconds']:.2f} |"
        )
    finite_ratios = [x for x in ratios if math.isfinite(x)]
    if finite_ratios:
        print(f"\nGeometric mean error ratio (ours / opda) over cells: "
              f"{math.exp(statistics.mean(math.log(x) for x in finite_ratios)):.2f}; "
              f"cells with ratio <= 1.2: {sum(x <= 1.2 for x in finite_ratios)}/{len(finite_ratios)}")


def real_data(subsamples: int, n_boot: int = 20) -> list[dict[str, Any]]:
    """Full-data fits on the three searches beside opda 0.8 at the same threshold; coverage of the
    full-data best value and ``c`` by the intervals of 50- and 100-run subsamples."""
    from opda.parametric import NoisyQuadraticDistribution as Reference

    from benchmarks.opda_data import final_scores

    rows = []
    for name, (direction, published) in PUBLISHED.items():
        scores = final_scores(name)
        scores = scores[np.isfinite(scores)]
        values = 1.0 - scores if name == "deberta-v3-base" else scores
        fit = fit_near_optimum(values, direction, n_boot=n_boot)
        dist = fit.distribution
        limits = (-math.inf, fit.threshold) if direction == "minimize" else (fit.threshold, math.inf)
        with threadpool_limits(limits=1, user_api="blas"):
            ref = Reference.fit(values, limits=limits, constraints={"convex": direction == "minimize"},
                                generator=np.random.default_rng(0))
        row: dict[str, Any] = {
            "search": name,
            "n": int(values.size),
            "published": published,
            "opda_same_tail": (float(ref.a), float(ref.b), float(ref.c), float(ref.o)),
            "ours": (dist.a, dist.b, dist.c, dist.sigma),
            "sigma_high": fit.sigma_high,
            "best_interval": (fit.best_interval.low, fit.best_interval.high),
            "c_interval": (fit.effective_dimension_interval.low, fit.effective_dimension_interval.high),
            "tail_share": fit.tail_mass,
            "rule": fit.threshold_rule,
            "noiseless": fit.noiseless,
        }
        for size in (50, 100):
            rng = np.random.default_rng(size)
            hits = c_hits = finite = 0
            for _ in range(subsamples):
                sub = fit_near_optimum(rng.choice(values, size, replace=False), direction,
                                       n_boot=n_boot)
                hits += fit.best in sub.best_interval
                c_hits += fit.effective_dimension in sub.effective_dimension_interval
                finite += math.isfinite(sub.best_interval.low + sub.best_interval.high)
            row[f"hits_{size}"] = f"{hits}/{subsamples}"
            row[f"c_hits_{size}"] = f"{c_hits}/{subsamples}"
            row[f"finite_{size}"] = f"{finite}/{subsamples}"
        rows.append(row)
        print(json.dumps(row, default=str), flush=True)
    (RESULTS / "analyzer_real.json").write_text(json.dumps(rows, default=str, indent=1))
    return rows


def pruned_replays(seeds: int, size: int = 300) -> list[dict[str, Any]]:
    """The three searches replayed with pruning, against the same runs unpruned.

    Per search and seed: ``size`` runs drawn at random (finite curves only); the unpruned study is
    their final accuracies; the pruned ones replay each run's curve through a real Optuna study
    with Optuna's ``SuccessiveHalvingPruner`` (its defaults), our ``LearningCurvePruner`` (its
    defaults, each run's length as ``max_resource``), or successive halving behind
    ``SpareRandomDraws`` with a ``RandomShareSampler`` marking 20% of the trials (analysed alone).
    Each is analysed with ``analyze``; the record says whether the pruned estimate of the best
    accuracy lies in the unpruned 95% interval (``inside``) and whether the pruned interval holds
    the unpruned estimate (``covers``), and counts the pruned trials whose real final value lies
    inside the fitted tail (``violations``: the censoring assumption failing).
    Cached in ``analyzer_pruned.jsonl``.
    """
    import optuna
    import pandas as pd

    from benchmarks.opda_data import load_runs
    from tune_extras import analyze
    from tune_extras._attrs import RANDOM_DRAW_ATTR
    from tune_extras.optuna import LearningCurvePruner, RandomShareSampler
    from tune_extras.optuna._spare_random import SpareRandomDraws

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    done = _cache("pruned")
    rows = []
    for name in PUBLISHED:
        runs = [r for r in load_runs(name) if len(r.values) and np.all(np.isfinite(r.values))]
        for seed in range(seeds):
            order = np.random.default_rng([zlib.crc32(name.encode()), seed]).choice(
                len(runs), size, replace=False
            )
            chosen = [runs[int(i)] for i in order]
            table = pd.DataFrame({"value": [r.final for r in chosen], "number": range(size)})
            table.attrs["metric"] = "accuracy"
            full = analyze(table, direction="maximize", importance=False, seed=seed)
            assert full.best_interval is not None
            pruners = {
                "successive-halving": optuna.pruners.SuccessiveHalvingPruner(),
                "learning-curve": LearningCurvePruner(
                    max_resource=lambda t, chosen=chosen: len(chosen[t.number].values)
                ),
                "successive-halving, 20% spared": SpareRandomDraws(
                    optuna.pruners.SuccessiveHalvingPruner()
                ),
            }
            for label, pruner in pruners.items():
                key = (f"{name}/{label}", seed)
                if key in done:
                    rows.append(done[key])
                    continue
                steps = 0

                def objective(trial: optuna.Trial, chosen: list = chosen) -> float:
                    nonlocal steps
                    run = chosen[trial.number]
                    for step, value in enumerate(run.values, start=1):
                        steps += 1
                        trial.report(float(value), step)
                        if trial.should_prune():
                            raise optuna.TrialPruned
                    return float(run.final)

                sampler: optuna.samplers.BaseSampler = optuna.samplers.RandomSampler(seed)
                if isinstance(pruner, SpareRandomDraws):
                    sampler = RandomShareSampler(sampler, share=0.2, seed=seed)
                study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
                study.set_metric_names(["accuracy"])
                study.optimize(objective, n_trials=size)
                start = time.perf_counter()
                report = analyze(study, importance=False, seed=seed)
                seconds = time.perf_counter() - start
                # The analysed sample (the random draws alone when they are spared).
                sample = [
                    t for t in study.trials
                    if not report.random_draws_only or t.user_attrs.get(RANDOM_DRAW_ATTR)
                ]
                pruned = [t for t in sample if t.state == optuna.trial.TrialState.PRUNED]
                finals = np.array([chosen[t.number].final for t in pruned])
                recorded = np.array([t.value for t in pruned if t.value is not None])
                completed = np.sort([t.value for t in sample if t.value is not None
                                     and t.state == optuna.trial.TrialState.COMPLETE])[::-1]
                # The tail above every pruned trial's recorded value: no known violation.
                safe_k = int(np.sum(completed > recorded.max())) if recorded.size else completed.size
                safe = (
                    analyze(study, importance=False, seed=seed, tail=safe_k)
                    if safe_k >= 12 else None
                )
                threshold = report.fit.threshold if report.fit is not None else math.nan
                row: dict[str, Any] = {
                    "cell": f"{name}/{label}",
                    "rep": seed,
                    "resource": steps / sum(len(r.values) for r in chosen),
                    "completed": report.trial_counts["used"],
                    "pruned": report.trial_counts.get("pruned", 0),
                    "full_best": full.best,
                    "full_low": full.best_interval.low,
                    "full_high": full.best_interval.high,
                    "best": report.best,
                    "refusal": report.refusal,
                    "inside": report.best is not None and report.best in full.best_interval,
                    "covers": report.best_interval is not None
                    and full.best in report.best_interval,
                    "warned": any("already reached" in w for w in report.warnings),
                    "n_tail": report.fit.n_tail if report.fit is not None else None,
                    # pruned trials whose real final value lies inside the fitted tail
                    "violations": int(np.sum(finals >= threshold)),
                    "safe_tail": safe_k,
                    "safe_best": None if safe is None else safe.best,
                    "safe_inside": safe is not None and safe.best is not None
                    and safe.best in full.best_interval,
                    "seconds": seconds,
                }
                _append("pruned", row)
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def speed(sizes: tuple[int, ...] = (100, 300, 1000), repeats: int = 5) -> list[dict[str, Any]]:
    """CPU seconds (``time.process_time``, so a busy machine does not inflate them) of ``analyze``
    on a trials table (threshold, intervals, bands, verdict), of ``fit_near_optimum`` alone, and of
    opda 0.8's point fit (whole sample, no interval), each with a one-thread BLAS, median of
    ``repeats``, on the same draws of NQ(0.1, 0.3, 2, 0.002)."""
    import pandas as pd
    from opda.parametric import NoisyQuadraticDistribution as Reference

    from tune_extras import analyze

    rows = []
    for n in sizes:
        values = NoisyQuadraticDistribution(A, B, 2.0, 0.002).rvs(n, seed=n)
        table = pd.DataFrame({"value": values, "number": range(n)})
        times: dict[str, list[float]] = {"analyze": [], "fit": [], "opda": []}
        for _ in range(repeats):
            start = time.process_time()
            analyze(table, direction="minimize", importance=False)
            times["analyze"].append(time.process_time() - start)
            start = time.process_time()
            fit_near_optimum(values)
            times["fit"].append(time.process_time() - start)
            start = time.process_time()
            with threadpool_limits(limits=1, user_api="blas"):
                Reference.fit(values, constraints={"convex": True},
                              generator=np.random.default_rng(0))
            times["opda"].append(time.process_time() - start)
        row = {"n": n} | {f"{key}_s": statistics.median(v) for key, v in times.items()}
        rows.append(row)
        print(json.dumps(row), flush=True)
    (RESULTS / "analyzer_speed.json").write_text(json.dumps(rows, indent=1))
    return rows


def run(seeds: int = 1, budget: int = 30, quick: bool = False) -> list[dict[str, Any]]:
    """Entry point for ``python -m benchmarks run analyzer``: the cached grid tables and speed."""
    reps = 3 if quick else budget
    run_ours(reps, "auto")
    return [{"table": "grid", **r} for r in grid_table("auto")]


def print_tables(rows: list[dict[str, Any]]) -> None:
    print_grid("auto")


def print_real() -> None:
    path = RESULTS / "analyzer_real.json"
    if not path.exists():
        return
    print("\n### Real searches\n")
    print("| search | published (a, b, c, sigma) | ours | opda at our threshold | best 95% CI | c CI "
          "| tail share | 50-run CIs holding the full-data best / c | 100-run |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in json.loads(path.read_text()):
        ours = ", ".join(f"{x:.4g}" for x in r["ours"])
        ref = ", ".join(f"{x:.4g}" for x in r["opda_same_tail"])
        low, high = r["best_interval"]
        print(f"| {r['search']} | {', '.join(map(str, r['published']))} | {ours} | {ref} "
              f"| [{low:.4g}, {high:.4g}] | [{r['c_interval'][0]:.0f}, {r['c_interval'][1]:.0f}] "
              f"| {r['tail_share']:.2f} | {r['hits_50']} / {r['c_hits_50']} "
              f"| {r['hits_100']} / {r['c_hits_100']} |")


def print_pruned() -> None:
    rows = list(_cache("pruned").values())
    if not rows:
        return
    print("\n### Pruned replays\n")
    print("| search / pruner | seeds | completed (median) | resource used | estimate inside the "
          "unpruned 95% CI | CI holds the unpruned estimate | median abs. difference | pruned "
          "trials inside the tail (median) | seeds warned |")
    print("|---|---|---|---|---|---|---|---|---|")
    for cell in sorted({r["cell"] for r in rows}):
        group = [r for r in rows if r["cell"] == cell]
        diffs = [abs(r["best"] - r["full_best"]) for r in group if r["best"] is not None]
        print(f"| {cell} | {len(group)} | {statistics.median(r['completed'] for r in group):.0f} "
              f"| {statistics.median(r['resource'] for r in group):.2f} "
              f"| {sum(r['inside'] for r in group)}/{len(group)} "
              f"| {sum(r['covers'] for r in group)}/{len(group)} "
              f"| {statistics.median(diffs) if diffs else math.nan:.2g} "
              f"| {statistics.median(r['violations'] for r in group):.0f} "
              f"| {sum(r['warned'] for r in group)}/{len(group)} |")


def print_speed() -> None:
    path = RESULTS / "analyzer_speed.json"
    if not path.exists():
        return
    print("\n### Speed (CPU seconds, median)\n")
    print("| trials | analyze() | fit only | opda point fit | analyze / opda |")
    print("|---|---|---|---|---|")
    for r in json.loads(path.read_text()):
        print(f"| {r['n']} | {r['analyze_s']:.2f} | {r['fit_s']:.2f} | {r['opda_s']:.2f} "
              f"| {r['analyze_s'] / r['opda_s']:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["opda", "ours", "real", "pruned", "speed", "tables"])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--rule", default="auto")
    parser.add_argument("--only", default=None, help="only cells whose name contains this")
    parser.add_argument("--n-boot", type=int, default=20)
    parser.add_argument("--subsamples", type=int, default=40)
    args = parser.parse_args()
    if args.what == "opda":
        run_opda(args.reps, args.only)
    elif args.what == "ours":
        run_ours(args.reps, args.rule, args.only, args.n_boot)
    elif args.what == "real":
        real_data(args.subsamples, args.n_boot)
    elif args.what == "pruned":
        pruned_replays(args.reps)
    elif args.what == "speed":
        speed()
    else:
        print_grid(args.rule)
        print_real()
        print_pruned()
        print_speed()


if __name__ == "__main__":
    main()
