"""Learning-curve extrapolation: coverage of calibrated 90% intervals, per-trial errors, speed.

Per problem and prefix length ``r`` in :data:`FRACTIONS` (a curve's first ``max(4, r * length)``
points predict its final value with :func:`tune_extras.curves.extrapolate`):

* ``90% fixed``: share of final values inside the 90% interval scaled by
  :data:`tune_extras.curves.DEFAULT_SCALE` (no calibration curves at all);
* ``90% 40 curves``: the rule's scale (:meth:`ExtrapolationRule.scale`) from 40 other finished
  curves of the problem (half the curves if there are fewer than 80), median over ``seeds``
  random choices of those 40;
* ``90% 5 finished``: the situation of a pruned study. A 100-trial sequential random search is run
  with :class:`~tune_extras.curves.ExtrapolationRule` at its defaults (seeds 0-4); its first 5
  finished curves and every curve it stopped (each at its own, shorter horizon) calibrate the scale,
  and the curves of seeds 5-9 (distinct from them) are predicted: median over the 5 studies, with
  the smallest and largest;
* the median width of the calibrated 90% interval (problem units: accuracy for opda replays,
  log-loss for torch, loss for synthetic curves);
* ``per-trial miss``: with 40 finished curves, the share of the other curves whose calibrated
  probability of ending as well as they did fell below the rule's curve level at *some* prefix
  (a trial that would beat the reference stopped over its run; the rule's target is
  ``threshold / 2 = 0.025``), next to the same share with the per-decision level 0.025 (what a
  rule that ignores its repeated looks would allow);
* the time of one decision (:meth:`ExtrapolationRule.decide` with 20 finished and 60 stopped
  curves, scores cached): median and p95, on the machine that runs it.

``DEFAULT_SCALE`` is the 90% quantile of the scores of the *training* problems (:data:`TRAINING`,
all prefixes pooled, rounded up); the other problems are held out from that choice. ``--budget``
caps the curves per problem (opda replays use every recorded run up to ten times that many).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks.problems import OpdaReplay, get_curve_problem
from tune_extras.curves import (
    DEFAULT_SCALE,
    Curve,
    ExtrapolationRule,
    extrapolate,
    interval_score,
)

FRACTIONS = (0.1, 0.2, 0.3, 0.5, 0.7)
TRAINING = ("synthetic-pow3", "deberta-v3-base", "torch-mlp-tabular")
HELD_OUT = ("deberta-base", "alexnet", "torch-mlp-digits", "torch-cnn-digits")
CALIBRATION_CURVES = 40
STUDY_SEEDS = range(5)
TEST_SEEDS = range(5, 10)


def _distinct(curves: list[np.ndarray]) -> list[np.ndarray]:
    """Distinct curves of at least 8 finite values (diverged runs have no final value)."""
    seen: set[bytes] = set()
    out = []
    for curve in curves:
        curve = np.asarray(curve, dtype=float)
        if curve.size >= 8 and np.all(np.isfinite(curve)) and curve.tobytes() not in seen:
            seen.add(curve.tobytes())
            out.append(curve)
    return out


def finished_curves(name: str, budget: int) -> list[np.ndarray]:
    """Distinct curves of at least 8 finite values (diverged runs have no final value to predict)."""
    problem = get_curve_problem(name)
    if isinstance(problem, OpdaReplay):
        return _distinct(list(problem.curves)[: max(budget, 1) * 10])
    return _distinct([problem.curve(config) for config in problem.sample_configs(budget, 0)])


def _as_curves(curves: list[np.ndarray], tag: str) -> list[Curve]:
    return [Curve((tag, i), np.arange(1, c.size + 1.0), c) for i, c in enumerate(curves)]


def pruned_study(name: str, seed: int, budget: int = 100) -> tuple[list[Curve], list[Curve]]:
    """Finished and stopped curves of a sequential random search pruned by the default rule."""
    problem = get_curve_problem(name)
    rule = ExtrapolationRule(problem.direction)
    finished: list[Curve] = []
    stopped: list[Curve] = []
    for i, config in enumerate(problem.sample_configs(budget, seed)):
        curve = np.asarray(problem.curve(config), dtype=float)
        steps = np.arange(1, curve.size + 1.0)
        for k in range(1, curve.size + 1):
            if math.isnan(curve[k - 1]):
                break
            running = Curve(("run", i), steps[:k], curve[:k])
            if rule.decide(running, curve.size, finished, stopped).stop and k < curve.size:
                stopped.append(Curve(("stopped", i), steps[:k], curve[:k]))
                break
        else:
            if np.isfinite(curve[-1]):
                finished.append(Curve(("finished", i), steps, curve))
    return finished, stopped


def _coverage(
    rule: ExtrapolationRule,
    tests: list[np.ndarray],
    fraction: float,
    finished: list[Curve],
    stopped: Sequence[Curve] = (),
) -> tuple[float, float]:
    """Coverage of the calibrated 90% intervals of ``tests`` at one prefix length, median width."""
    sign = -1.0 if rule.direction == "maximize" else 1.0
    cover, widths = [], []
    for y in tests:
        k = max(4, round(fraction * y.size))
        if k >= y.size:
            continue
        scale = rule.scale(k / y.size, finished, stopped, horizon=float(y.size))
        p = extrapolate(np.arange(1, k + 1.0), sign * y[:k], y.size)
        cover.append(interval_score(p, sign * y[-1], 0.9) <= scale)
        widths.append(scale * float(np.diff(p.interval(0.9))[0]))
    return float(np.mean(cover)), float(np.median(widths))


def _per_trial_miss(
    rule: ExtrapolationRule, tests: list[np.ndarray], finished: list[Curve]
) -> tuple[float, float]:
    """Share of ``tests`` whose calibrated P(ending as well as they did) fell below the level at
    some calibration prefix: with the rule's per-trial level, and with ``threshold / 2``."""
    level, _ = rule.levels(finished)
    sign = -1.0 if rule.direction == "maximize" else 1.0
    worst = []
    for y in tests:
        probabilities = []
        for fraction in rule.settings.fractions:
            k = int(np.searchsorted(np.arange(1, y.size + 1), fraction * y.size, side="right"))
            if 4 <= k < y.size:
                scale = rule.scale(k / y.size, finished, horizon=float(y.size))
                p = extrapolate(np.arange(1, k + 1.0), sign * y[:k], y.size).with_scale(scale)
                probabilities.append(float(p.cdf(sign * y[-1])))
        if probabilities:
            worst.append(min(probabilities))
    worst_array = np.array(worst)
    return float(np.mean(worst_array < level)), float(np.mean(worst_array < rule.threshold / 2))


def _decision_times(curves: list[np.ndarray], direction: str) -> np.ndarray:
    """Decisions with 20 finished curves and up to 60 stopped ones (their first thirds)."""
    rule = ExtrapolationRule(direction)
    n_stopped = min(60, (len(curves) - 20) // 2)
    finished = _as_curves(curves[:20], "finished")
    stopped = [
        Curve(("stopped", i), c.steps[: len(c.steps) // 3], c.values[: len(c.steps) // 3])
        for i, c in enumerate(_as_curves(curves[20 : 20 + n_stopped], "s"))
    ]
    rule.decide(Curve("warm", [1, 2, 3, 4], curves[0][:4]), curves[0].size, finished, stopped)
    times = []
    for i, curve in enumerate(curves[20 + n_stopped : 120 + n_stopped]):
        for fraction in FRACTIONS:
            k = max(4, round(fraction * curve.size))
            if k < curve.size:
                running = Curve(("run", i), np.arange(1, k + 1), curve[:k])
                start = time.perf_counter()
                rule.decide(running, curve.size, finished, stopped)
                times.append(time.perf_counter() - start)
    return 1e3 * np.array(times)


def run(seeds: int = 5, budget: int = 100, quick: bool = False) -> list[dict[str, Any]]:
    names = ("synthetic-pow3", "deberta-base") if quick else TRAINING + HELD_OUT
    study_seeds = range(1) if quick else STUDY_SEEDS
    fractions = (0.3,) if quick else FRACTIONS
    n_tests = 40 if quick else 300
    rows: list[dict[str, Any]] = []
    training_scores = []
    for name in names:
        problem = get_curve_problem(name)
        curves = finished_curves(name, budget)
        times = (
            _decision_times(curves, problem.direction) if len(curves) > 24 else np.array([np.nan])
        )
        studies = [pruned_study(name, seed, budget) for seed in study_seeds]
        used = {tuple(np.asarray(c.values)) for finished, _ in studies for c in finished[:5]}
        tests = [
            c
            for seed in TEST_SEEDS
            for c in _distinct([problem.curve(x) for x in problem.sample_configs(budget, seed)])
            if tuple(c) not in used
        ][:n_tests]
        rule = ExtrapolationRule(problem.direction)
        sign = -1.0 if problem.direction == "maximize" else 1.0
        n_calibration = min(CALIBRATION_CURVES, len(curves) // 2)
        misses = []
        for seed in range(seeds):
            order = np.random.default_rng(seed).permutation(len(curves))
            calibration = [curves[i] for i in order[:n_calibration]]
            rest = [curves[i] for i in order[n_calibration:]][: n_tests // 2]
            misses.append(_per_trial_miss(rule, rest, _as_curves(calibration, f"c{seed}")))
        for fraction in fractions:
            fixed = []
            for y in curves:
                k = max(4, round(fraction * y.size))
                if k < y.size:
                    p = extrapolate(np.arange(1, k + 1.0), sign * y[:k], y.size)
                    fixed.append(interval_score(p, sign * y[-1], 0.9))
            if name in TRAINING:
                training_scores.append(np.array(fixed))
            forty = []
            for seed in range(seeds):
                order = np.random.default_rng(seed).permutation(len(curves))
                calibration = _as_curves([curves[i] for i in order[:n_calibration]], f"c{seed}")
                rest = [curves[i] for i in order[n_calibration:]][: 3 * n_tests]
                forty.append(_coverage(rule, rest, fraction, calibration))
            five = [
                _coverage(ExtrapolationRule(problem.direction), tests, fraction, fin[:5], stop)
                for fin, stop in studies
            ]
            five_cover = [c for c, _ in five]
            rows.append(
                {
                    "problem": name,
                    "set": "training" if name in TRAINING else "held-out",
                    "fraction": fraction,
                    "curves": len(fixed),
                    "coverage90_fixed": float(np.mean(np.array(fixed) <= DEFAULT_SCALE)),
                    "coverage90_forty": float(np.median([c for c, _ in forty])),
                    "width90_forty": float(np.median([w for _, w in forty])),
                    "coverage90_five": float(np.median(five_cover)),
                    "coverage90_five_min": float(np.min(five_cover)),
                    "coverage90_five_max": float(np.max(five_cover)),
                    "width90_five": float(np.median([w for _, w in five])),
                    "stopped_curves": float(np.median([len(s) for _, s in studies])),
                    "test_curves": len(tests),
                    "miss_per_trial": float(np.median([m for m, _ in misses])),
                    "miss_per_decision_level": float(np.median([m for _, m in misses])),
                    "ms_median": float(np.median(times)),
                    "ms_p95": float(np.quantile(times, 0.95)),
                }
            )
    if training_scores:
        pooled = float(np.quantile(np.concatenate(training_scores), 0.9))
        rows.append({"problem": "training (pooled)", "set": "training", "q90_score": pooled})
    return rows


def print_tables(rows: list[dict[str, Any]]) -> None:
    print(
        "| problem | set | prefix | curves | 90% fixed | 90% 40 curves | width | "
        "90% 5 finished [min, max] | width | stopped curves |"
    )
    print("|" + " --- |" * 10)
    for r in rows:
        if "q90_score" in r:
            continue
        print(
            f"| {r['problem']} | {r['set']} | {r['fraction']:.0%} | {r['curves']} "
            f"| {r['coverage90_fixed']:.2f} | {r['coverage90_forty']:.2f} | {r['width90_forty']:.3g} "
            f"| {r['coverage90_five']:.2f} [{r['coverage90_five_min']:.2f}, "
            f"{r['coverage90_five_max']:.2f}] | {r['width90_five']:.3g} | {r['stopped_curves']:.0f} |"
        )
    print(
        "\n| problem | per-trial miss, rule's level | with level 0.025 at every look "
        "| ms / decision median | p95 |"
    )
    print("|" + " --- |" * 5)
    for r in rows:
        if "q90_score" in r or r["fraction"] != rows[0]["fraction"]:
            continue
        print(
            f"| {r['problem']} | {r['miss_per_trial']:.3f} | {r['miss_per_decision_level']:.3f} "
            f"| {r['ms_median']:.2f} | {r['ms_p95']:.2f} |"
        )
    for r in rows:
        if "q90_score" in r:
            print(
                f"\n90% quantile of the training problems' scores (all prefixes pooled): "
                f"{r['q90_score']:.3f} (DEFAULT_SCALE = {DEFAULT_SCALE})"
            )
