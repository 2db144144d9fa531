"""Analyzer benchmark: fit speed (vs the reference opda), interval coverage, real-data agreement.

Run: ``python -m benchmarks.suite_analyzer [--quick]`` (or ``python -m benchmarks run analyzer``).
Prints three tables; the numbers in docs/analyzer.md come from a full run.

1. Speed: one fit of ``tune_extras.surface.fit_near_optimum`` (automatic threshold, profile intervals
   with bootstrap Bartlett correction) on n noisy-quadratic values, median of 5 runs on one core,
   beside ``opda.parametric.NoisyQuadraticDistribution.fit`` (the reference implementation; point
   estimate only, threshold given) on the same values, when opda is installed.
2. Coverage: share of simulated studies (100-300 trials from four known noisy quadratics) whose 95%
   intervals contain the true best value and the true effective dimension.
3. Real data: fits on the opda random searches against the published fits, and how often the
   interval from a 50-run subsample contains the full-data estimate.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from tune_extras.surface import NoisyQuadraticDistribution, fit_near_optimum

TRUTHS = (
    NoisyQuadraticDistribution(0.1, 0.4, 2.0, 0.005),
    NoisyQuadraticDistribution(0.095, 0.141, 1.0, 0.001),
    NoisyQuadraticDistribution(0.829, 0.887, 1.0, 0.0019, "maximize"),
    NoisyQuadraticDistribution(0.0, 1.0, 4.0, 0.01),
)
PUBLISHED = {  # (a, b, c, sigma) from ../shared/data/README.md
    "deberta-v3-base": ("minimize", (0.095, 0.141, 1, 1.0e-3)),
    "deberta-base": ("maximize", (0.829, 0.887, 1, 1.9e-3)),
    "alexnet": ("maximize", (0.135, 0.582, 2, 6.2e-3)),
}


def _timed(fn: Any, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def speed(sizes: tuple[int, ...], repeats: int) -> list[dict[str, Any]]:
    truth = TRUTHS[0]
    rows = []
    try:
        from opda.parametric import NoisyQuadraticDistribution as Reference
    except ImportError:
        Reference = None
    for n in sizes:
        values = truth.rvs(n, seed=n)
        ours = _timed(lambda v=values: fit_near_optimum(v), repeats)
        fit = fit_near_optimum(values)
        row: dict[str, Any] = {
            "table": "speed",
            "n": n,
            "tail": fit.n_tail,
            "ours_median_s": statistics.median(ours),
            "ours_max_s": max(ours),
        }
        if Reference is not None:
            limits = (-np.inf, fit.threshold)
            with threadpool_limits(limits=1, user_api="blas"):
                ref = _timed(
                    lambda v=values, lim=limits: Reference.fit(
                        v,
                        limits=lim,
                        constraints={"convex": True},
                        generator=np.random.default_rng(0),
                    ),
                    repeats,
                )
            row["opda_median_s"] = statistics.median(ref)
            row["opda_max_s"] = max(ref)
        rows.append(row)
    return rows


def coverage(n_studies: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    per_truth: dict[int, list[tuple[bool, bool, float, float]]] = {
        i: [] for i in range(len(TRUTHS))
    }
    for study in range(n_studies):
        index = study % len(TRUTHS)
        truth = TRUTHS[index]
        n = int(rng.integers(100, 301))
        fit = fit_near_optimum(truth.rvs(n, seed=rng), truth.direction)
        per_truth[index].append(
            (
                truth.best in fit.best_interval,
                truth.c in fit.effective_dimension_interval,
                abs(fit.best - truth.best),
                fit.best_interval.high - fit.best_interval.low,
            )
        )
    rows = []
    for index, results in per_truth.items():
        truth = TRUTHS[index]
        rows.append(
            {
                "table": "coverage",
                "truth": repr(truth),
                "studies": len(results),
                "cover_best": float(np.mean([r[0] for r in results])),
                "cover_c": float(np.mean([r[1] for r in results])),
                "median_abs_error_best": float(np.median([r[2] for r in results])),
                "median_width_best": float(np.median([r[3] for r in results])),
            }
        )
    every = [r for results in per_truth.values() for r in results]
    rows.append(
        {
            "table": "coverage",
            "truth": "all",
            "studies": len(every),
            "cover_best": float(np.mean([r[0] for r in every])),
            "cover_c": float(np.mean([r[1] for r in every])),
            "median_abs_error_best": float(np.median([r[2] for r in every])),
            "median_width_best": float(np.median([r[3] for r in every])),
        }
    )
    return rows


def real_data(subsamples: int) -> list[dict[str, Any]]:
    from benchmarks.opda_data import final_scores

    rows = []
    for name, (direction, published) in PUBLISHED.items():
        scores = final_scores(name)
        scores = scores[np.isfinite(scores)]
        values = 1.0 - scores if name == "deberta-v3-base" else scores
        fit = fit_near_optimum(values, direction)
        rng = np.random.default_rng(0)
        hits = sum(
            fit.best
            in fit_near_optimum(rng.choice(values, 50, replace=False), direction).best_interval
            for _ in range(subsamples)
        )
        dist = fit.distribution
        rows.append(
            {
                "table": "real",
                "search": name,
                "direction": direction,
                "published_abcs": published,
                "ours_abcs": (dist.a, dist.b, dist.c, dist.sigma),
                "best_interval": (fit.best_interval.low, fit.best_interval.high),
                "c_interval": (
                    fit.effective_dimension_interval.low,
                    fit.effective_dimension_interval.high,
                ),
                "tail_share": fit.tail_mass,
                "subsample_hits": f"{hits}/{subsamples}",
            }
        )
    return rows


def run(seeds: int = 1, budget: int = 200, quick: bool = False) -> list[dict[str, Any]]:
    """Entry point for the harness: ``budget`` simulated studies for the coverage table."""
    sizes = (100, 1000) if quick else (100, 300, 1000, 3000)
    repeats = 3 if quick else 5
    n_studies = 40 if quick else budget
    rows = speed(sizes, repeats) + coverage(n_studies, seed=seeds)
    rows += real_data(5 if quick else 20)
    return rows


def print_tables(rows: list[dict[str, Any]]) -> None:
    print("\nFit speed (one core; median / max of repeated runs, seconds)")
    print(f"{'n':>6} {'tail':>6} {'ours (fit + CIs)':>18} {'opda (fit only)':>18}")
    for r in (r for r in rows if r["table"] == "speed"):
        ref = f"{r['opda_median_s']:.3f} / {r['opda_max_s']:.3f}" if "opda_median_s" in r else "n/a"
        print(
            f"{r['n']:>6} {r['tail']:>6} {r['ours_median_s']:>9.3f} / {r['ours_max_s']:.3f} {ref:>18}"
        )
    print("\nCoverage of 95% intervals (studies of 100-300 trials)")
    for r in (r for r in rows if r["table"] == "coverage"):
        print(
            f"  {r['truth']:<72} n={r['studies']:>3} best {r['cover_best']:.2f}  c {r['cover_c']:.2f}"
            f"  |err| {r['median_abs_error_best']:.4f}  width {r['median_width_best']:.4f}"
        )
    print("\nReal random searches (opda data) vs published fits (a, b, c, sigma)")
    for r in (r for r in rows if r["table"] == "real"):
        ours = ", ".join(f"{x:.4g}" for x in r["ours_abcs"])
        pub = ", ".join(f"{x:.4g}" for x in r["published_abcs"])
        low, high = r["best_interval"]
        print(
            f"  {r['search']:<16} published ({pub})  ours ({ours})  best CI [{low:.4f}, {high:.4f}]"
            f"  tail {r['tail_share']:.0%}  50-run subsample CI covers full: {r['subsample_hits']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print_tables(run(seeds=args.seed, budget=args.studies, quick=args.quick))


if __name__ == "__main__":
    main()
