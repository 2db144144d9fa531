"""Learning-curve extrapolation: coverage of 90% predictive intervals per prefix length, and speed.

For every distinct finished curve of a problem, the curve's first ``r * length`` points (``r`` in
:data:`FRACTIONS`) predict its final value with :func:`tune_extras.curves.extrapolate`. Reported per
problem and ``r``:

* ``coverage fixed``: share of final values inside the 90% interval scaled by
  :data:`tune_extras.curves.DEFAULT_SCALE` (what a study uses before it has finished trials);
* ``coverage study``: the same with the split-conformal scale of 20 other curves of the same problem
  (what :class:`~tune_extras.curves.ExtrapolationRule` uses once 10+ trials have finished), median
  over ``seeds`` random choices of those 20;
* median interval widths (problem units) for both, and the time of one decision
  (:meth:`ExtrapolationRule.decide` with 20 finished curves whose scores are cached): median and p95.

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
)

FRACTIONS = (0.1, 0.2, 0.3, 0.5, 0.7)
TRAINING = ("synthetic-pow3", "deberta-v3-base", "torch-mlp-tabular")
HELD_OUT = ("deberta-base", "alexnet", "torch-mlp-digits", "torch-cnn-digits")
CALIBRATION_CURVES = 20


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


def _predictions(curves: list[np.ndarray], fraction: float) -> np.ndarray:
    """Rows (center, low, high, final) of the unscaled 90% interval, one per curve."""
    rows = []
    for curve in curves:
        k = max(4, round(fraction * curve.size))
        if k >= curve.size:
            continue
        p = extrapolate(np.arange(1, k + 1), curve[:k], curve.size)
        low, high = p.interval(0.9)
        rows.append((p.center, low, high, curve[-1]))
    return np.array(rows)


def _scores(rows: np.ndarray) -> np.ndarray:
    center, low, high, final = rows.T
    above = final > center
    width = np.where(above, high - center, center - low)
    return np.abs(final - center) / np.maximum(width, 1e-300)


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
            predictions = _predictions(curves, fraction)
            scores = _scores(predictions)
            if name in TRAINING:
                training_scores.append(scores)
            spread = predictions[:, 2] - predictions[:, 1]
            study_cover, study_width = [], []
            for seed in range(seeds):
                order = np.random.default_rng(seed).permutation(len(scores))
                calibration, test = order[:CALIBRATION_CURVES], order[CALIBRATION_CURVES:]
                scale = conformal_scale(scores[calibration], 0.9) or DEFAULT_SCALE
                study_cover.append(float(np.mean(scores[test] <= scale)))
                study_width.append(float(np.median(scale * spread[test])))
            rows.append(
                {
                    "problem": name,
                    "set": "training" if name in TRAINING else "held-out",
                    "fraction": fraction,
                    "curves": len(scores),
                    "coverage_fixed": float(np.mean(scores <= DEFAULT_SCALE)),
                    "coverage_study": float(np.median(study_cover)),
                    "width_fixed": float(np.median(DEFAULT_SCALE * spread)),
                    "width_study": float(np.median(study_width)),
                    "ms_median": float(np.median(times)),
                    "ms_p95": float(np.quantile(times, 0.95)),
                }
            )
    if training_scores:
        pooled = float(np.quantile(np.concatenate(training_scores), 0.9))
        rows.append({"problem": "training (pooled)", "set": "training", "q90_score": pooled})
    return rows


def print_tables(rows: list[dict[str, Any]]) -> None:
    header = (
        "| problem | set | prefix | curves | coverage fixed | coverage study | width fixed "
        "| width study | ms/decision median | p95 |"
    )
    print(header)
    print("|" + " --- |" * 10)
    for r in rows:
        if "q90_score" in r:
            print(
                f"\n90% quantile of the training problems' scores (all prefixes pooled): "
                f"{r['q90_score']:.3f} (DEFAULT_SCALE = {DEFAULT_SCALE})"
            )
            continue
        print(
            f"| {r['problem']} | {r['set']} | {r['fraction']:.0%} | {r['curves']} "
            f"| {r['coverage_fixed']:.2f} | {r['coverage_study']:.2f} | {r['width_fixed']:.3g} "
            f"| {r['width_study']:.3g} | {r['ms_median']:.2f} | {r['ms_p95']:.2f} |"
        )
