"""Learning-curve extrapolation: coverage of 90% predictive intervals per prefix length, and speed.

For every distinct finished curve of a problem, the curve's first ``r * length`` points (``r`` in
:data:`FRACTIONS`) predict its final value with :func:`tune_extras.curves.extrapolate`. Reported per
problem and ``r``:

* ``90% fixed``: share of final values inside the 90% interval scaled by
  :data:`tune_extras.curves.DEFAULT_SCALE` (what a study uses before it has finished trials);
* ``90% study``: the same with the split-conformal scale of 40 other curves of the same problem
  (half the curves if there are fewer than 80)
  (what :class:`~tune_extras.curves.ExtrapolationRule` uses once enough trials have finished),
  median over ``seeds`` random choices of those 40;
* the same for the 95% interval (the one the stopping rule uses at ``threshold=0.05``);
* the median width of the study-calibrated 90% interval (problem units), and the time of one
  decision (:meth:`ExtrapolationRule.decide` with 20 finished curves whose scores are cached):
  median and p95.

``DEFAULT_SCALE`` is the 90% quantile of the scores of the *training* problems
(:data:`TRAINING`, all prefixes pooled, rounded up); the other problems are held out from that
choice. ``--budget`` caps the curves
per problem (opda replays use every recorded run up to that many).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks.problems import OpdaReplay, get_curve_problem
from tune_extras.curves import (
    DEFAULT_SCALE,
    Curve,
    ExtrapolationRule,
    conformal_scale,
    extrapolate,
    interval_score,
)

FRACTIONS = (0.1, 0.2, 0.3, 0.5, 0.7)
LEVELS = (0.9, 0.95)
TRAINING = ("synthetic-pow3", "deberta-v3-base", "torch-mlp-tabular")
HELD_OUT = ("deberta-base", "alexnet", "torch-mlp-digits", "torch-cnn-digits")
CALIBRATION_CURVES = 40


def finished_curves(name: str, budget: int) -> list[np.ndarray]:
    """Distinct curves of at least 8 finite values (diverged runs have no final value to predict)."""
    problem = get_curve_problem(name)
    if isinstance(problem, OpdaReplay):
        raw = list(problem.curves)[: max(budget, 1) * 10]
    else:
        raw = [problem.curve(config) for config in problem.sample_configs(budget, 0)]
    seen: set[bytes] = set()
    curves = []
    for curve in raw:
        curve = np.asarray(curve, dtype=float)
        if curve.size >= 8 and np.all(np.isfinite(curve)) and curve.tobytes() not in seen:
            seen.add(curve.tobytes())
            curves.append(curve)
    return curves


def _scores(curves: list[np.ndarray], fraction: float) -> dict[float, np.ndarray]:
    """Per confidence level, each curve's score (the scale its interval needs) and raw width."""
    rows = []
    for curve in curves:
        k = max(4, round(fraction * curve.size))
        if k < curve.size:
            p = extrapolate(np.arange(1, k + 1), curve[:k], curve.size)
            row = []
            for level in LEVELS:
                row += [interval_score(p, curve[-1], level), np.diff(p.interval(level))[0]]
            rows.append(row)
    table = np.array(rows)
    return {level: table[:, 2 * i : 2 * i + 2].T for i, level in enumerate(LEVELS)}


def _decision_times(curves: list[np.ndarray], name: str) -> np.ndarray:
    problem = get_curve_problem(name)
    rule = ExtrapolationRule(problem.direction)
    finished = [Curve(i, np.arange(1, c.size + 1), c) for i, c in enumerate(curves[:20])]
    rule.decide(Curve("warm", [1, 2, 3, 4], curves[0][:4]), curves[0].size, finished)
    times = []
    for i, curve in enumerate(curves[20:120]):
        for fraction in FRACTIONS:
            k = max(4, round(fraction * curve.size))
            if k < curve.size:
                running = Curve(("run", i), np.arange(1, k + 1), curve[:k])
                start = time.perf_counter()
                rule.decide(running, curve.size, finished)
                times.append(time.perf_counter() - start)
    return 1e3 * np.array(times)


def run(seeds: int = 5, budget: int = 100, quick: bool = False) -> list[dict[str, Any]]:
    names = ("synthetic-pow3", "deberta-base") if quick else TRAINING + HELD_OUT
    rows: list[dict[str, Any]] = []
    training_scores = []
    for name in names:
        curves = finished_curves(name, budget)
        times = _decision_times(curves, name) if len(curves) > 20 else np.array([np.nan])
        for fraction in FRACTIONS:
            by_level = _scores(curves, fraction)
            row: dict[str, Any] = {
                "problem": name,
                "set": "training" if name in TRAINING else "held-out",
                "fraction": fraction,
                "curves": int(by_level[LEVELS[0]].shape[1]),
                "ms_median": float(np.median(times)),
                "ms_p95": float(np.quantile(times, 0.95)),
            }
            for level, (scores, width) in by_level.items():
                if name in TRAINING and level == 0.9:
                    training_scores.append(scores)
                cover, widths = [], []
                n_calibration = min(CALIBRATION_CURVES, scores.size // 2)
                for seed in range(seeds):
                    order = np.random.default_rng(seed).permutation(scores.size)
                    calibration, test = order[:n_calibration], order[n_calibration:]
                    scale = conformal_scale(scores[calibration], level) or DEFAULT_SCALE
                    cover.append(float(np.mean(scores[test] <= scale)))
                    widths.append(float(np.median(scale * width[test])))
                tag = f"{round(100 * level)}"
                row[f"coverage{tag}_fixed"] = float(np.mean(scores <= DEFAULT_SCALE))
                row[f"coverage{tag}_study"] = float(np.median(cover))
                row[f"width{tag}_fixed"] = float(np.median(DEFAULT_SCALE * width))
                row[f"width{tag}_study"] = float(np.median(widths))
            rows.append(row)
    if training_scores:
        pooled = float(np.quantile(np.concatenate(training_scores), 0.9))
        rows.append({"problem": "training (pooled)", "set": "training", "q90_score": pooled})
    return rows


def print_tables(rows: list[dict[str, Any]]) -> None:
    header = (
        "| problem | set | prefix | curves | 90% fixed | 90% study | 95% fixed | 95% study "
        "| width 90% study | ms/decision median | p95 |"
    )
    print(header)
    print("|" + " --- |" * 11)
    for r in rows:
        if "q90_score" in r:
            print(
                f"\n90% quantile of the training problems' scores (all prefixes pooled): "
                f"{r['q90_score']:.3f} (DEFAULT_SCALE = {DEFAULT_SCALE})"
            )
            continue
        print(
            f"| {r['problem']} | {r['set']} | {r['fraction']:.0%} | {r['curves']} "
            f"| {r['coverage90_fixed']:.2f} | {r['coverage90_study']:.2f} "
            f"| {r['coverage95_fixed']:.2f} | {r['coverage95_study']:.2f} "
            f"| {r['width90_study']:.3g} | {r['ms_median']:.2f} | {r['ms_p95']:.2f} |"
        )
